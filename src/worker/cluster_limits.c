#include "worker/cluster_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/redis_link.h"

/* A probe that never reports (its worker died) stops holding the half-open circuit after
 * this long: more than an exchange's whole timeout. */
#define PROBE_MS 60000
#define KEY_MAX 160

/* Redis's now, in ms: every script starts with it. */
#define LUA_NOW                                                                                                        \
    "local t = redis.call('TIME')\n"                                                                                   \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: bucket, inflight, circuit. ARGV: generation id, submit (1/0), cap, refill per ms,
 * burst, lease ms, failures that open the circuit, probe ms.
 * Returns {verdict, at, now, failures, open_until, probe, last_failure}; verdict 0 go,
 * 1 circuit, 2 full, 3 wait. Nothing is written unless the request goes. */
static const char ADMIT_LUA[] = LUA_NOW
    "local c = redis.call('HMGET', KEYS[3], 'failures', 'open_until', 'probe_until', 'last_failure')\n"
    "local failures, open_until = tonumber(c[1]) or 0, tonumber(c[2]) or 0\n"
    "local last = c[4] or ''\n"
    "local probe = 0\n"
    "if failures >= tonumber(ARGV[7]) then\n"
    "  if now < open_until then return {1, open_until, now, failures, open_until, 0, last} end\n"
    "  if now < (tonumber(c[3]) or 0) then return {1, now + 1000, now, failures, open_until, 0, last} end\n"
    "  probe = 1\n"
    "end\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'refilled_at', 'blocked_until')\n"
    "local blocked = tonumber(b[3]) or 0\n"
    "if now < blocked then return {3, blocked, now, failures, open_until, 0, last} end\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "  if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then\n"
    "    return {2, 0, now, failures, open_until, 0, last}\n"
    "  end\n"
    "end\n"
    "local per_ms, burst = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local tokens, at = tonumber(b[1]) or burst, tonumber(b[2]) or now\n"
    "if now > at then tokens = tokens + (now - at) * per_ms end\n"
    "if tokens > burst then tokens = burst end\n"
    "if tokens < 1 then\n"
    "  return {3, now + math.floor((1 - tokens) / per_ms) + 1, now, failures, open_until, 0, last}\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'refilled_at', now)\n"
    "redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[1])\n"
    "if probe == 1 then redis.call('HSET', KEYS[3], 'probe_until', now + tonumber(ARGV[8])) end\n"
    "return {0, 0, now, failures, open_until, probe, last}\n";

/* KEYS: circuit. ARGV: ok (1/0), failure, failures that open, pause ms, longest pause ms.
 * Returns {now, failures before, failures, open_until, last_success_at, last_failure_at,
 * last_failure}. */
static const char RECORD_LUA[] =
    LUA_NOW "local before = tonumber(redis.call('HGET', KEYS[1], 'failures')) or 0\n"
            "if ARGV[1] == '1' then\n"
            "  redis.call('HSET', KEYS[1], 'failures', 0, 'open_until', 0, 'probe_until', 0, 'last_success_at', now)\n"
            "else\n"
            "  local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)\n"
            "  redis.call('HSET', KEYS[1], 'last_failure_at', now, 'last_failure', ARGV[2], 'probe_until', 0)\n"
            "  local opens = tonumber(ARGV[3])\n"
            "  if f >= opens then\n"
            "    local pause = tonumber(ARGV[4]) * 2 ^ math.min(f - opens, 4)\n"
            "    redis.call('HSET', KEYS[1], 'open_until', now + math.min(pause, tonumber(ARGV[5])))\n"
            "  end\n"
            "end\n"
            "local h = redis.call('HMGET', KEYS[1], 'failures', 'open_until', 'last_success_at', 'last_failure_at', "
            "'last_failure')\n"
            "return {now, before, tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0, tonumber(h[4]) or 0, "
            "h[5] or ''}\n";

