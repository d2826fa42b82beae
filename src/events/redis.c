/* The Redis backend of the events bus: every process appends its publications to one Redis
 * stream and each server reads it from where it last was, so a change made by a worker on
 * one host reaches the event streams open on every other.
 *
 * A publication is delivered to this process's loops at once (the local delivery), and
 * queued for the publisher thread, which appends it (XADD, trimmed to about
 * EVENTS_REDIS_KEEP entries) as one field
 *     "<origin>\n<user id>\n<event>\n<json>"
 * to EVENTS_REDIS_STREAM in the database of REDIS_URL. The listener thread reads the stream
 * (XREAD BLOCK, no consumer group: every server sees every entry) after the last entry it
 * relayed, and relays each to this process's loops, skipping its own publications (origin =
 * this process), which its loops already had.
 *
 * Why a stream and not pub/sub: pub/sub forgets what it carries while a subscriber is
 * reconnecting, so a Redis restart, or a server's connection dropping, would lose the end
 * of every job that finished meanwhile from every open event stream. Here a publisher keeps
 * what it could not send and sends it once it has reconnected, and a listener that
 * reconnects carries on after the last entry it saw (entry ids grow with Redis's clock, so
 * this holds across a restart of Redis that emptied the stream as well).
 *
 * Nothing here waits on the network on a publisher's thread: a full queue drops new
 * publications with one log line. Both threads reconnect by themselves (capped backoff,
 * logged once per change). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/backend.h"
#include "util/log.h"
#include "util/redis_link.h"

#define EVENTS_REDIS_STREAM "vidgen:events"
#define EVENTS_REDIS_KEEP "10000"    /* entries the stream keeps, about (MAXLEN ~) */
#define EVENTS_REDIS_READ "256"      /* entries per XREAD */
#define EVENTS_REDIS_PENDING 4096    /* publications waiting for the publisher; more are dropped */
#define EVENTS_REDIS_BATCH 64        /* publications per round trip */
#define EVENTS_REDIS_TIMEOUT_MS 3000 /* connect and command timeout */
#define EVENTS_REDIS_PING_MS 1000    /* the publisher's PING when idle (keeps the health current) */
#define EVENTS_REDIS_BLOCK "500"     /* ms the listener's XREAD waits for an entry; a stop waits at most this */

struct outgoing {
    struct outgoing *next;
    size_t len;
    char payload[];
};

struct redis_events {
    struct events_bus *bus; /* borrowed: the bus owns this */
    struct redis_addr addr;
    char origin[96];  /* this process, unique among the publishers */
    char last_id[64]; /* the listener's: the last entry relayed ("" = none yet); its thread's */
    pthread_mutex_t lock;
    pthread_cond_t cond;           /* a publication, or the stop; under lock */
    struct outgoing *head, **tail; /* under lock */
    size_t pending;                /* under lock */
    int dropping;                  /* a full queue was logged; under lock */
    atomic_bool stop;
    int listening; /* the listener thread runs */
    pthread_t publisher, listener;
    struct redis_link pub_link, sub_link; /* each its thread's */
};

/* Takes up to a batch of publications, waiting up to EVENTS_REDIS_PING_MS for one. */
static size_t take_batch(struct redis_events *re, struct outgoing **batch)
{
    size_t n = 0;
    pthread_mutex_lock(&re->lock);
    if (re->head == NULL && !atomic_load(&re->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += EVENTS_REDIS_PING_MS / 1000;
        pthread_cond_timedwait(&re->cond, &re->lock, &until);
    }
    while (re->head != NULL && n < EVENTS_REDIS_BATCH) {
        batch[n++] = re->head;
        if ((re->head = re->head->next) == NULL)
            re->tail = &re->head;
    }
    re->pending -= n;
    if (re->dropping && re->pending < EVENTS_REDIS_PENDING / 2) {
        re->dropping = 0;
        log_info("redis: events: publications are queued again");
    }
    pthread_mutex_unlock(&re->lock);
    return n;
}

/* Puts batch[from..n) back at the head of the queue, in order: sent again after a reconnect.
 * (One whose reply alone was lost is sent twice; an event says a generation's current state,
 * so a repeat changes nothing a client shows.) */
static void requeue(struct redis_events *re, struct outgoing **batch, size_t from, size_t n)
{
    pthread_mutex_lock(&re->lock);
    for (size_t i = n; i-- > from;) {
        batch[i]->next = re->head;
        if (re->head == NULL)
            re->tail = &batch[i]->next;
        re->head = batch[i];
        re->pending++;
    }
    pthread_mutex_unlock(&re->lock);
}

/* Sends a batch in one round trip (pipelined XADDs); frees what Redis took, requeues the rest. */
static void send_batch(struct redis_events *re, struct outgoing **batch, size_t n)
{
    struct redis_link *l = &re->pub_link;
    size_t i;
    for (i = 0; i < n; i++)
        redisAppendCommand(l->ctx, "XADD " EVENTS_REDIS_STREAM " MAXLEN ~ " EVENTS_REDIS_KEEP " * e %b",
                           batch[i]->payload, batch[i]->len);
    for (i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(l->ctx, (void **)&r) != REDIS_OK || r == NULL || r->type == REDIS_REPLY_ERROR) {
            redis_link_fail(l, r);
            freeReplyObject(r);
            requeue(re, batch, i, n);
            return;
        }
        freeReplyObject(r);
        free(batch[i]);
    }
}

