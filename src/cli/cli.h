/* The subcommands of `vidgen`. Each takes argc/argv with argv[0] its own name, prints its
 * result on stdout and errors on stderr, and returns the process exit code: 0 done,
 * 1 failed, 2 bad usage. */
#ifndef VIDGEN_CLI_CLI_H
#define VIDGEN_CLI_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct store;

int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_credits(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_estimate(int argc, char **argv);
int cli_worker(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_status(int argc, char **argv);

/* Shared by the subcommands: loads the configuration (printing why not), creates the data
 * directory and opens a migrated store. Returns NULL after printing the error. */
struct store *cli_open_store(struct config *cfg);

/* Blocks SIGINT and SIGTERM in this thread and every thread started after, so that only a
 * sigwait() takes them; ignores SIGPIPE. */
void cli_block_signals(sigset_t *set);

struct queue;
struct worker;
struct generation;
/* Starts a worker with the configuration's sizes; NULL after printing the error. */
struct worker *cli_start_worker(const struct config *cfg, struct queue *queue,
                                void (*on_change)(const struct generation *g, void *arg), void *arg);

struct user;
/* Reads a new password (cli/password.c): one line of standard input when `from_stdin` or
 * when it is not a terminal, else typed twice without echo; checked (core/password.h).
 * 0, or -1 after printing why. `buf` holds PASSWORD_MAX + 2 bytes. */
int cli_read_password(bool from_stdin, char *buf, size_t cap);
/* Hashes `pw` and stores it as the password of `u`; 0, or -1 after printing why. */
int cli_set_password(struct store *s, const struct user *u, const char *pw);
/* vidgen user passwd NAME [--password-stdin] */
int cli_user_passwd(int argc, char **argv);

/* mkdir -p; 0 or -1 with errno set. */
int cli_make_dirs(const char *path);

/* Loads the configuration, printing the error; 0 or -1. */
int cli_load_config(struct config *cfg);

#endif
