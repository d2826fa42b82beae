/* Live status fan-out: a change published on any thread reaches every open event stream of
 * its user, on every HTTP loop of this process and, with Redis, of every process.
 *
 * Threads and ownership:
 * - The bus is made once (struct api owns it; vidgen worker has its own) and outlives every
 *   loop and every publisher: free it only after the HTTP server has stopped and the
 *   workers have joined.
 * - events_publish may be called from any thread. It copies what it is given and returns at
 *   once, without waiting on the network; delivery happens later on each loop thread.
 *   Nothing is kept for streams that open afterwards: a client reads the current state when
 *   it (re)connects.
 * - Each HTTP loop attaches once on its own thread and owns the `struct events_loop`;
 *   everything taking one runs on that loop's thread.
 *
 * Two backends sit behind a table of operations (events/backend.h), chosen by REDIS_URL:
 * - local (bus.c): the bus hands each publication to every attached loop of this process
 *   through h2o's multithread queue (no polling: the loop wakes when a message arrives),
 *   and the loop matches it against its own subscribers by user id;
 * - Redis (events/redis.c): the same local delivery, plus a PUBLISH on a channel that every
 *   process subscribes to on a thread of its own, relaying what other processes publish to
 *   its loops through the local delivery.
 * Subscribers are sinks (below); the SSE stream (events/stream.h) is one kind of sink. */
#ifndef VIDGEN_EVENTS_BUS_H
#define VIDGEN_EVENTS_BUS_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

#define EVENTS_USER_ID_MAX 64                  /* longer user ids are refused */
#define EVENTS_CREDENTIAL_MAX 64               /* longer credentials are refused */
#define EVENTS_STREAM_MAX_PENDING (256u << 10) /* bytes a stream may fall behind before it is closed */

struct events_bus;
struct events_loop;

/* A bus for `redis_url` ("" or NULL: this process only). With Redis, `listen` says whether
 * to relay what other processes publish to this process's loops (a server does; a process
 * without HTTP loops, vidgen worker, only publishes). Redis being down is not a failure:
 * the bus connects in the background and says so in the log. The caller owns the bus
 * (events_bus_free). NULL when out of memory or the URL is malformed (logged). */
struct events_bus *events_bus_open(const char *redis_url, bool listen);
/* events_bus_open(redis_url, true). */
struct events_bus *events_bus_new(const char *redis_url);
/* Every loop must have detached. NULL is accepted. */
void events_bus_free(struct events_bus *bus);

enum events_health { EVENTS_LOCAL, EVENTS_UP, EVENTS_DOWN };
/* Any thread, never waits on the network: EVENTS_LOCAL, or whether Redis answered last time
 * (the reason in why[0..len) when it did not). */
enum events_health events_bus_health(struct events_bus *bus, char *why, size_t len);

/* Any thread. Delivers `event` with `json` (one SSE data line; newlines in it become
 * further data lines) to every subscriber of `user_id` on every loop. All three are copied.
 * Drops the event (logged) when out of memory, when `event` contains CR or LF, or when
 * `user_id` is empty or longer than EVENTS_USER_ID_MAX. */
void events_publish(struct events_bus *bus, const char *user_id, const char *event, const char *json);

/* Any thread. Whether a stream may be open anywhere: when none is, a publisher may skip
 * building its event (one published now would reach nobody; a stream opened afterwards
 * reads the current state anyway). Always true with Redis (streams of other processes are
 * not counted here). */
bool events_wanted(struct events_bus *bus);
/* Any thread. How many streams are open on all loops of this process now (GET /metrics). */
long events_streams_open(struct events_bus *bus);

/* On the loop thread, once, before the loop serves. NULL when out of memory. */
struct events_loop *events_loop_attach(struct events_bus *bus, h2o_context_t *ctx);
/* On the loop thread, when a graceful stop begins: ends every stream (each gets its queued
 * events and the final chunk), and ends at once any stream opened afterwards. */
void events_loop_close_all(struct events_loop *l);
/* On the loop thread, after the loop has stopped serving and before its h2o context is
 * disposed. Frees `l`; streams whose connection is somehow still open are abandoned. */
void events_loop_detach(struct events_loop *l);

/* What a subscriber needs of its loop: whether it is stopping (close_all came), and the
 * heartbeat timeout its streams share. Loop thread. */
bool events_loop_stopping(const struct events_loop *l);
h2o_timeout_t *events_loop_heartbeat(struct events_loop *l);

/* A subscriber (events/stream.c for SSE, tests for others): a sink
 * receives the SSE frames ("event: …\ndata: …\n\n") of one user on one loop.
 * The caller owns the sink's memory, zeroes it and fills the two callbacks; the rest is the
 * bus's. Both callbacks run on the loop thread and may remove their own sink, no other. */
struct events_sink {
    /* One frame, borrowed for the call. */
    void (*deliver)(struct events_sink *sink, const char *frame, size_t len);
    /* The loop is stopping (close_all), or detaching, or the sink's credential lapsed: end.
     * May come twice (a close_all, then a detach). A detach, and a lapse, have already
     * removed the sink. */
    void (*close)(struct events_sink *sink);
    /* private to the bus */
    h2o_linklist_t _link;
    struct events_bus *_bus;
    char _user_id[EVENTS_USER_ID_MAX + 1];
    char _credential[EVENTS_CREDENTIAL_MAX + 1];
};

/* Adds `sink` for `user_id`, with `credential` (copied; NULL or "" for none). -1 when the id
 * is empty or too long, the credential too long, or the loop is stopping. */
int events_sink_add(struct events_loop *l, struct events_sink *sink, const char *user_id, const char *credential);
/* Removes `sink`; a sink not added, or already removed (or dropped by a detach), is left alone. */
void events_sink_remove(struct events_sink *sink);
/* The credential `sink` was added with ("" for none); it lives as long as the sink. */
const char *events_sink_credential(const struct events_sink *sink);
/* On the loop thread: calls fn once for every sink of the loop. fn may remove the sink it
 * is given (and close it), no other. */
void events_loop_foreach(struct events_loop *l, void (*fn)(struct events_sink *sink, void *arg), void *arg);

#endif
