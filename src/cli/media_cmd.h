/* Command-line subcommands over the media layer: render, probe, thumbnail.
 * Each takes the subcommand's own argv (argv[0] is the subcommand name), prints errors on
 * stderr and returns the process exit code: 0 done, 1 failed, 2 usage error. */
#ifndef VIDGEN_CLI_MEDIA_CMD_H
#define VIDGEN_CLI_MEDIA_CMD_H

/* vidgen render --prompt TEXT [--resolution 720p] [--aspect-ratio 16:9] [--duration 5]
 *               [--fps 24] OUT.mp4 */
int cli_render(int argc, char **argv);

/* vidgen probe FILE: prints codec, size, seconds and fps; exit 1 if FILE is not a video. */
int cli_probe(int argc, char **argv);

/* vidgen thumbnail VIDEO OUT.jpg [--width 480] */
int cli_thumbnail(int argc, char **argv);

#endif