static void ping(struct redis_link *l)
{
    redisReply *r = redisCommand(l->ctx, "PING");
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        redis_link_fail(l, r);
    freeReplyObject(r);
}

static void *publisher_main(void *arg)
{
    struct redis_events *re = arg;
    struct outgoing *batch[EVENTS_REDIS_BATCH];
    while (!atomic_load(&re->stop)) {
        if (redis_link_connect(&re->pub_link, EVENTS_REDIS_TIMEOUT_MS) < 0) {
            redis_link_wait(&re->pub_link, &re->stop);
            continue;
        }
        size_t n = take_batch(re, batch);
        if (n == 0)
            ping(&re->pub_link);
        else
            send_batch(re, batch, n);
    }
    /* A stopping worker's last changes are still sent, while the connection holds. */
    for (size_t n; re->pub_link.ctx != NULL && (n = take_batch(re, batch)) > 0;)
        send_batch(re, batch, n);
    return NULL;
}

/* One entry of the stream ([id, [field, value]]): relayed to this process's loops unless it
 * came from here; its id becomes the last one read either way. */
static void relay(struct redis_events *re, const redisReply *entry)
{
    char *fields[4], *p;
    const redisReply *kv;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[0]->len >= sizeof re->last_id)
        return;
    snprintf(re->last_id, sizeof re->last_id, "%s", entry->element[0]->str);
    kv = entry->element[1];
    if (kv->type != REDIS_REPLY_ARRAY || kv->elements != 2 || kv->element[1]->type != REDIS_REPLY_STRING) {
        log_warn("redis: events: a malformed entry in " EVENTS_REDIS_STREAM " is ignored");
        return;
    }
    if ((p = strndup(kv->element[1]->str, kv->element[1]->len)) == NULL)
        return;
    fields[0] = p;
    for (int i = 1; i < 4; i++) {
        char *nl = fields[i - 1] ? strchr(fields[i - 1], '\n') : NULL;
        fields[i] = nl ? (*nl = '\0', nl + 1) : NULL;
    }
    if (fields[3] == NULL || !events_well_formed(fields[1], fields[2]))
        log_warn("redis: events: a malformed entry in " EVENTS_REDIS_STREAM " is ignored");
    else if (strcmp(fields[0], re->origin) != 0)
        events_deliver_local(re->bus, fields[1], fields[2], fields[3]);
    free(p);
}

/* The first time: where the stream ends now (what was published before this process
 * started is not for it). */
static int find_start(struct redis_events *re)
{
    struct redis_link *l = &re->sub_link;
    redisReply *r = redisCommand(l->ctx, "XREVRANGE " EVENTS_REDIS_STREAM " + - COUNT 1");
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        redis_link_fail(l, r);
        freeReplyObject(r);
        return -1;
    }
    const redisReply *e = r->elements == 1 ? r->element[0] : NULL;
    if (e != NULL && e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[0]->type == REDIS_REPLY_STRING &&
        e->element[0]->len < sizeof re->last_id)
        snprintf(re->last_id, sizeof re->last_id, "%s", e->element[0]->str);
    else
        snprintf(re->last_id, sizeof re->last_id, "0-0");
    freeReplyObject(r);
    return 0;
}

/* Reads the stream after the last entry relayed until the connection fails or the stop;
 * each XREAD waits at most EVENTS_REDIS_BLOCK ms, so a stop is never held up for long. */
static void listen_until_failure(struct redis_events *re)
{
    struct redis_link *l = &re->sub_link;
    if (re->last_id[0] == '\0' && find_start(re) != 0)
        return;
    while (!atomic_load(&re->stop)) {
        redisReply *r = redisCommand(
            l->ctx, "XREAD COUNT " EVENTS_REDIS_READ " BLOCK " EVENTS_REDIS_BLOCK " STREAMS " EVENTS_REDIS_STREAM " %s",
            re->last_id);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            redis_link_fail(l, r);
            freeReplyObject(r);
            return;
        }
        /* [[stream, [entry, …]]], or nil when nothing came */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++)
                relay(re, entries->element[i]);
        }
        freeReplyObject(r);
    }
}