/* KEYS: bucket. ARGV: wait ms. The bucket is emptied and blocked until then (a later
 * block already there stays). Returns {now, blocked_until}. */
static const char BLOCK_LUA[] = LUA_NOW "local untl = now + tonumber(ARGV[1])\n"
                                        "local b = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0\n"
                                        "if untl > b then redis.call('HSET', KEYS[1], 'blocked_until', untl) end\n"
                                        "redis.call('HSET', KEYS[1], 'tokens', 0, 'refilled_at', now)\n"
                                        "return {now, untl}\n";

/* KEYS: each job's inflight set. ARGV: each job's id, then ms. Only slots held are kept. */
static const char EXTEND_LUA[] = LUA_NOW "local keep = now + tonumber(ARGV[#ARGV])\n"
                                         "for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', keep, ARGV[i]) end\n"
                                         "return {now}\n";

enum script { SCRIPT_ADMIT, SCRIPT_RECORD, SCRIPT_BLOCK, SCRIPT_EXTEND, N_SCRIPTS };

static const char *const SCRIPTS[N_SCRIPTS] = {ADMIT_LUA, RECORD_LUA, BLOCK_LUA, EXTEND_LUA};

struct cluster_limits {
    struct redis_addr addr;
    struct redis_link link;
    char sha[N_SCRIPTS][41];
    int64_t retry_at; /* while disconnected: the next connect, not before */
    int backoff_ms;   /* the wait after the next failure */
    int shared;       /* 0 never used, 1 shared limits in force, -1 this process's own */
    char nkeys[16];   /* the key count of the command being sent */
};

struct cluster_limits *cluster_limits_open(const char *redis_url, char *err, size_t errlen)
{
    struct cluster_limits *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    if (redis_addr_parse(redis_url, &cl->addr, err, errlen) != 0) {
        free(cl);
        return NULL;
    }
    redis_link_init(&cl->link, "provider limits", &cl->addr);
    cl->backoff_ms = REDIS_BACKOFF_MIN_MS;
    return cl;
}

void cluster_limits_close(struct cluster_limits *cl)
{
    if (cl == NULL)
        return;
    redis_link_close(&cl->link);
    free(cl);
}

/* The mode in force, logged when it changes. */
static void set_shared(struct cluster_limits *cl, int shared)
{
    if (cl->shared == shared)
        return;
    if (shared > 0)
        log_info("worker: provider limits are shared through Redis at %s:%d%s", cl->addr.host, cl->addr.port,
                 cl->shared < 0 ? " again" : "");
    else
        log_warn("worker: provider limits: Redis does not answer; this worker keeps its own limits until it does");
    cl->shared = shared;
}

