#include "cli/media_cmd.h"

#include "media/avlog.h"
#include "media/dimensions.h"
#include "media/probe.h"
#include "media/render.h"
#include "media/thumbnail.h"
#include "util/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char RENDER_USAGE[] =
    "usage: vidgen render --prompt TEXT [--resolution 720p|1080p|4K] [--aspect-ratio W:H]\n"
    "                     [--duration SECONDS] [--fps N] OUT.mp4\n";
static const char PROBE_USAGE[] = "usage: vidgen probe FILE\n";
static const char THUMBNAIL_USAGE[] = "usage: vidgen thumbnail VIDEO OUT.jpg [--width PIXELS]\n";

/* Prints `message` (if any) and the usage text on stderr; returns the usage exit code. */
static int usage_error(const char *usage, const char *message)
{
    if (message)
        fprintf(stderr, "vidgen: %s\n", message);
    fputs(usage, stderr);
    return 2;
}

/* Progress on a terminal only: a counter that rewrites its own line. */
static int show_progress(void *arg, int percent)
{
    (void)arg;
    fprintf(stderr, "\rrendering %3d%%%s", percent, percent == 100 ? "\n" : "");
    return 0;
}

int cli_render(int argc, char **argv)
{
    static const struct option opts[] = {
        {"prompt", required_argument, NULL, 'p'},
        {"resolution", required_argument, NULL, 'r'},
        {"aspect-ratio", required_argument, NULL, 'a'},
        {"duration", required_argument, NULL, 'd'},
        {"fps", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prompt = NULL, *resolution = "720p", *aspect = "16:9";
    struct render_params p = {.seconds = 5, .fps = 24};
    int c;
    optind = 0; /* glibc: start a fresh scan, whatever parsed argv before us */
    while ((c = getopt_long(argc, argv, "p:r:a:d:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': prompt = optarg; break;
        case 'r': resolution = optarg; break;
        case 'a': aspect = optarg; break;
        case 'd':
            if (parse_int(optarg, 1, 600, &p.seconds) < 0)
                return usage_error(RENDER_USAGE, "--duration must be whole seconds, 1..600");
            break;
        case 'f':
            if (parse_int(optarg, 1, 120, &p.fps) < 0)
                return usage_error(RENDER_USAGE, "--fps must be a whole number, 1..120");
            break;
        case 'h': fputs(RENDER_USAGE, stdout); return 0;
        default: return usage_error(RENDER_USAGE, NULL);
        }
    }
    if (!prompt || !*prompt)
        return usage_error(RENDER_USAGE, "--prompt is required");
    if (optind != argc - 1)
        return usage_error(RENDER_USAGE, "exactly one output file is required");
    if (media_dimensions(resolution, aspect, &p.width, &p.height) < 0)
        return usage_error(RENDER_USAGE, "unknown --resolution or --aspect-ratio");
    p.prompt = prompt;

    media_avlog_init();
    char err[256];
    render_progress_fn progress = isatty(STDERR_FILENO) ? show_progress : NULL;
    if (media_render(&p, argv[optind], progress, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "vidgen render: %s\n", err);
        return 1;
    }
    return 0;
}

int cli_probe(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(PROBE_USAGE, stdout);
            return 0;
        }
        return usage_error(PROBE_USAGE, NULL);
    }
    if (optind != argc - 1)
        return usage_error(PROBE_USAGE, "exactly one file is required");

    media_avlog_init();
    struct media_info info;
    char err[256];
    if (media_probe(argv[optind], &info, err, sizeof err) < 0) {
        fprintf(stderr, "vidgen probe: %s: %s\n", argv[optind], err);
        return 1;
    }
    printf("codec   %s\nsize    %dx%d\nseconds %.3f\nfps     %.3g\n", info.codec, info.width, info.height, info.seconds,
           info.fps);
    return 0;
}

int cli_thumbnail(int argc, char **argv)
{
    static const struct option opts[] = {
        {"width", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int width = 480, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (parse_int(optarg, 16, 7680, &width) < 0)
                return usage_error(THUMBNAIL_USAGE, "--width must be a whole number, 16..7680");
            break;
        case 'h': fputs(THUMBNAIL_USAGE, stdout); return 0;
        default: return usage_error(THUMBNAIL_USAGE, NULL);
        }
    }
    if (optind != argc - 2)
        return usage_error(THUMBNAIL_USAGE, "a video and an output file are required");

    media_avlog_init();
    char err[256];
    if (media_thumbnail(argv[optind], argv[optind + 1], width, err, sizeof err) < 0) {
        fprintf(stderr, "vidgen thumbnail: %s: %s\n", argv[optind], err);
        return 1;
    }
    return 0;
}
