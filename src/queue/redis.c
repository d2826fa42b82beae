/* The Redis queue: wake-ups carried by a Redis stream, so that a push made by any process of
 * any host wakes a worker somewhere.
 *
 * A push appends the generation id to the stream REDIS_QUEUE_STREAM (XADD, capped with
 * MAXLEN ~: old entries are of no use once read). Every process with a worker reads it
 * through the consumer group REDIS_QUEUE_GROUP under a consumer name of its own, so each
 * wake-up goes to one worker; the reader wakes its worker and then acknowledges (XACK).
 * A wake-up read by a worker that died before its XACK stays pending on that consumer:
 * every reader takes over entries pending longer than REDIS_QUEUE_CLAIM_IDLE_MS (XAUTOCLAIM)
 * and wakes its own worker with them.
 *
 * The store stays the source of truth: a wake-up lost with Redis (down, restarted empty, a
 * full buffer) costs the delay until a worker's next sweep of the store, never a job.
 *
 * Threads: push and health never touch the network, so an HTTP loop may call them. Ids go
 * into a bounded ring that the sender thread sends (it PINGs Redis when idle, which keeps
 * the health current); a full ring drops new ids with one log line. The reader thread is
 * started by the first subscribe and blocks in XREADGROUP. Each thread has its own
 * connection, and reconnects by itself with a capped backoff. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "util/id.h"
#include "util/log.h"
#include "util/redis_link.h"

#define REDIS_QUEUE_STREAM "vidgen:queue"
#define REDIS_QUEUE_GROUP "workers"
#define REDIS_QUEUE_MAXLEN "10000"     /* entries kept in the stream, about */
#define REDIS_QUEUE_RING 4096          /* ids waiting for the sender; more are dropped */
#define REDIS_QUEUE_BATCH 64           /* ids per round trip, sent or read */
#define REDIS_QUEUE_ID_MAX 63          /* longer ids are not generation ids: dropped */
#define REDIS_QUEUE_BLOCK_MS 1000      /* XREADGROUP BLOCK; a stop waits at most this */
#define REDIS_QUEUE_TIMEOUT_MS 3000    /* connect and command timeout, above the block */
#define REDIS_QUEUE_PING_MS 1000       /* the sender's PING when idle */
#define REDIS_QUEUE_CLAIM_IDLE_MS 5000 /* a wake-up pending this long was left by a dead reader */
#define REDIS_QUEUE_CLAIM_EVERY_MS 1000
#define REDIS_QUEUE_MAX_SUBSCRIBERS 16
#define REDIS_QUEUE_FORGET_IDLE_MS (10 * 60 * 1000) /* a reader silent this long, with nothing pending, is gone */
#define REDIS_QUEUE_FORGET_EVERY_MS (60 * 1000)

struct redis_queue {
    struct queue base;
    struct redis_addr addr;
    char consumer[128]; /* this process's name in the group */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a push, a subscribe, or the stop; under lock */
    char (*ring)[REDIS_QUEUE_ID_MAX + 1];
    size_t head, count; /* under lock */
    int dropping;       /* the ring is full and that was logged; under lock */
    struct {
        void (*wake)(void *arg);
        void *arg;
    } subs[REDIS_QUEUE_MAX_SUBSCRIBERS];
    int n;              /* under lock */
    int reader_started; /* under lock */
    atomic_bool stop;
    pthread_t sender, reader;
    struct redis_link send_link, read_link; /* each its thread's */
};

/* Wakes every local subscriber. Under lock, as the in-process queue does. */
static void wake_all(struct redis_queue *rq)
{
    pthread_mutex_lock(&rq->lock);
    for (int i = 0; i < rq->n; i++)
        rq->subs[i].wake(rq->subs[i].arg);
    pthread_mutex_unlock(&rq->lock);
}

/* The group, created with the stream when missing (Redis restarted empty, or a first
 * start), reading from the stream's start so that no entry added meanwhile is missed. */