static int load_scripts(struct cluster_limits *cl)
{
    for (int i = 0; i < N_SCRIPTS; i++) {
        redisReply *r = redisCommand(cl->link.ctx, "SCRIPT LOAD %s", SCRIPTS[i]);
        bool ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40;
        if (ok)
            memcpy(cl->sha[i], r->str, 41);
        else
            redis_link_fail(&cl->link, r);
        freeReplyObject(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* A failure of the connection: down until the next try, after a capped backoff. */
static void went_down(struct cluster_limits *cl, const redisReply *r, int64_t now)
{
    if (cl->link.ctx != NULL)
        redis_link_fail(&cl->link, r);
    cl->retry_at = now + cl->backoff_ms;
    cl->backoff_ms = cl->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : cl->backoff_ms * 2;
    set_shared(cl, -1);
}

/* Whether a command may be sent now: connected (the scripts loaded), or connected now. */
static bool usable(struct cluster_limits *cl, int64_t now)
{
    if (cl->link.ctx != NULL)
        return true;
    if (now < cl->retry_at)
        return false;
    int rc = redis_link_connect(&cl->link, CLUSTER_LIMITS_TIMEOUT_MS);
    if (rc < 0 || (rc == 1 && load_scripts(cl) != 0)) {
        went_down(cl, NULL, now);
        return false;
    }
    cl->backoff_ms = REDIS_BACKOFF_MIN_MS;
    return true;
}

/* Runs script `s` with its keys and arguments (argv[0..2] are filled here: EVALSHA, the
 * sha, the key count). Reloads the scripts once on NOSCRIPT. The reply (an array) or NULL
 * when Redis cannot be used; the caller frees it. */
static redisReply *run(struct cluster_limits *cl, enum script s, int argc, const char **argv, size_t *lens, int nkeys,
                       int64_t now)
{
    if (!usable(cl, now))
        return NULL;
    snprintf(cl->nkeys, sizeof cl->nkeys, "%d", nkeys);
    argv[0] = "EVALSHA", argv[2] = cl->nkeys;
    for (int tries = 0; tries < 2; tries++) {
        argv[1] = cl->sha[s];
        for (int i = 0; i < 3; i++)
            lens[i] = strlen(argv[i]);
        redisReply *r = redisCommandArgv(cl->link.ctx, argc, argv, lens);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
            set_shared(cl, 1);
            return r;
        }
        bool noscript = r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
        if (!noscript || tries > 0 || load_scripts(cl) != 0) {
            if (r != NULL && r->type == REDIS_REPLY_ERROR)
                log_warn("worker: provider limits: Redis answered %s", r->str);
            went_down(cl, r, now);
            freeReplyObject(r);
            return NULL;
        }
        freeReplyObject(r);
    }
    return NULL;
}

static void key_of(char *buf, const char *provider, const char *what)
{
    snprintf(buf, KEY_MAX, "vidgen:limit:%s:%s", provider, what);
}

static long long int_at(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0;
}

static void str_at(const redisReply *r, size_t i, char *out, size_t cap)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;
    snprintf(out, cap, "%s", e != NULL && e->type == REDIS_REPLY_STRING ? e->str : "");
}

/* A time Redis gave (0: none), on this process's clock. */
static int64_t local_time(long long t, long long redis_now, int64_t now)
{
    return t == 0 ? 0 : (int64_t)t - redis_now + now;
}

int cluster_limits_admit(struct cluster_limits *cl, const char *provider, const char *gen_id, bool submit,
                         const struct cluster_rules *rules, int64_t now, struct cluster_admission *out)
{
    char keys[3][KEY_MAX], args[7][32];
    const char *argv[14];
    size_t lens[14];
    key_of(keys[0], provider, "bucket");
    key_of(keys[1], provider, "inflight");
    key_of(keys[2], provider, "circuit");
    snprintf(args[0], sizeof args[0], "%d", submit ? 1 : 0);
    snprintf(args[1], sizeof args[1], "%d", rules->max_in_flight);
    snprintf(args[2], sizeof args[2], "%.17g", rules->per_ms);
    snprintf(args[3], sizeof args[3], "%.17g", rules->burst);
    snprintf(args[4], sizeof args[4], "%lld", (long long)rules->lease_ms);
    snprintf(args[5], sizeof args[5], "%d", rules->circuit_failures);
    snprintf(args[6], sizeof args[6], "%d", PROBE_MS);
    for (int i = 0; i < 3; i++)
        argv[3 + i] = keys[i];
    argv[6] = gen_id;
    for (int i = 0; i < 7; i++)
        argv[7 + i] = args[i];
    for (int i = 3; i < 14; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = run(cl, SCRIPT_ADMIT, 14, argv, lens, 3, now);
    if (r == NULL)
        return -1;
    long long redis_now = int_at(r, 2);
    out->verdict = (enum cluster_verdict)int_at(r, 0);
    out->at = local_time(int_at(r, 1), redis_now, now);
    out->failures = (int)int_at(r, 3);
    out->open_until = local_time(int_at(r, 4), redis_now, now);
    out->probe = int_at(r, 5) != 0;
    str_at(r, 6, out->last_failure, sizeof out->last_failure);
    if (out->verdict > CLUSTER_WAIT)
        out->verdict = CLUSTER_WAIT;
    freeReplyObject(r);
    return 0;
}

int cluster_limits_record(struct cluster_limits *cl, const char *provider, bool ok, const char *failure,
                          const struct cluster_rules *rules, int64_t pause_ms, int64_t max_pause_ms, int64_t now,
                          struct provider_health *h, int *prev_failures)
{
    char key[KEY_MAX], args[4][32];
    const char *argv[9];
    size_t lens[9];
    key_of(key, provider, "circuit");
    snprintf(args[0], sizeof args[0], "%d", ok ? 1 : 0);
    snprintf(args[1], sizeof args[1], "%d", rules->circuit_failures);
    snprintf(args[2], sizeof args[2], "%lld", (long long)pause_ms);
    snprintf(args[3], sizeof args[3], "%lld", (long long)max_pause_ms);
    argv[3] = key, argv[4] = args[0], argv[5] = failure ? failure : "", argv[6] = args[1], argv[7] = args[2],
    argv[8] = args[3];
    for (int i = 3; i < 9; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = run(cl, SCRIPT_RECORD, 9, argv, lens, 1, now);
    if (r == NULL)
        return -1;
    long long redis_now = int_at(r, 0);
    *prev_failures = (int)int_at(r, 1);
    h->failures = (int)int_at(r, 2);
    h->open_until = local_time(int_at(r, 3), redis_now, now);
    h->last_success_at = local_time(int_at(r, 4), redis_now, now);
    h->last_failure_at = local_time(int_at(r, 5), redis_now, now);
    str_at(r, 6, h->last_failure, sizeof h->last_failure);
    freeReplyObject(r);
    return 0;
}

int cluster_limits_block(struct cluster_limits *cl, const char *provider, int64_t wait_ms, int64_t now)
{
    char key[KEY_MAX], ms[32];
    const char *argv[5];
    size_t lens[5];
    key_of(key, provider, "bucket");
    snprintf(ms, sizeof ms, "%lld", (long long)(wait_ms > 0 ? wait_ms : 0));
    argv[3] = key, argv[4] = ms;
    lens[3] = strlen(key), lens[4] = strlen(ms);
    redisReply *r = run(cl, SCRIPT_BLOCK, 5, argv, lens, 1, now);
    freeReplyObject(r);
    return r == NULL ? -1 : 0;
}

int cluster_limits_extend(struct cluster_limits *cl, int n, const char *const *providers, const char *const *ids,
                          int64_t ms, int64_t now)
{
    if (n <= 0)
        return 0;
    int argc = 3 + 2 * n + 1, rc = -1;
    const char **argv = calloc((size_t)argc, sizeof *argv);
    size_t *lens = calloc((size_t)argc, sizeof *lens);
    char(*keys)[KEY_MAX] = calloc((size_t)n, KEY_MAX);
    char msbuf[32];
    if (argv == NULL || lens == NULL || keys == NULL)
        goto done;
    snprintf(msbuf, sizeof msbuf, "%lld", (long long)ms);
    for (int i = 0; i < n; i++) {
        key_of(keys[i], providers[i], "inflight");
        argv[3 + i] = keys[i];
        argv[3 + n + i] = ids[i];
    }
    argv[argc - 1] = msbuf;
    for (int i = 3; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = run(cl, SCRIPT_EXTEND, argc, argv, lens, n, now);
    if (r != NULL)
        rc = 0;
    freeReplyObject(r);
done:
    free(keys);
    free(lens);
    free(argv);
    return rc;
}

int cluster_limits_release(struct cluster_limits *cl, const char *provider, const char *gen_id, int64_t now)
{
    char key[KEY_MAX];
    if (!usable(cl, now))
        return -1;
    key_of(key, provider, "inflight");
    redisReply *r = redisCommand(cl->link.ctx, "ZREM %s %s", key, gen_id);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        went_down(cl, r, now);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}
