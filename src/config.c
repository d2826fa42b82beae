#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/parse.h"

/* Variables read from ./.env; the environment wins over these. */
struct dotenv {
    char *names[128];
    char *values[128];
    int n;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* KEY=VALUE lines; `export ` prefixes, # comments and single or double quotes allowed. */
static int dotenv_read(struct dotenv *d, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int lineno = 0;
    if (fp == NULL)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char *s = trim(line), *eq, *v;
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        if ((eq = strchr(s, '=')) == NULL || d->n == 128) {
            snprintf(err, errlen, "%s:%d: expected NAME=VALUE", path, lineno);
            fclose(fp);
            return -1;
        }
        *eq = '\0';
        v = trim(eq + 1);
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
            v[vl - 1] = '\0', v++;
        d->names[d->n] = strdup(trim(s));
        d->values[d->n] = strdup(v);
        d->n++;
    }
    fclose(fp);
    return 0;
}

static void dotenv_free(struct dotenv *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->names[i]), free(d->values[i]);
}

static const char *lookup(const struct dotenv *d, const char *name, const char *dflt)
{
    const char *v = getenv(name);
    if (v != NULL)
        return v;
    for (int i = d->n - 1; i >= 0; i--)
        if (strcmp(d->names[i], name) == 0)
            return d->values[i];
    return dflt;
}

static int copy(char *dst, size_t cap, const char *name, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "%s is too long (at most %zu characters)", name, cap - 1);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

static int parse_long(const char *name, const char *v, long min, long max, long *out, char *err, size_t errlen)
{
    long long n;
    if (parse_int64(v, min, max, &n) != 0) {
        snprintf(err, errlen, "%s must be a whole number from %ld to %ld, not '%s'", name, min, max, v);
        return -1;
    }
    *out = (long)n;
    return 0;
}

int config_set_addr(struct config *cfg, const char *addr, char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    long port;
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof cfg->host) {
        snprintf(err, errlen, "VIDGEN_ADDR must be HOST:PORT, such as 127.0.0.1:8080, not '%s'", addr);
        return -1;
    }
    if (parse_long("the port of VIDGEN_ADDR", colon + 1, 0, 65535, &port, err, errlen))
        return -1;
    memcpy(cfg->host, addr, colon - addr);
    cfg->host[colon - addr] = '\0';
    cfg->port = (unsigned short)port;
    return 0;
}

static int check_url(const char *name, const char *v, const char *const *schemes, char *err, size_t errlen)
{
    if (*v == '\0')
        return 0;
    for (; *schemes; schemes++)
        if (strncmp(v, *schemes, strlen(*schemes)) == 0 && v[strlen(*schemes)] != '\0')
            return 0;
    snprintf(err, errlen, "%s must be a URL starting with %s…, not '%s'", name, schemes[-1], v);
    return -1;
}

/* "on" or "off" into 1 or 0. */
static int parse_switch(const char *name, const char *v, long *out, char *err, size_t errlen)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
        *out = strcmp(v, "on") == 0;
        return 0;
    }
    snprintf(err, errlen, "%s must be on or off, not \"%.40s\"", name, v);
    return -1;
}

static int parse_level(const char *v, enum log_level *out, char *err, size_t errlen)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    snprintf(err, errlen, "VIDGEN_LOG_LEVEL must be debug, info, warn or error, not '%s'", v);
    return -1;
}

static int parse_log_format(const char *v, enum log_format *out, char *err, size_t errlen)
{
    if (strcmp(v, "plain") == 0 || strcmp(v, "json") == 0) {
        *out = strcmp(v, "json") == 0 ? LOG_JSON : LOG_PLAIN;
        return 0;
    }
    snprintf(err, errlen, "VIDGEN_LOG_FORMAT must be plain or json, not '%.40s'", v);
    return -1;
}

/* Kling signs a token with two keys, which travel to providers/kling.c as one credential,
 * "ACCESS:SECRET" (the worker hands a provider one key). Both or neither must be set, and
 * the access key, which goes first, must hold no ':'. */