static int ensure_group(struct redis_link *l)
{
    redisReply *r = redisCommand(l->ctx, "XGROUP CREATE %s %s 0 MKSTREAM", REDIS_QUEUE_STREAM, REDIS_QUEUE_GROUP);
    int ok = r != NULL && (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0);
    if (!ok)
        redis_link_fail(l, r);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Names this reader in the group at once (Redis would only on its first delivery), so that
 * an operator sees every worker listening (XINFO CONSUMERS). */
static int join_group(struct redis_queue *rq)
{
    struct redis_link *l = &rq->read_link;
    redisReply *r =
        redisCommand(l->ctx, "XGROUP CREATECONSUMER %s %s %s", REDIS_QUEUE_STREAM, REDIS_QUEUE_GROUP, rq->consumer);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        redis_link_fail(l, r);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Takes up to a batch of ids from the ring's head (they stay there until sent), waiting
 * up to REDIS_QUEUE_PING_MS for one. */
static size_t peek_batch(struct redis_queue *rq, char (*ids)[REDIS_QUEUE_ID_MAX + 1])
{
    size_t n;
    pthread_mutex_lock(&rq->lock);
    if (rq->count == 0 && !atomic_load(&rq->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += REDIS_QUEUE_PING_MS / 1000;
        pthread_cond_timedwait(&rq->cond, &rq->lock, &until);
    }
    n = rq->count < REDIS_QUEUE_BATCH ? rq->count : REDIS_QUEUE_BATCH;
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], rq->ring[(rq->head + i) % REDIS_QUEUE_RING], sizeof ids[i]);
    pthread_mutex_unlock(&rq->lock);
    return n;
}

static void drop_batch(struct redis_queue *rq, size_t n)
{
    pthread_mutex_lock(&rq->lock);
    rq->head = (rq->head + n) % REDIS_QUEUE_RING;
    rq->count -= n;
    if (rq->dropping && rq->count < REDIS_QUEUE_RING / 2) {
        rq->dropping = 0;
        log_info("redis: queue: wake-ups are buffered again");
    }
    pthread_mutex_unlock(&rq->lock);
}

/* Sends n ids in one round trip (pipelined XADDs). -1 when the link failed. */
static int send_batch(struct redis_link *l, char (*ids)[REDIS_QUEUE_ID_MAX + 1], size_t n)
{
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(l->ctx, "XADD %s MAXLEN ~ %s * g %s", REDIS_QUEUE_STREAM, REDIS_QUEUE_MAXLEN, ids[i]);
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(l->ctx, (void **)&r) != REDIS_OK || r == NULL || r->type == REDIS_REPLY_ERROR) {
            redis_link_fail(l, r);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

static int ping(struct redis_link *l)
{
    redisReply *r = redisCommand(l->ctx, "PING");
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        redis_link_fail(l, r);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static void *sender_main(void *arg)
{
    struct redis_queue *rq = arg;
    struct redis_link *l = &rq->send_link;
    char(*ids)[REDIS_QUEUE_ID_MAX + 1] = malloc(REDIS_QUEUE_BATCH * sizeof *ids);
    while (ids != NULL && !atomic_load(&rq->stop)) {
        int c = redis_link_connect(l, REDIS_QUEUE_TIMEOUT_MS);
        if (c < 0 || (c == 1 && ensure_group(l) != 0)) {
            redis_link_wait(l, &rq->stop);
            continue;
        }
        size_t n = peek_batch(rq, ids);
        if (n == 0)
            ping(l);
        else if (send_batch(l, ids, n) == 0)
            drop_batch(rq, n);
    }
    if (ids == NULL)
        log_error("redis: queue: out of memory; pushes wait for the workers' sweep");
    free(ids);
    return NULL;
}

/* The ids of a list of stream entries ([[id, [field, value]] …]) into argv from argv[*argc]. */
static void entry_ids(const redisReply *entries, const char **argv, int *argc)
{
    for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (*argc < REDIS_QUEUE_BATCH + 3 && e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
            e->element[0]->type == REDIS_REPLY_STRING)
            argv[(*argc)++] = e->element[0]->str;
    }
}

/* Wakes the local worker, then acknowledges the entries in argv[3..argc). */
static int wake_and_ack(struct redis_queue *rq, const char **argv, int argc)
{
    struct redis_link *l = &rq->read_link;
    if (argc == 3)
        return 0;
    wake_all(rq);
    argv[0] = "XACK", argv[1] = REDIS_QUEUE_STREAM, argv[2] = REDIS_QUEUE_GROUP;
    redisReply *r = redisCommandArgv(l->ctx, argc, argv, NULL);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        redis_link_fail(l, r);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Takes over the wake-ups that a reader which stopped (killed, or cut off) left pending. */
static int claim_abandoned(struct redis_queue *rq)
{
    struct redis_link *l = &rq->read_link;
    const char *argv[REDIS_QUEUE_BATCH + 3];
    int argc = 3;
    redisReply *r = redisCommand(l->ctx, "XAUTOCLAIM %s %s %s %d 0-0 COUNT %d", REDIS_QUEUE_STREAM, REDIS_QUEUE_GROUP,
                                 rq->consumer, REDIS_QUEUE_CLAIM_IDLE_MS, REDIS_QUEUE_BATCH);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
            freeReplyObject(r);
            return ensure_group(l);
        }
        redis_link_fail(l, r);
        freeReplyObject(r);
        return -1;
    }
    entry_ids(r->element[1], argv, &argc);
    if (argc > 3)
        log_info("redis: queue: %d wake-up(s) left unacknowledged by a reader that stopped are taken over", argc - 3);
    int rc = wake_and_ack(rq, argv, argc);
    freeReplyObject(r);
    return rc;
}

/* One field of an XINFO CONSUMERS entry ([name, v, pending, v, idle, v …]); NULL if absent. */
static const redisReply *consumer_field(const redisReply *c, const char *name)
{
    for (size_t i = 0; c->type == REDIS_REPLY_ARRAY && i + 1 < c->elements; i += 2)
        if (c->element[i]->type == REDIS_REPLY_STRING && strcmp(c->element[i]->str, name) == 0)
            return c->element[i + 1];
    return NULL;
}

/* Removes from the group the readers of processes that were killed (a clean stop leaves by
 * itself): those silent for REDIS_QUEUE_FORGET_IDLE_MS with nothing pending. Harmless if one
 * was alive after all: Redis names it again on its next read. */
static void forget_dead_readers(struct redis_queue *rq)
{
    struct redis_link *l = &rq->read_link;
    redisReply *r = redisCommand(l->ctx, "XINFO CONSUMERS %s %s", REDIS_QUEUE_STREAM, REDIS_QUEUE_GROUP);
    if (r == NULL) {
        redis_link_fail(l, r);
        return;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *name = consumer_field(r->element[i], "name");
        const redisReply *pending = consumer_field(r->element[i], "pending");
        const redisReply *idle = consumer_field(r->element[i], "idle");
        if (name == NULL || name->type != REDIS_REPLY_STRING || pending == NULL ||
            pending->type != REDIS_REPLY_INTEGER || idle == NULL || idle->type != REDIS_REPLY_INTEGER ||
            pending->integer != 0 || idle->integer < REDIS_QUEUE_FORGET_IDLE_MS || strcmp(name->str, rq->consumer) == 0)
            continue;
        freeReplyObject(
            redisCommand(l->ctx, "XGROUP DELCONSUMER %s %s %s", REDIS_QUEUE_STREAM, REDIS_QUEUE_GROUP, name->str));
        log_info("redis: queue: the reader %s, silent and with nothing pending, is removed from the group", name->str);
    }
    freeReplyObject(r);
}

/* One XREADGROUP: blocks up to REDIS_QUEUE_BLOCK_MS for new entries, wakes, acknowledges. */
static int read_once(struct redis_queue *rq)
{
    struct redis_link *l = &rq->read_link;
    const char *argv[REDIS_QUEUE_BATCH + 3];
    int argc = 3, rc = 0;
    redisReply *r = redisCommand(l->ctx, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >", REDIS_QUEUE_GROUP,
                                 rq->consumer, REDIS_QUEUE_BATCH, REDIS_QUEUE_BLOCK_MS, REDIS_QUEUE_STREAM);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0)
        rc = ensure_group(l); /* Redis lost the stream (restarted empty) */
    else if (r == NULL || r->type == REDIS_REPLY_ERROR)
        redis_link_fail(l, r), rc = -1;
    else if (r->type == REDIS_REPLY_ARRAY) /* [[stream, entries]]; nil when nothing came */
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements == 2)
                entry_ids(r->element[i]->element[1], argv, &argc);
    if (rc == 0 && argc > 3)
        rc = wake_and_ack(rq, argv, argc);
    freeReplyObject(r);
    return rc;
}

