/* The subcommands of `vidgen`. Each takes argc/argv with argv[0] its own name, prints its
 * result on stdout and errors on stderr, and returns the process exit code: 0 done,
 * 1 failed, 2 bad usage. */
#ifndef VIDGEN_CLI_CLI_H
#define VIDGEN_CLI_CLI_H

#include "config.h"

struct store;

int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_credits(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_estimate(int argc, char **argv);

/* Shared by the subcommands: loads the configuration (printing why not), creates the data
 * directory and opens a migrated store. Returns NULL after printing the error. */
struct store *cli_open_store(struct config *cfg);

/* Loads the configuration, printing the error; 0 or -1. */
int cli_load_config(struct config *cfg);

#endif
