/* Configuration: environment variables, also read from `.env` in the working directory
 * (a variable set in the environment wins over the file). This is the only reader of
 * getenv(). Every value is checked at start; .env.example documents each one. */
#ifndef VIDGEN_CONFIG_H
#define VIDGEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

/* What this process sends a provider at most (the worker's limits, per provider). */
struct provider_limits {
    int max_in_flight;       /* <P>_MAX_IN_FLIGHT: jobs submitted and not ended at the provider */
    int requests_per_minute; /* <P>_REQUESTS_PER_MINUTE: submits and polls */
};

#define CONFIG_STORE_THREADS_NETWORK 8 /* VIDGEN_STORE_THREADS=auto with a database over the network */

struct config {
    char host[256]; /* VIDGEN_ADDR, split */
    unsigned short port;
    char data_dir[1024];                  /* VIDGEN_DATA_DIR */
    char database_url[2048];              /* DATABASE_URL, or "sqlite:<data_dir>/vidgen.db" */
    char redis_url[1024];                 /* REDIS_URL, "" = in-process queue */
    char public_url[1024];                /* VIDGEN_PUBLIC_URL, "" = unset */
    char edenai_webhook_public_key[1024]; /* EDENAI_WEBHOOK_PUBLIC_KEY: PEM file path, "" = callbacks unverified */
    char modelslab_api_key[512], modelslab_base_url[1024];
    char edenai_api_key[512], edenai_base_url[1024];
    char runway_api_key[512], runway_base_url[1024];
    char kling_access_key[256], kling_secret_key[256], kling_base_url[1024];
    char kling_credential[513]; /* "ACCESS:SECRET", what providers/kling.c signs its tokens with; "" = unset */
    struct provider_limits modelslab_limits, edenai_limits, runway_limits, kling_limits;
    char catalog_path[1024];    /* VIDGEN_CATALOG, "" = the catalog built into the binary */
    char server_url[1024];      /* VIDGEN_URL: where CLI clients reach the server; "" = http://VIDGEN_ADDR */
    char token[256];            /* VIDGEN_TOKEN: CLI clients' API token; "" = DATA_DIR/admin-token if present */
    char access_log[1024];      /* VIDGEN_ACCESS_LOG: a path, "-" = stderr, "off" */
    int threads;                /* VIDGEN_THREADS: HTTP event loops, 0 = one per core */
    int max_connections;        /* VIDGEN_MAX_CONNECTIONS: open client connections, 0 = from the open-file limit */
    bool metrics;               /* VIDGEN_METRICS: off, HTTP requests are not counted and /metrics is 404 */
    bool http2_cleartext;       /* VIDGEN_H2C: accept HTTP/2 without TLS (prior knowledge, Upgrade: h2c) */
    int shutdown_seconds;       /* VIDGEN_SHUTDOWN_SECONDS: how long a stop waits for downloads and streams */
    int render_threads;         /* VIDGEN_RENDER_THREADS: the worker's CPU pool, 0 = one per core */
    int store_threads;          /* VIDGEN_STORE_THREADS: threads running API handlers' store calls off the
                                 * HTTP loops, 0 = on the loops (auto: 0 with SQLite, 8 with PostgreSQL) */
    int lease_seconds;          /* VIDGEN_LEASE_SECONDS: a worker's hold on a job, renewed at a third */
    long admin_credits;         /* VIDGEN_ADMIN_CREDITS: the first admin's starting credits */
    int session_seconds;        /* VIDGEN_SESSION_SECONDS: how long a web login lasts */
    int64_t upload_quota_bytes; /* VIDGEN_UPLOAD_QUOTA_MB: what each user's uploaded images may hold */
    enum log_level log_level;   /* VIDGEN_LOG_LEVEL */
    enum log_format log_format; /* VIDGEN_LOG_FORMAT: plain (default) or json */
};

/* Fills `cfg` from the environment and ./.env. Returns 0, or -1 with a message naming the
 * variable and what is wrong with it in `err`. */
int config_load(struct config *cfg, char *err, size_t errlen);

/* Overrides the listen address ("host:port"), as `--addr` does. Same checks as VIDGEN_ADDR. */
int config_set_addr(struct config *cfg, const char *addr, char *err, size_t errlen);

/* The SQLite file path when database_url is a sqlite: URL, else NULL. Borrowed from cfg. */
const char *config_sqlite_path(const struct config *cfg);

#endif
