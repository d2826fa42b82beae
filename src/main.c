/* vidgen: one binary, one subcommand per job. Dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/media_cmd.h"
#include "media/avlog.h"
#include "util/allocator.h"
#include "util/json_region.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cli_serve, "serve [--addr HOST:PORT] [--no-worker]   HTTP API"},
    {"worker", cli_worker, "worker                                   run generations only (scale-out)"},
    {"migrate", cli_migrate, "migrate                                  apply database migrations"},
    {"user", cli_user, "user add NAME [--credits N] [--admin]   create a user, print its API token"},
    {"credits", cli_credits, "credits grant NAME N                     add credits to a user"},
    {"token", cli_token, "token create NAME | token revoke ID     manage API tokens"},
    {"estimate", cli_estimate, "estimate --model ID [options]            price a generation"},
    {"generate", cli_generate, "generate --model M --prompt P [...] [--wait]   submit a generation"},
    {"status", cli_status, "status ID [--json]                       show a generation's status"},
    {"render", cli_render, "render --prompt P [options] OUT.mp4     render a local preview clip"},
    {"probe", cli_probe, "probe FILE                               describe a video file"},
    {"thumbnail", cli_thumbnail, "thumbnail VIDEO OUT.jpg [--width N]      make a JPEG thumbnail"},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: vidgen COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  vidgen %s\n", commands[i].help);
    fprintf(out, "\nConfiguration comes from the environment and ./.env (see .env.example).\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    allocator_init();      /* first: the allocator's options, before any allocation of note */
    json_region_install(); /* before any thread: provider replies parse without malloc */
    media_avlog_init();    /* FFmpeg's chatter goes to our log at debug level */
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vidgen: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
