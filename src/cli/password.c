/* Passwords from the command line: `vidgen user add NAME --password-stdin` and
 * `vidgen user passwd NAME`. A password is read from standard input (one line), or typed at
 * the terminal twice without echo; it never appears in argv, where `ps` would show it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/password.h"
#include "store/store.h"

/* One line of `fp` without its line end into buf; -1 at EOF or when longer than PASSWORD_MAX. */
static int read_line(FILE *fp, char *buf, size_t cap)
{
    if (fgets(buf, (int)cap, fp) == NULL)
        return -1;
    size_t n = strlen(buf);
    if (n == cap - 1 && buf[n - 1] != '\n' && !feof(fp))
        return -1; /* longer than the buffer */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return (int)n;
}

/* Reads a line at the terminal with echo off. */
static int prompt_hidden(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    int n = read_line(stdin, buf, cap);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return n;
}

int cli_read_password(bool from_stdin, char *buf, size_t cap)
{
    struct vg_error err;
    char again[PASSWORD_MAX + 2];
    int n;
    if (from_stdin || !isatty(STDIN_FILENO)) {
        if ((n = read_line(stdin, buf, cap)) < 0) {
            fprintf(stderr, "vidgen: give the password on standard input, one line of at most %d bytes\n",
                    PASSWORD_MAX);
            return -1;
        }
    } else {
        if ((n = prompt_hidden("New password: ", buf, cap)) < 0 || prompt_hidden("Again: ", again, sizeof again) < 0 ||
            strcmp(buf, again) != 0) {
            fprintf(stderr, "vidgen: the two passwords differ\n");
            return -1;
        }
    }
    if (password_check(buf, (size_t)n, "password", &err) != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", err.message);
        return -1;
    }
    return 0;
}

int cli_set_password(struct store *s, const struct user *u, const char *pw)
{
    char hash[PASSWORD_HASH_MAX];
    struct vg_error err;
    if (password_hash(pw, strlen(pw), hash) != 0) {
        fprintf(stderr, "vidgen: not enough memory to hash the password\n");
        return -1;
    }
    if (store_password_set(s, u->id, hash, &err) != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* vidgen user passwd NAME [--password-stdin]: sets the password and ends the user's web
 * sessions (whoever knew the old one is logged out). */
int cli_user_passwd(int argc, char **argv)
{
    bool from_stdin = argc == 3 && strcmp(argv[2], "--password-stdin") == 0;
    if (argc != 2 && !from_stdin) {
        fprintf(stderr, "usage: vidgen user passwd NAME [--password-stdin]\n");
        return 2;
    }
    struct config cfg;
    struct vg_error err;
    struct user u;
    struct store *s;
    char pw[PASSWORD_MAX + 2];
    long ended = 0;
    if (cli_load_config(&cfg) != 0 || (s = cli_open_store(&cfg)) == NULL)
        return 1;
    int rc = 1;
    if (store_user_by_name(s, argv[1], &u, &err) != VG_OK)
        fprintf(stderr, "vidgen: no user named '%s'\n", argv[1]);
    else if (cli_read_password(from_stdin, pw, sizeof pw) == 0 && cli_set_password(s, &u, pw) == 0) {
        if (store_sessions_revoke_user(s, u.id, &ended, &err) != VG_OK)
            fprintf(stderr, "vidgen: the password is set, but the sessions could not be ended: %s\n", err.message);
        else {
            printf("password of %s changed; %ld web session%s ended\n", u.name, ended, ended == 1 ? "" : "s");
            rc = 0;
        }
    }
    memset(pw, 0, sizeof pw);
    store_close(s);
    return rc;
}
