/* Live status fan-out: a change published on any thread reaches every open event stream of
 * its user, on every HTTP loop of this process.
 *
 * Threads and ownership:
 * - The bus is made once (struct api owns it) and outlives every loop and every publisher:
 *   free it only after the HTTP server has stopped and the workers have joined.
 * - events_publish may be called from any thread. It copies what it is given and returns at
 *   once; delivery happens later on each loop thread. Nothing is kept for streams that
 *   open afterwards: a client reads the current state when it (re)connects.
 * - Each HTTP loop attaches once on its own thread and owns the `struct events_loop`;
 *   everything taking one runs on that loop's thread.
 *
 * In-process, the bus hands each publication to every attached loop through h2o's
 * multithread queue (no polling: the loop wakes when a message arrives), and the loop
 * matches it against its own subscribers by user id. With several processes a Redis
 * channel will sit behind the same functions: publish sends to Redis, and each process
 * relays what it receives to its loops. */
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

/* NULL when out of memory. */
struct events_bus *events_bus_new(void);
/* Every loop must have detached. NULL is accepted. */
void events_bus_free(struct events_bus *bus);

/* Any thread. Delivers `event` with `json` (one SSE data line; newlines in it become
 * further data lines) to every subscriber of `user_id` on every loop. All three are copied.
 * Drops the event (logged) when out of memory, when `event` contains CR or LF, or when
 * `user_id` is empty or longer than EVENTS_USER_ID_MAX. */
void events_publish(struct events_bus *bus, const char *user_id, const char *event, const char *json);

/* Any thread. Whether any stream is open on any loop: when none is, a publisher may skip
 * building its event (one published now would reach nobody; a stream opened afterwards
 * reads the current state anyway). */
bool events_wanted(struct events_bus *bus);
/* Any thread. How many streams are open on all loops now (GET /metrics). */
long events_streams_open(struct events_bus *bus);

/* On the loop thread, once, before the loop serves. NULL when out of memory. */
struct events_loop *events_loop_attach(struct events_bus *bus, h2o_context_t *ctx);
/* On the loop thread, when a graceful stop begins: ends every stream (each gets its queued
 * events and the final chunk), and ends at once any stream opened afterwards. */
void events_loop_close_all(struct events_loop *l);
/* On the loop thread, after the loop has stopped serving and before its h2o context is
 * disposed. Frees `l`; streams whose connection is somehow still open are abandoned. */
void events_loop_detach(struct events_loop *l);

/* On the loop thread, from a request handler: answers `req` with an SSE stream that gets
 * every event published for `user_id` until the client leaves, the loop stops, or
 * `credential` (what the request authenticated with, e.g. a token hash; copied; NULL or ""
 * for none) lapses (events/recheck.h). Returns 0 (h2o's "handled"); when the stream cannot
 * start the request is answered with 500 or 503. */
int events_subscribe(struct events_loop *l, h2o_req_t *req, const char *user_id, const char *credential);

/* The seam below events_subscribe, for other kinds of subscriber (and for tests): a sink
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
