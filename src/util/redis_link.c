#include "util/redis_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

int redis_addr_parse(const char *url, struct redis_addr *a, char *err, size_t errlen)
{
    const char *p = url, *at, *slash, *colon;
    char *end;
    memset(a, 0, sizeof *a);
    a->port = 6379;
    if (strncmp(p, "redis://", 8) != 0)
        goto bad;
    p += 8;
    slash = strchr(p, '/');
    if (slash == NULL)
        slash = p + strlen(p);
    at = memchr(p, '@', (size_t)(slash - p));
    if (at != NULL) { /* [user]:password@ — the user part (Redis 6 ACLs) is not used */
        const char *c = memchr(p, ':', (size_t)(at - p));
        size_t n = c ? (size_t)(at - c - 1) : (size_t)(at - p);
        if (n >= sizeof a->password)
            goto bad;
        memcpy(a->password, c ? c + 1 : p, n);
        p = at + 1;
    }
    colon = memchr(p, ':', (size_t)(slash - p));
    size_t hn = (size_t)((colon ? colon : slash) - p);
    if (hn == 0 || hn >= sizeof a->host)
        goto bad;
    memcpy(a->host, p, hn);
    if (colon) {
        long port = strtol(colon + 1, &end, 10);
        if (end != slash || end == colon + 1 || port < 1 || port > 65535)
            goto bad;
        a->port = (int)port;
    }
    if (*slash == '/' && slash[1] != '\0') {
        long db = strtol(slash + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000000)
            goto bad;
        a->db = (int)db;
    }
    return 0;
bad:
    snprintf(err, errlen, "REDIS_URL must look like redis://host:port/db, not '%.200s'", url);
    return -1;
}

void redis_link_init(struct redis_link *l, const char *what, const struct redis_addr *addr)
{
    memset(l, 0, sizeof *l);
    l->what = what;
    l->addr = addr;
    l->backoff_ms = REDIS_BACKOFF_MIN_MS;
    pthread_mutex_init(&l->why_lock, NULL);
    snprintf(l->why, sizeof l->why, "not connected yet");
}

static void set_why(struct redis_link *l, const char *why)
{
    pthread_mutex_lock(&l->why_lock);
    snprintf(l->why, sizeof l->why, "%s", why);
    pthread_mutex_unlock(&l->why_lock);
}

static void went_down(struct redis_link *l)
{
    if (atomic_exchange(&l->state, -1) != -1) {
        pthread_mutex_lock(&l->why_lock);
        log_error("redis: %s: cannot use Redis at %s:%d (%s); retrying in the background", l->what, l->addr->host,
                  l->addr->port, l->why);
        pthread_mutex_unlock(&l->why_lock);
    }
}

/* A command on a fresh connection; the reply is checked for an error. */
static int setup_command(struct redis_link *l, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(l->ctx, fmt, arg);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        set_why(l, r == NULL ? l->ctx->errstr : r->str);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int redis_link_connect(struct redis_link *l, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    char db[16];
    if (l->ctx != NULL)
        return 0;
    l->ctx = redisConnectWithTimeout(l->addr->host, l->addr->port, tv);
    if (l->ctx == NULL || l->ctx->err) {
        set_why(l, l->ctx ? l->ctx->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(l->ctx, tv);
    redisEnableKeepAlive(l->ctx);
    snprintf(db, sizeof db, "%d", l->addr->db);
    if ((l->addr->password[0] != '\0' && setup_command(l, "AUTH %s", l->addr->password) != 0) ||
        setup_command(l, "SELECT %s", db) != 0)
        goto fail;
    int was = atomic_exchange(&l->state, 1);
    if (was == -1)
        log_info("redis: %s: Redis at %s:%d answers again", l->what, l->addr->host, l->addr->port);
    else if (was == 0)
        log_info("redis: %s: connected to Redis at %s:%d", l->what, l->addr->host, l->addr->port);
    l->backoff_ms = REDIS_BACKOFF_MIN_MS;
    return 1;
fail:
    if (l->ctx)
        redisFree(l->ctx);
    l->ctx = NULL;
    went_down(l);
    return -1;
}

void redis_link_fail(struct redis_link *l, const redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        set_why(l, reply->str);
    else
        set_why(l, l->ctx && l->ctx->err ? l->ctx->errstr : "no answer");
    if (l->ctx)
        redisFree(l->ctx);
    l->ctx = NULL;
    went_down(l);
}

void redis_link_wait(struct redis_link *l, const atomic_bool *stop)
{
    for (int slept = 0; slept < l->backoff_ms && !atomic_load(stop); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    l->backoff_ms = l->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

bool redis_link_up(struct redis_link *l, char *why, size_t len)
{
    if (atomic_load(&l->state) == 1)
        return true;
    pthread_mutex_lock(&l->why_lock);
    snprintf(why, len, "%s", l->why);
    pthread_mutex_unlock(&l->why_lock);
    return false;
}

void redis_link_close(struct redis_link *l)
{
    if (l->ctx)
        redisFree(l->ctx);
    l->ctx = NULL;
    pthread_mutex_destroy(&l->why_lock);
}