static int kling_credential(struct config *c, char *err, size_t errlen)
{
    bool access = c->kling_access_key[0] != '\0', secret = c->kling_secret_key[0] != '\0';
    c->kling_credential[0] = '\0';
    if (access != secret)
        return snprintf(err, errlen, "%s is set but %s is not: Kling needs both",
                        access ? "KLING_ACCESS_KEY" : "KLING_SECRET_KEY",
                        access ? "KLING_SECRET_KEY" : "KLING_ACCESS_KEY"),
               -1;
    if (strchr(c->kling_access_key, ':') != NULL)
        return snprintf(err, errlen, "KLING_ACCESS_KEY must not contain ':'"), -1;
    if (access)
        snprintf(c->kling_credential, sizeof c->kling_credential, "%s:%s", c->kling_access_key, c->kling_secret_key);
    return 0;
}

/* VIDGEN_STORE_THREADS (after DATABASE_URL): "auto" runs handlers on the loops with SQLite
 * (a local call) and on CONFIG_STORE_THREADS_NETWORK threads with PostgreSQL (a round
 * trip that must not stall a loop: api/store_pool.h). */
static int store_threads(struct config *c, const char *v, char *err, size_t errlen)
{
    long n;
    if (strcmp(v, "auto") == 0) {
        c->store_threads = strncmp(c->database_url, "sqlite:", 7) == 0 ? 0 : CONFIG_STORE_THREADS_NETWORK;
        return 0;
    }
    if (parse_long("VIDGEN_STORE_THREADS", v, 0, 256, &n, err, errlen) != 0)
        return -1;
    c->store_threads = (int)n;
    return 0;
}

