#include "events/bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/backend.h"
#include "http/sse.h"
#include "util/log.h"

#define EVENTS_BUCKETS 64 /* per loop: subscribers hashed by user id */

struct events_bus {
    const struct events_bus_ops *ops;
    void *backend; /* the ops' own state; NULL for the local backend */
    pthread_mutex_t lock;
    h2o_linklist_t loops; /* events_loop.bus_link; under lock */
    atomic_long sinks;    /* sinks added on every loop and not removed */
};

struct events_loop {
    struct events_bus *bus;
    h2o_context_t *ctx;
    h2o_multithread_receiver_t receiver; /* on ctx->queue: publications arrive here */
    h2o_linklist_t bus_link;
    h2o_timeout_t heartbeat; /* shared by this loop's SSE streams */
    h2o_linklist_t buckets[EVENTS_BUCKETS];
    int stopping;
};

/* One publication on its way to one loop; a single allocation, freed by the loop. */
struct events_message {
    h2o_multithread_message_t super;
    size_t frame_len;
    const char *frame;
    char user_id[]; /* NUL, then the frame and its NUL */
};

static size_t bucket_of(const char *user_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)user_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % EVENTS_BUCKETS;
}

static const struct events_bus_ops local_ops;

struct events_bus *events_bus_open(const char *redis_url, bool listen)
{
    char err[300];
    struct events_bus *bus = calloc(1, sizeof *bus);
    if (bus == NULL)
        return NULL;
    pthread_mutex_init(&bus->lock, NULL);
    h2o_linklist_init_anchor(&bus->loops);
    bus->ops = &local_ops;
    if (redis_url != NULL && redis_url[0] != '\0') {
        if ((bus->backend = events_redis_open(bus, redis_url, listen, err, sizeof err)) == NULL) {
            log_error("events: %s", err);
            pthread_mutex_destroy(&bus->lock);
            free(bus);
            return NULL;
        }
        bus->ops = &events_redis_ops;
    }
    return bus;
}

struct events_bus *events_bus_new(const char *redis_url)
{
    return events_bus_open(redis_url, true);
}

