/* The Redis backend of the events bus: every process PUBLISHes on one channel and each
 * server SUBSCRIBEs to it, so a change made by a worker on one host reaches the event
 * streams open on every other.
 *
 * A publication is delivered to this process's loops at once (the local delivery), and
 * queued for the publisher thread, which sends it as
 *     "<origin>\n<user id>\n<event>\n<json>"
 * on EVENTS_REDIS_CHANNEL(db) (pub/sub ignores Redis's databases, so the channel names the
 * one of REDIS_URL). The listener thread relays what arrives to this process's loops,
 * skipping its own publications (origin = this process), which its loops already had.
 *
 * Nothing here waits on the network on a publisher's thread: a full queue drops new
 * publications with one log line. Events are not stored: while Redis is down they are lost
 * (a client reads the current state when it reconnects), and they flow again once each
 * thread has reconnected by itself (capped backoff, logged once per change). */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/backend.h"
#include "util/log.h"
#include "util/redis_link.h"

#define EVENTS_REDIS_CHANNEL_FMT "vidgen:events:%d"
#define EVENTS_REDIS_PENDING 4096    /* publications waiting for the publisher; more are dropped */
#define EVENTS_REDIS_BATCH 64        /* publications per round trip */
#define EVENTS_REDIS_TIMEOUT_MS 3000 /* connect and command timeout */
#define EVENTS_REDIS_PING_MS 1000    /* the publisher's PING when idle (keeps the health current) */
#define EVENTS_REDIS_POLL_MS 500     /* the listener's wait for a message; a stop waits at most this */

struct outgoing {
    struct outgoing *next;
    size_t len;
    char payload[];
};

struct redis_events {
    struct events_bus *bus; /* borrowed: the bus owns this */
    struct redis_addr addr;
    char channel[64];
    char origin[96]; /* this process, unique among the publishers */
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

/* Sends a batch in one round trip (pipelined PUBLISHes) and frees it. */
static void send_batch(struct redis_events *re, struct outgoing **batch, size_t n)
{
    struct redis_link *l = &re->pub_link;
    size_t i;
    for (i = 0; i < n; i++)
        redisAppendCommand(l->ctx, "PUBLISH %s %b", re->channel, batch[i]->payload, batch[i]->len);
    for (i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(l->ctx, (void **)&r) != REDIS_OK || r == NULL || r->type == REDIS_REPLY_ERROR) {
            redis_link_fail(l, r); /* the rest of the batch is lost with the connection */
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
    }
    for (i = 0; i < n; i++)
        free(batch[i]);
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

/* One message from the channel: relayed to this process's loops unless it came from here. */
static void relay(struct redis_events *re, const redisReply *r)
{
    char *fields[4], *p;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return; /* subscribe confirmations and the like */
    if ((p = strndup(r->element[2]->str, r->element[2]->len)) == NULL)
        return;
    fields[0] = p;
    for (int i = 1; i < 4; i++) {
        char *nl = fields[i - 1] ? strchr(fields[i - 1], '\n') : NULL;
        fields[i] = nl ? (*nl = '\0', nl + 1) : NULL;
    }
    if (fields[3] == NULL || !events_well_formed(fields[1], fields[2]))
        log_warn("redis: events: a malformed message on %s is ignored", re->channel);
    else if (strcmp(fields[0], re->origin) != 0)
        events_deliver_local(re->bus, fields[1], fields[2], fields[3]);
    free(p);
}

/* Reads the subscription until the connection fails or the stop. The socket is polled, so
 * that a quiet channel neither times the connection out nor holds up a stop. */
static void listen_until_failure(struct redis_events *re)
{
    struct redis_link *l = &re->sub_link;
    redisReply *r = redisCommand(l->ctx, "SUBSCRIBE %s", re->channel);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        redis_link_fail(l, r);
        freeReplyObject(r);
        return;
    }
    freeReplyObject(r);
    while (!atomic_load(&re->stop)) {
        void *reply = NULL;
        if (redisGetReplyFromReader(l->ctx, &reply) != REDIS_OK)
            break;
        if (reply != NULL) {
            relay(re, reply);
            freeReplyObject(reply);
            continue;
        }
        struct pollfd pfd = {.fd = l->ctx->fd, .events = POLLIN};
        int n = poll(&pfd, 1, EVENTS_REDIS_POLL_MS);
        if (n > 0 && redisBufferRead(l->ctx) != REDIS_OK)
            break;
    }
    if (!atomic_load(&re->stop))
        redis_link_fail(l, NULL);
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
    snprintf(re->channel, sizeof re->channel, EVENTS_REDIS_CHANNEL_FMT, re->addr.db);
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