static int read_all(struct config *c, const struct dotenv *d, char *err, size_t errlen)
{
    static const char *const http[] = {"http://", "https://", NULL};
    static const char *const db[] = {"sqlite:", "postgres://", "postgresql://", NULL};
    static const char *const redis[] = {"redis://", NULL};
    long threads, credits, render_threads, lease, max_conns, shutdown, h2c, quota_mb, metrics;
    const char *v;

    if (config_set_addr(c, lookup(d, "VIDGEN_ADDR", "127.0.0.1:8080"), err, errlen) ||
        copy(c->data_dir, sizeof c->data_dir, "VIDGEN_DATA_DIR", lookup(d, "VIDGEN_DATA_DIR", "./data"), err, errlen) ||
        copy(c->redis_url, sizeof c->redis_url, "REDIS_URL", lookup(d, "REDIS_URL", ""), err, errlen) ||
        copy(c->public_url, sizeof c->public_url, "VIDGEN_PUBLIC_URL", lookup(d, "VIDGEN_PUBLIC_URL", ""), err,
             errlen) ||
        copy(c->edenai_webhook_public_key, sizeof c->edenai_webhook_public_key, "EDENAI_WEBHOOK_PUBLIC_KEY",
             lookup(d, "EDENAI_WEBHOOK_PUBLIC_KEY", ""), err, errlen) ||
        copy(c->modelslab_api_key, sizeof c->modelslab_api_key, "MODELSLAB_API_KEY", lookup(d, "MODELSLAB_API_KEY", ""),
             err, errlen) ||
        copy(c->modelslab_base_url, sizeof c->modelslab_base_url, "MODELSLAB_BASE_URL",
             lookup(d, "MODELSLAB_BASE_URL", "https://modelslab.com/api"), err, errlen) ||
        copy(c->edenai_api_key, sizeof c->edenai_api_key, "EDENAI_API_KEY", lookup(d, "EDENAI_API_KEY", ""), err,
             errlen) ||
        copy(c->edenai_base_url, sizeof c->edenai_base_url, "EDENAI_BASE_URL",
             lookup(d, "EDENAI_BASE_URL", "https://api.edenai.run"), err, errlen) ||
        copy(c->runway_api_key, sizeof c->runway_api_key, "RUNWAY_API_KEY", lookup(d, "RUNWAY_API_KEY", ""), err,
             errlen) ||
        copy(c->runway_base_url, sizeof c->runway_base_url, "RUNWAY_BASE_URL",
             lookup(d, "RUNWAY_BASE_URL", "https://api.dev.runwayml.com"), err, errlen) ||
        copy(c->kling_access_key, sizeof c->kling_access_key, "KLING_ACCESS_KEY", lookup(d, "KLING_ACCESS_KEY", ""),
             err, errlen) ||
        copy(c->kling_secret_key, sizeof c->kling_secret_key, "KLING_SECRET_KEY", lookup(d, "KLING_SECRET_KEY", ""),
             err, errlen) ||
        copy(c->kling_base_url, sizeof c->kling_base_url, "KLING_BASE_URL",
             lookup(d, "KLING_BASE_URL", "https://api-singapore.klingai.com"), err, errlen) ||
        copy(c->catalog_path, sizeof c->catalog_path, "VIDGEN_CATALOG", lookup(d, "VIDGEN_CATALOG", ""), err, errlen) ||
        copy(c->server_url, sizeof c->server_url, "VIDGEN_URL", lookup(d, "VIDGEN_URL", ""), err, errlen) ||
        copy(c->token, sizeof c->token, "VIDGEN_TOKEN", lookup(d, "VIDGEN_TOKEN", ""), err, errlen) ||
        copy(c->access_log, sizeof c->access_log, "VIDGEN_ACCESS_LOG", lookup(d, "VIDGEN_ACCESS_LOG", "-"), err,
             errlen) ||
        parse_long("VIDGEN_THREADS", lookup(d, "VIDGEN_THREADS", "0"), 0, 256, &threads, err, errlen) ||
        parse_long("VIDGEN_MAX_CONNECTIONS", lookup(d, "VIDGEN_MAX_CONNECTIONS", "0"), 0, 1000000, &max_conns, err,
                   errlen) ||
        parse_long("VIDGEN_SHUTDOWN_SECONDS", lookup(d, "VIDGEN_SHUTDOWN_SECONDS", "30"), 1, 3600, &shutdown, err,
                   errlen) ||
        parse_switch("VIDGEN_H2C", lookup(d, "VIDGEN_H2C", "off"), &h2c, err, errlen) ||
        parse_switch("VIDGEN_METRICS", lookup(d, "VIDGEN_METRICS", "on"), &metrics, err, errlen) ||
        parse_long("VIDGEN_RENDER_THREADS", lookup(d, "VIDGEN_RENDER_THREADS", "0"), 0, 64, &render_threads, err,
                   errlen) ||
        parse_long("VIDGEN_LEASE_SECONDS", lookup(d, "VIDGEN_LEASE_SECONDS", "30"), 2, 3600, &lease, err, errlen) ||
        parse_long("VIDGEN_UPLOAD_QUOTA_MB", lookup(d, "VIDGEN_UPLOAD_QUOTA_MB", "500"), 0, 10000000L, &quota_mb, err,
                   errlen) ||
        parse_long("VIDGEN_ADMIN_CREDITS", lookup(d, "VIDGEN_ADMIN_CREDITS", "10000"), 0, 1000000000L, &credits, err,
                   errlen) ||
        parse_level(lookup(d, "VIDGEN_LOG_LEVEL", "info"), &c->log_level, err, errlen) ||
        parse_log_format(lookup(d, "VIDGEN_LOG_FORMAT", "plain"), &c->log_format, err, errlen))
        return -1;
    c->threads = (int)threads;
    c->max_connections = (int)max_conns;
    c->shutdown_seconds = (int)shutdown;
    c->http2_cleartext = h2c != 0;
    c->metrics = metrics != 0;
    c->render_threads = (int)render_threads;
    c->lease_seconds = (int)lease;
    c->upload_quota_bytes = (int64_t)quota_mb << 20;
    c->admin_credits = credits;
    if (c->data_dir[0] == '\0')
        return snprintf(err, errlen, "VIDGEN_DATA_DIR must not be empty"), -1;

    v = lookup(d, "DATABASE_URL", "");
    if (*v == '\0') {
        if (snprintf(c->database_url, sizeof c->database_url, "sqlite:%s/vidgen.db", c->data_dir) >=
            (int)sizeof c->database_url)
            return snprintf(err, errlen, "VIDGEN_DATA_DIR is too long"), -1;
    } else if (copy(c->database_url, sizeof c->database_url, "DATABASE_URL", v, err, errlen))
        return -1;
    if (store_threads(c, lookup(d, "VIDGEN_STORE_THREADS", "auto"), err, errlen) != 0)
        return -1;
    return check_url("DATABASE_URL", c->database_url, db, err, errlen) ||
                   check_url("REDIS_URL", c->redis_url, redis, err, errlen) ||
                   check_url("VIDGEN_PUBLIC_URL", c->public_url, http, err, errlen) ||
                   check_url("VIDGEN_URL", c->server_url, http, err, errlen) ||
                   check_url("MODELSLAB_BASE_URL", c->modelslab_base_url, http, err, errlen) ||
                   check_url("EDENAI_BASE_URL", c->edenai_base_url, http, err, errlen) ||
                   check_url("RUNWAY_BASE_URL", c->runway_base_url, http, err, errlen) ||
                   check_url("KLING_BASE_URL", c->kling_base_url, http, err, errlen) || kling_credential(c, err, errlen)
               ? -1
               : 0;
}