static void *listener_main(void *arg)
{
    struct redis_events *re = arg;
    while (!atomic_load(&re->stop)) {
        if (redis_link_connect(&re->sub_link, EVENTS_REDIS_TIMEOUT_MS) < 0) {
            redis_link_wait(&re->sub_link, &re->stop);
            continue;
        }
        listen_until_failure(re);
    }
    return NULL;
}

/* Delivers here at once and queues the publication for the other processes. */
static void redis_publish(struct events_bus *bus, const char *user_id, const char *event, const char *json)
{
    struct redis_events *re = events_bus_backend(bus);
    events_deliver_local(bus, user_id, event, json);
    size_t len = strlen(re->origin) + strlen(user_id) + strlen(event) + strlen(json) + 3;
    struct outgoing *o = malloc(sizeof *o + len + 1);
    if (o == NULL) {
        log_warn("redis: events: out of memory; an event is not sent to the other processes");
        return;
    }
    o->next = NULL;
    o->len = (size_t)snprintf(o->payload, len + 1, "%s\n%s\n%s\n%s", re->origin, user_id, event, json);
    pthread_mutex_lock(&re->lock);
    if (re->pending < EVENTS_REDIS_PENDING) {
        *re->tail = o, re->tail = &o->next, re->pending++;
        o = NULL;
        pthread_cond_broadcast(&re->cond);
    } else if (!re->dropping) {
        re->dropping = 1;
        log_warn("redis: events: %d publications wait for Redis; new ones are dropped", EVENTS_REDIS_PENDING);
    }
    pthread_mutex_unlock(&re->lock);
    free(o);
}

static bool redis_wanted(struct events_bus *bus)
{
    (void)bus;
    return true; /* streams of other processes are not counted here */
}

static enum events_health redis_health(struct events_bus *bus, char *why, size_t len)
{
    struct redis_events *re = events_bus_backend(bus);
    if (!redis_link_up(&re->pub_link, why, len))
        return EVENTS_DOWN;
    if (re->listening && !redis_link_up(&re->sub_link, why, len))
        return EVENTS_DOWN;
    return EVENTS_UP;
}

static void redis_close(struct events_bus *bus)
{
    struct redis_events *re = events_bus_backend(bus);
    atomic_store(&re->stop, true);
    pthread_mutex_lock(&re->lock);
    pthread_cond_broadcast(&re->cond);
    pthread_mutex_unlock(&re->lock);
    pthread_join(re->publisher, NULL);
    if (re->listening)
        pthread_join(re->listener, NULL);
    while (re->head != NULL) {
        struct outgoing *o = re->head;
        re->head = o->next;
        free(o);
    }
    redis_link_close(&re->pub_link);
    redis_link_close(&re->sub_link);
    pthread_cond_destroy(&re->cond);
    pthread_mutex_destroy(&re->lock);
    free(re);
}

const struct events_bus_ops events_redis_ops = {redis_publish, redis_wanted, redis_health, redis_close};

void *events_redis_open(struct events_bus *bus, const char *redis_url, bool listen, char *err, size_t errlen)
{
    struct redis_events *re = calloc(1, sizeof *re);
    struct timespec ts;
    char host[64] = "";
    if (re == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    if (redis_addr_parse(redis_url, &re->addr, err, errlen) != 0) {
        free(re);
        return NULL;
    }
    re->bus = bus;
    re->tail = &re->head;
    gethostname(host, sizeof host - 1);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(re->origin, sizeof re->origin, "%s:%ld:%lld.%09ld", host, (long)getpid(), (long long)ts.tv_sec,
             ts.tv_nsec);
    pthread_mutex_init(&re->lock, NULL);
    pthread_cond_init(&re->cond, NULL);
    redis_link_init(&re->pub_link, "events", &re->addr);
    redis_link_init(&re->sub_link, "events listener", &re->addr);
    if (pthread_create(&re->publisher, NULL, publisher_main, re) != 0)
        goto fail;
    re->listening = listen;
    if (listen && pthread_create(&re->listener, NULL, listener_main, re) != 0) {
        atomic_store(&re->stop, true);
        pthread_join(re->publisher, NULL);
        goto fail;
    }
    return re;
fail:
    redis_link_close(&re->pub_link);
    redis_link_close(&re->sub_link);
    pthread_cond_destroy(&re->cond);
    pthread_mutex_destroy(&re->lock);
    free(re);
    snprintf(err, errlen, "cannot start the Redis events threads");
    return NULL;
}