/* Leaves the group on a clean stop, so consumer names do not pile up across restarts. */
static void leave_group(struct redis_queue *rq)
{
    if (rq->read_link.ctx != NULL)
        freeReplyObject(redisCommand(rq->read_link.ctx, "XGROUP DELCONSUMER %s %s %s", REDIS_QUEUE_STREAM,
                                     REDIS_QUEUE_GROUP, rq->consumer));
}

/* Whether a worker listens here; waits a while for one when none does (after a worker's
 * stop nothing is read: a wake-up read here would reach nobody). */
static bool has_subscriber(struct redis_queue *rq)
{
    pthread_mutex_lock(&rq->lock);
    if (rq->n == 0 && !atomic_load(&rq->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&rq->cond, &rq->lock, &until);
    }
    bool any = rq->n > 0;
    pthread_mutex_unlock(&rq->lock);
    return any;
}

static void *reader_main(void *arg)
{
    struct redis_queue *rq = arg;
    struct redis_link *l = &rq->read_link;
    int64_t next_claim = 0, next_forget = clock_monotonic_ms() + REDIS_QUEUE_FORGET_EVERY_MS;
    while (!atomic_load(&rq->stop)) {
        if (!has_subscriber(rq))
            continue;
        int c = redis_link_connect(l, REDIS_QUEUE_TIMEOUT_MS);
        if (c < 0 || (c == 1 && (ensure_group(l) != 0 || join_group(rq) != 0))) {
            redis_link_wait(l, &rq->stop);
            continue;
        }
        if (clock_monotonic_ms() >= next_claim) {
            next_claim = clock_monotonic_ms() + REDIS_QUEUE_CLAIM_EVERY_MS;
            if (claim_abandoned(rq) != 0)
                continue;
        }
        if (clock_monotonic_ms() >= next_forget) {
            next_forget = clock_monotonic_ms() + REDIS_QUEUE_FORGET_EVERY_MS;
            forget_dead_readers(rq);
            if (l->ctx == NULL)
                continue;
        }
        read_once(rq);
    }
    leave_group(rq);
    return NULL;
}

