/* Administration: migrate, users, credits and tokens. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/password.h"
#include "core/token.h"
#include "core/user_name.h"
#include "store/store.h"
#include "util/parse.h"

#define CREDITS_MAX 1000000000LL /* what one command may create or grant */

int cli_migrate(int argc, char **argv)
{
    struct config cfg;
    struct vg_error err;
    char msg[512];
    int applied = 0;
    (void)argc, (void)argv;
    if (cli_load_config(&cfg) != 0)
        return 1;
    if (cli_make_dirs(cfg.data_dir) != 0) {
        fprintf(stderr, "vidgen: cannot create data directory %s: %s\n", cfg.data_dir, strerror(errno));
        return 1;
    }
    struct store *s = store_open(cfg.database_url, msg, sizeof msg);
    if (s == NULL) {
        fprintf(stderr, "vidgen: %s\n", msg);
        return 1;
    }
    enum vg_err e = store_migrate(s, &applied, &err);
    store_close(s);
    if (e != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", err.message);
        return 1;
    }
    printf("applied %d migration%s; the database is up to date\n", applied, applied == 1 ? "" : "s");
    return 0;
}

/* Creates a token for `user_id` and prints it alone on stdout. */
static int issue_token(struct store *s, const char *user_id, const char *label)
{
    char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
    struct vg_error err;
    struct api_token t;
    token_new(token);
    token_hash(token, strlen(token), hash);
    if (store_token_create(s, user_id, hash, label, &t, &err) != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", err.message);
        return 1;
    }
    printf("%s\n", token);
    fprintf(stderr, "token id %s (revoke with: vidgen token revoke %s)\n", t.id, t.id);
    return 0;
}

#define USER_ADD_USAGE                                                                                                 \
    "usage: vidgen user add NAME [--credits N] [--admin] [--password-stdin]\n"                                         \
    "  NAME: 1-64 letters, digits, '.', '_' or '-'\n"                                                                  \
    "  --password-stdin: the password for the web app, one line on standard input\n"

static int user_add(int argc, char **argv)
{
    static const struct option opts[] = {{"credits", required_argument, 0, 'c'},
                                         {"admin", no_argument, 0, 'a'},
                                         {"password-stdin", no_argument, 0, 'p'},
                                         {0}};
    long long credits = 0;
    int admin = 0, with_password = 0, o;
    char pw[PASSWORD_MAX + 2] = "";
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'c' && parse_int64(optarg, 0, CREDITS_MAX, &credits) != 0) {
            fprintf(stderr, "vidgen: --credits must be a whole number from 0 to 1000000000\n");
            return 2;
        } else if (o == 'a')
            admin = 1;
        else if (o == 'p')
            with_password = 1;
        else if (o == '?')
            return 2;
    }
    if (optind != argc - 1 || !user_name_valid(argv[optind])) {
        fprintf(stderr, USER_ADD_USAGE);
        return 2;
    }
    if (with_password && cli_read_password(true, pw, sizeof pw) != 0)
        return 1; /* before the user exists: nothing half made */
    struct config cfg;
    struct vg_error err;
    struct user u;
    struct store *s;
    if (cli_load_config(&cfg) != 0 || (s = cli_open_store(&cfg)) == NULL)
        return 1;
    int rc = 1;
    if (store_user_create(s, argv[optind], admin, credits, &u, &err) != VG_OK)
        fprintf(stderr, "vidgen: %s\n", err.message);
    else if (!with_password || cli_set_password(s, &u, pw) == 0)
        rc = issue_token(s, u.id, "created with user");
    memset(pw, 0, sizeof pw);
    store_close(s);
    return rc;
}

int cli_user(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "passwd") == 0)
        return cli_user_passwd(argc - 1, argv + 1);
    fprintf(stderr, USER_ADD_USAGE "       vidgen user passwd NAME [--password-stdin]\n");
    return 2;
}

int cli_credits(int argc, char **argv)
{
    long long n;
    if (argc != 4 || strcmp(argv[1], "grant") != 0 || parse_int64(argv[3], 1, CREDITS_MAX, &n) != 0) {
        fprintf(stderr, "usage: vidgen credits grant NAME N   (N: 1 to 1000000000)\n");
        return 2;
    }
    struct config cfg;
    struct vg_error err;
    struct user u;
    struct store *s;
    long balance;
    if (cli_load_config(&cfg) != 0 || (s = cli_open_store(&cfg)) == NULL)
        return 1;
    int rc = 1;
    if (store_user_by_name(s, argv[2], &u, &err) != VG_OK)
        fprintf(stderr, "vidgen: no user named '%s'\n", argv[2]);
    else if (store_credits_add(s, u.id, LEDGER_GRANT, n, "granted by an administrator", &balance, &err) != VG_OK)
        fprintf(stderr, "vidgen: %s\n", err.message);
    else {
        printf("%s now has %ld credits\n", u.name, balance);
        rc = 0;
    }
    store_close(s);
    return rc;
}

static int token_create(struct store *s, int argc, char **argv)
{
    struct vg_error err;
    struct user u;
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: vidgen token create NAME [LABEL]\n");
        return 2;
    }
    if (store_user_by_name(s, argv[2], &u, &err) != VG_OK) {
        fprintf(stderr, "vidgen: no user named '%s'\n", argv[2]);
        return 1;
    }
    return issue_token(s, u.id, argc == 4 ? argv[3] : "");
}

/* Revokes by token id, or by the token itself (hashed, as stored). */
static int token_revoke(struct store *s, int argc, char **argv)
{
    struct vg_error err;
    char hash[TOKEN_HASH_LEN + 1];
    if (argc != 3) {
        fprintf(stderr, "usage: vidgen token revoke TOKEN_ID|TOKEN\n");
        return 2;
    }
    const char *key = argv[2];
    if (strncmp(key, "vg_", 3) == 0) {
        token_hash(key, strlen(key), hash);
        key = hash;
    }
    if (store_token_revoke(s, key, &err) != VG_OK) {
        fprintf(stderr, "vidgen: %s\n", err.message);
        return 1;
    }
    printf("revoked\n");
    return 0;
}

int cli_token(int argc, char **argv)
{
    int create = argc >= 2 && strcmp(argv[1], "create") == 0, revoke = argc >= 2 && strcmp(argv[1], "revoke") == 0;
    if (!create && !revoke) {
        fprintf(stderr, "usage: vidgen token create NAME [LABEL] | vidgen token revoke TOKEN_ID|TOKEN\n");
        return 2;
    }
    struct config cfg;
    struct store *s;
    if (cli_load_config(&cfg) != 0 || (s = cli_open_store(&cfg)) == NULL)
        return 1;
    int rc = create ? token_create(s, argc, argv) : token_revoke(s, argc, argv);
    store_close(s);
    return rc;
}