void events_bus_free(struct events_bus *bus)
{
    if (bus == NULL)
        return;
    bus->ops->close(bus);
    if (!h2o_linklist_is_empty(&bus->loops))
        log_error("events: the bus is freed while loops are attached");
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

void *events_bus_backend(struct events_bus *bus)
{
    return bus->backend;
}

enum events_health events_bus_health(struct events_bus *bus, char *why, size_t len)
{
    return bus->ops->health(bus, why, len);
}

static struct events_message *message_new(const char *user_id, size_t user_len, const char *frame, size_t frame_len)
{
    struct events_message *m = malloc(sizeof *m + user_len + 1 + frame_len + 1);
    if (m == NULL)
        return NULL;
    m->super = (h2o_multithread_message_t){{NULL, NULL}};
    memcpy(m->user_id, user_id, user_len + 1);
    m->frame = m->user_id + user_len + 1;
    memcpy((char *)m->frame, frame, frame_len + 1);
    m->frame_len = frame_len;
    return m;
}

bool events_wanted(struct events_bus *bus)
{
    return bus->ops->wanted(bus);
}

/* Unlinks a linked sink and counts it out. */
static void sink_unlink(struct events_sink *sink)
{
    h2o_linklist_unlink(&sink->_link);
    atomic_fetch_sub(&sink->_bus->sinks, 1);
}

long events_streams_open(struct events_bus *bus)
{
    return atomic_load(&bus->sinks);
}

bool events_well_formed(const char *user_id, const char *event)
{
    size_t user_len = strlen(user_id);
    return user_len > 0 && user_len <= EVENTS_USER_ID_MAX && strpbrk(user_id, "\r\n") == NULL &&
           strpbrk(event, "\r\n") == NULL;
}

void events_publish(struct events_bus *bus, const char *user_id, const char *event, const char *json)
{
    if (!events_well_formed(user_id, event)) {
        log_warn("events: an event is dropped: its user id or its name is malformed");
        return;
    }
    bus->ops->publish(bus, user_id, event, json);
}

void events_deliver_local(struct events_bus *bus, const char *user_id, const char *event, const char *json)
{
    size_t user_len = strlen(user_id), frame_len;
    char *frame = NULL;
    if (atomic_load(&bus->sinks) == 0)
        return; /* no stream open on any loop here */
    if ((frame = sse_format(event, json, &frame_len)) == NULL) {
        log_warn("events: out of memory; a '%s' event is dropped", event);
        return;
    }
    pthread_mutex_lock(&bus->lock);
    for (h2o_linklist_t *n = bus->loops.next; n != &bus->loops; n = n->next) {
        struct events_loop *l = H2O_STRUCT_FROM_MEMBER(struct events_loop, bus_link, n);
        struct events_message *m = message_new(user_id, user_len, frame, frame_len);
        if (m == NULL) {
            log_warn("events: out of memory; an event is lost for one loop");
            continue;
        }
        h2o_multithread_send_message(&l->receiver, &m->super);
    }
    pthread_mutex_unlock(&bus->lock);
    free(frame);
}

/* Hands one publication to the matching sinks of this loop. A sink may remove itself in
 * deliver, hence the next node is taken first. */
static void dispatch(struct events_loop *l, const struct events_message *m)
{
    h2o_linklist_t *bucket = &l->buckets[bucket_of(m->user_id)];
    for (h2o_linklist_t *n = bucket->next, *next; n != bucket; n = next) {
        next = n->next;
        struct events_sink *sink = H2O_STRUCT_FROM_MEMBER(struct events_sink, _link, n);
        if (strcmp(sink->_user_id, m->user_id) == 0)
            sink->deliver(sink, m->frame, m->frame_len);
    }
}

/* h2o: messages for this loop, on the loop thread. */
static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct events_loop *l = H2O_STRUCT_FROM_MEMBER(struct events_loop, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        struct events_message *m = H2O_STRUCT_FROM_MEMBER(struct events_message, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        dispatch(l, m);
        free(m);
    }
}

struct events_loop *events_loop_attach(struct events_bus *bus, h2o_context_t *ctx)
{
    struct events_loop *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->bus = bus;
    l->ctx = ctx;
    for (size_t i = 0; i < EVENTS_BUCKETS; i++)
        h2o_linklist_init_anchor(&l->buckets[i]);
    h2o_timeout_init(ctx->loop, &l->heartbeat, SSE_HEARTBEAT_MS);
    h2o_multithread_register_receiver(ctx->queue, &l->receiver, on_messages);
    pthread_mutex_lock(&bus->lock);
    h2o_linklist_insert(&bus->loops, &l->bus_link);
    pthread_mutex_unlock(&bus->lock);
    return l;
}

void events_loop_foreach(struct events_loop *l, void (*fn)(struct events_sink *sink, void *arg), void *arg)
{
    for (size_t i = 0; i < EVENTS_BUCKETS; i++)
        for (h2o_linklist_t *n = l->buckets[i].next, *next; n != &l->buckets[i]; n = next) {
            next = n->next;
            fn(H2O_STRUCT_FROM_MEMBER(struct events_sink, _link, n), arg);
        }
}

static void close_sink(struct events_sink *sink, void *arg)
{
    (void)arg;
    sink->close(sink);
}

void events_loop_close_all(struct events_loop *l)
{
    l->stopping = 1;
    events_loop_foreach(l, close_sink, NULL);
}

/* Publications sent before this loop left the bus and not yet received. Once the loop is
 * off the bus's list (under its lock) no thread can send to the receiver any more, so its
 * list is this thread's alone. h2o refuses to unregister a receiver with messages left. */
static void drop_undelivered(struct events_loop *l)
{
    h2o_linklist_t *list = &l->receiver._messages;
    while (!h2o_linklist_is_empty(list)) {
        struct events_message *m = H2O_STRUCT_FROM_MEMBER(struct events_message, super.link, list->next);
        h2o_linklist_unlink(&m->super.link);
        free(m);
    }
}

void events_loop_detach(struct events_loop *l)
{
    pthread_mutex_lock(&l->bus->lock);
    h2o_linklist_unlink(&l->bus_link);
    pthread_mutex_unlock(&l->bus->lock);
    drop_undelivered(l);
    h2o_multithread_unregister_receiver(l->ctx->queue, &l->receiver);
    /* Sinks left here belong to connections the stop's grace period gave up on. */
    for (size_t i = 0; i < EVENTS_BUCKETS; i++)
        while (!h2o_linklist_is_empty(&l->buckets[i])) {
            struct events_sink *sink = H2O_STRUCT_FROM_MEMBER(struct events_sink, _link, l->buckets[i].next);
            sink_unlink(sink);
            sink->close(sink);
        }
    h2o_timeout_dispose(l->ctx->loop, &l->heartbeat); /* closed streams no longer use it */
    free(l);
}

int events_sink_add(struct events_loop *l, struct events_sink *sink, const char *user_id, const char *credential)
{
    size_t len = strlen(user_id), cred_len = credential ? strlen(credential) : 0;
    if (l->stopping || len == 0 || len > EVENTS_USER_ID_MAX || cred_len > EVENTS_CREDENTIAL_MAX)
        return -1;
    memcpy(sink->_user_id, user_id, len + 1);
    memcpy(sink->_credential, credential ? credential : "", cred_len + 1);
    h2o_linklist_insert(&l->buckets[bucket_of(user_id)], &sink->_link);
    sink->_bus = l->bus;
    atomic_fetch_add(&l->bus->sinks, 1);
    return 0;
}

const char *events_sink_credential(const struct events_sink *sink)
{
    return sink->_credential;
}

void events_sink_remove(struct events_sink *sink)
{
    if (h2o_linklist_is_linked(&sink->_link))
        sink_unlink(sink);
}

bool events_loop_stopping(const struct events_loop *l)
{
    return l->stopping != 0;
}

h2o_timeout_t *events_loop_heartbeat(struct events_loop *l)
{
    return &l->heartbeat;
}

/* The local backend: this process's loops are the whole audience. */
static bool local_wanted(struct events_bus *bus)
{
    return atomic_load(&bus->sinks) > 0;
}

static enum events_health local_health(struct events_bus *bus, char *why, size_t len)
{
    (void)bus, (void)why, (void)len;
    return EVENTS_LOCAL;
}

static void local_close(struct events_bus *bus)
{
    (void)bus;
}

static const struct events_bus_ops local_ops = {events_deliver_local, local_wanted, local_health, local_close};