/* <PREFIX>_MAX_IN_FLIGHT and <PREFIX>_REQUESTS_PER_MINUTE into `out`. */
static int read_limits(const struct dotenv *d, const char *prefix, const char *in_flight, const char *per_minute,
                       struct provider_limits *out, char *err, size_t errlen)
{
    char name[2][64];
    long n[2];
    snprintf(name[0], sizeof name[0], "%s_MAX_IN_FLIGHT", prefix);
    snprintf(name[1], sizeof name[1], "%s_REQUESTS_PER_MINUTE", prefix);
    if (parse_long(name[0], lookup(d, name[0], in_flight), 1, 100000, &n[0], err, errlen) ||
        parse_long(name[1], lookup(d, name[1], per_minute), 1, 600000, &n[1], err, errlen))
        return -1;
    out->max_in_flight = (int)n[0];
    out->requests_per_minute = (int)n[1];
    return 0;
}

/* ModelsLab's pay-as-you-go plan queues 5 jobs (shared/providers/modelslab.md §5); Eden AI
 * allows about 10 requests a second. Runway runs 1 to 2 tasks at once on its first tier and
 * queues the rest itself (THROTTLED), with no request rate published (runway.md §4). Kling's
 * concurrency is its resource pack's and no figure is published (kling.md §5): 5 is a guess
 * to set to the pack's. Each rate is what polling every 5 to 7.5 s needs for the cap. */
static int read_provider_limits(struct config *c, const struct dotenv *d, char *err, size_t errlen)
{
    return read_limits(d, "MODELSLAB", "5", "60", &c->modelslab_limits, err, errlen) ||
                   read_limits(d, "EDENAI", "10", "600", &c->edenai_limits, err, errlen) ||
                   read_limits(d, "RUNWAY", "2", "60", &c->runway_limits, err, errlen) ||
                   read_limits(d, "KLING", "5", "60", &c->kling_limits, err, errlen)
               ? -1
               : 0;
}

/* The web app's logins (api/auth.c). */
static int read_session(struct config *c, const struct dotenv *d, char *err, size_t errlen)
{
    long seconds;
    if (parse_long("VIDGEN_SESSION_SECONDS", lookup(d, "VIDGEN_SESSION_SECONDS", "604800"), 1, 31536000, &seconds, err,
                   errlen))
        return -1;
    c->session_seconds = (int)seconds;
    return 0;
}

int config_load(struct config *cfg, char *err, size_t errlen)
{
    struct dotenv d = {0};
    memset(cfg, 0, sizeof *cfg);
    int rc = dotenv_read(&d, ".env", err, errlen);
    if (rc == 0)
        rc = read_all(cfg, &d, err, errlen);
    if (rc == 0)
        rc = read_provider_limits(cfg, &d, err, errlen);
    if (rc == 0)
        rc = read_session(cfg, &d, err, errlen);
    dotenv_free(&d);
    return rc;
}

const char *config_sqlite_path(const struct config *cfg)
{
    return strncmp(cfg->database_url, "sqlite:", 7) == 0 ? cfg->database_url + 7 : NULL;
}
