/* vidgen serve: the HTTP API (and, with the pipeline, the embedded worker). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/password.h"
#include "core/token.h"
#include "http/server.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/allocator.h"
#include "util/log.h"
#include "worker/worker.h"

/* On a fresh database, creates the first admin with starting credits and tells how to log
 * in: an API token, also written to DATA_DIR/admin-token (mode 0600), and a password for
 * the web app, printed this once only (`vidgen user passwd admin` sets another). */
static int first_run(struct store *s, const struct config *cfg)
{
    struct vg_error err;
    struct user u;
    long users;
    char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], path[1100];
    char password[PASSWORD_NEW_LEN + 1], password_hashed[PASSWORD_HASH_MAX];
    if (store_user_count(s, &users, &err) != VG_OK)
        return log_error("store: %s", err.message), -1;
    if (users > 0)
        return 0;
    if (store_user_create(s, "admin", true, cfg->admin_credits, &u, &err) != VG_OK)
        return err.code == VG_ERR_CONFLICT ? 0 : (log_error("store: %s", err.message), -1); /* another process won */
    token_new(token);
    token_hash(token, strlen(token), hash);
    if (store_token_create(s, u.id, hash, "first admin", NULL, &err) != VG_OK)
        return log_error("store: %s", err.message), -1;
    password_new(password);
    if (password_hash(password, strlen(password), password_hashed) != 0)
        return log_error("first start: not enough memory to hash the admin's password"), -1;
    if (store_password_set(s, u.id, password_hashed, &err) != VG_OK)
        return log_error("store: %s", err.message), -1;
    snprintf(path, sizeof path, "%s/admin-token", cfg->data_dir);
    FILE *fp = fopen(path, "w"); /* a stale file from an earlier data dir is replaced */
    if (fp != NULL) {
        fchmod(fileno(fp), 0600);
        fprintf(fp, "%s\n", token);
        fclose(fp);
    }
    printf("\nvidgen: first start: created the admin user 'admin' with %ld credits.\n"
           "  Web app: http://%s:%u/  user admin, password (shown this once): %s\n"
           "  API token (also saved in %s): %s\n"
           "  Try:  curl -H 'Authorization: Bearer %s' http://%s:%u" API_PREFIX "/projects\n\n",
           cfg->admin_credits, cfg->host, cfg->port, password, path, token, token, cfg->host, cfg->port);
    fflush(stdout);
    return 0;
}

static int parse_args(int argc, char **argv, struct config *cfg, bool *worker)
{
    static const struct option opts[] = {{"addr", required_argument, 0, 'a'}, {"no-worker", no_argument, 0, 'n'}, {0}};
    char err[512];
    int o;
    optind = 1;
    *worker = true;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'a' && config_set_addr(cfg, optarg, err, sizeof err) != 0) {
            fprintf(stderr, "vidgen: --addr: %s\n", err);
            return -1;
        } else if (o == 'n')
            *worker = false;
        else if (o == '?')
            return -1;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: vidgen serve [--addr HOST:PORT] [--no-worker]\n");
        return -1;
    }
    return 0;
}

/* The embedded worker tells SSE subscribers of every change. */
static void on_change(const struct generation *g, void *api)
{
    api_notify(api, g);
}

static int serve(const struct config *cfg, struct api *api, bool with_worker)
{
    struct worker *w = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct http_server_config http = {
        .host = cfg->host,
        .port = cfg->port,
        .threads = cfg->threads > 0 ? cfg->threads : (cores > 0 ? (int)cores : 1),
        .access_log = cfg->access_log,
        .max_body = API_MAX_BODY,
        .shutdown_timeout_ms = cfg->shutdown_seconds * 1000,
        .max_connections = cfg->max_connections,
        .http2_cleartext = cfg->http2_cleartext,
        .thread_init = api_thread_init,
        .thread_stopping = api_thread_stopping,
        .thread_done = api_thread_done,
        .on_request = api_handle,
        .defers_body = api_defers_body,
        .arg = api,
    };
    if (http_server_check_address(cfg->host, cfg->port) != 0)
        return 1; /* before the worker takes any job */
    if (with_worker && (w = cli_start_worker(cfg, api->queue, on_change, api)) == NULL)
        return 1;
    int rc = http_server_run(&http);
    if (w)
        worker_stop(w);
    return rc == 0 ? 0 : 1;
}

int cli_serve(int argc, char **argv)
{
    struct config cfg;
    struct api api;
    sigset_t signals;
    char err[512];
    bool with_worker;
    cli_block_signals(&signals); /* before any thread starts: only the server's sigwait takes them */
    if (cli_load_config(&cfg) != 0)
        return 1;
    if (parse_args(argc, argv, &cfg, &with_worker) != 0)
        return 2;
    log_info("vidgen: memory allocator: %s", allocator_name());
    struct store *s = cli_open_store(&cfg);
    if (s == NULL)
        return 1;
    int rc = first_run(s, &cfg);
    store_close(s);
    if (rc != 0)
        return 1;
    struct queue *queue = queue_open(cfg.redis_url, err, sizeof err);
    if (queue == NULL) {
        fprintf(stderr, "vidgen: %s\n", err);
        return 1;
    }
    if (api_init(&api, &cfg, queue, err, sizeof err) != 0) {
        fprintf(stderr, "vidgen: %s\n", err);
        queue_close(queue);
        return 1;
    }
    rc = serve(&cfg, &api, with_worker);
    api_dispose(&api);
    queue_close(queue);
    log_info("vidgen: stopped");
    return rc;
}