/* Never waits on the network: the id goes to the sender's ring. The local worker (if any)
 * is woken at once as well, so a process with a worker does not wait for Redis. */
static void redis_push(struct queue *q, const char *generation_id)
{
    struct redis_queue *rq = (struct redis_queue *)q;
    size_t len = strlen(generation_id);
    if (len == 0 || len > REDIS_QUEUE_ID_MAX) {
        log_warn("redis: queue: a push with a malformed id is dropped");
        return;
    }
    pthread_mutex_lock(&rq->lock);
    if (rq->count < REDIS_QUEUE_RING) {
        memcpy(rq->ring[(rq->head + rq->count++) % REDIS_QUEUE_RING], generation_id, len + 1);
        pthread_cond_broadcast(&rq->cond);
    } else if (!rq->dropping) {
        rq->dropping = 1;
        log_warn("redis: queue: %d wake-ups wait for Redis; new ones are dropped (workers find those jobs by "
                 "sweeping the database)",
                 REDIS_QUEUE_RING);
    }
    for (int i = 0; i < rq->n; i++)
        rq->subs[i].wake(rq->subs[i].arg);
    pthread_mutex_unlock(&rq->lock);
}

static int redis_subscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    struct redis_queue *rq = (struct redis_queue *)q;
    int rc = -1;
    pthread_mutex_lock(&rq->lock);
    if (!rq->reader_started) {
        if (pthread_create(&rq->reader, NULL, reader_main, rq) != 0)
            log_error("redis: queue: cannot start the reader thread; this worker relies on its sweep");
        else
            rq->reader_started = 1;
    }
    if (rq->n < REDIS_QUEUE_MAX_SUBSCRIBERS) {
        rq->subs[rq->n].wake = wake, rq->subs[rq->n].arg = arg, rq->n++;
        pthread_cond_broadcast(&rq->cond);
        rc = 0;
    }
    pthread_mutex_unlock(&rq->lock);
    return rc;
}

static void redis_unsubscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    struct redis_queue *rq = (struct redis_queue *)q;
    pthread_mutex_lock(&rq->lock);
    for (int i = 0; i < rq->n; i++)
        if (rq->subs[i].wake == wake && rq->subs[i].arg == arg) {
            rq->subs[i] = rq->subs[--rq->n];
            break;
        }
    pthread_mutex_unlock(&rq->lock);
}

static enum queue_health redis_health(struct queue *q, char *why, size_t len)
{
    struct redis_queue *rq = (struct redis_queue *)q;
    return redis_link_up(&rq->send_link, why, len) ? QUEUE_UP : QUEUE_DOWN;
}

static void redis_close(struct queue *q)
{
    struct redis_queue *rq = (struct redis_queue *)q;
    atomic_store(&rq->stop, true);
    pthread_mutex_lock(&rq->lock);
    pthread_cond_broadcast(&rq->cond);
    int reader = rq->reader_started;
    pthread_mutex_unlock(&rq->lock);
    pthread_join(rq->sender, NULL);
    if (reader)
        pthread_join(rq->reader, NULL);
    redis_link_close(&rq->send_link);
    redis_link_close(&rq->read_link);
    pthread_cond_destroy(&rq->cond);
    pthread_mutex_destroy(&rq->lock);
    free(rq->ring);
    free(rq);
}

static const struct queue_ops redis_ops = {redis_push, redis_subscribe, redis_unsubscribe, redis_health, redis_close};

struct queue *queue_redis_open(const char *redis_url, char *err, size_t errlen)
{
    struct redis_queue *rq = calloc(1, sizeof *rq);
    char host[64] = "";
    if (rq == NULL || (rq->ring = malloc(REDIS_QUEUE_RING * sizeof *rq->ring)) == NULL) {
        free(rq);
        return snprintf(err, errlen, "out of memory"), NULL;
    }
    if (redis_addr_parse(redis_url, &rq->addr, err, errlen) != 0) {
        free(rq->ring);
        free(rq);
        return NULL;
    }
    rq->base.ops = &redis_ops;
    gethostname(host, sizeof host - 1);
    snprintf(rq->consumer, sizeof rq->consumer, "%s:%ld:%lld", host, (long)getpid(), (long long)clock_monotonic_ms());
    pthread_mutex_init(&rq->lock, NULL);
    pthread_cond_init(&rq->cond, NULL);
    redis_link_init(&rq->send_link, "queue", &rq->addr);
    redis_link_init(&rq->read_link, "queue reader", &rq->addr);
    if (pthread_create(&rq->sender, NULL, sender_main, rq) != 0) {
        redis_link_close(&rq->send_link);
        redis_link_close(&rq->read_link);
        pthread_cond_destroy(&rq->cond);
        pthread_mutex_destroy(&rq->lock);
        free(rq->ring);
        free(rq);
        return snprintf(err, errlen, "cannot start the Redis queue's thread"), NULL;
    }
    return &rq->base;
}
