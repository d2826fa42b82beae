/* Handlers run off the HTTP loops when store calls may wait on the network.
 *
 * With PostgreSQL every store call is a round trip; made on a loop thread it would stall
 * every connection of that loop meanwhile. So when VIDGEN_STORE_THREADS is above 0 (the
 * default with PostgreSQL: config.h), a matched route's token check and handler run on a
 * pool of that many threads, each with its own store connection, and the reply they build
 * is sent from the loop (http/offload.h). Routes flagged API_ON_LOOP (streams, files, and
 * those that never call the store) still run on the loop.
 *
 * A handler run off the loop may read its request, allocate from the request's pool, add
 * response headers, call the store through c->t->store, and answer with api_send_bytes (or
 * what calls it: api_reply, api_ok, api_fail...) exactly once, or hand the rest to the loop
 * with api_then_on_loop (a file to send, a stream to open). It must not call any other h2o
 * function that sends or touches the loop. */
#ifndef VIDGEN_API_STORE_POOL_H
#define VIDGEN_API_STORE_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "api/call.h"

struct api;
struct http_pool;

/* Starts `threads` threads for `api` (owned by the process: never stopped). NULL with a
 * message when none could start. */
struct http_pool *api_store_pool_start(const struct api *api, int threads, char *err, size_t errlen);

/* Runs `run(c)` on the pool and sends its reply from the loop. `c` is copied (into the
 * request's pool). Returns 0 (h2o's "handled"). */
int api_store_pool_call(struct http_pool *pool, const struct api_call *c, int (*run)(struct api_call *c));

/* For api_send_bytes: when the calling thread is running the handler of `req` off the
 * loop, keeps the reply for the loop to send and returns true. */
bool api_store_pool_capture(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);

/* For api_then_on_loop: when the calling thread is running the handler of `c` off the loop,
 * keeps `then` for the loop to call (in place of a reply) and returns true. */
bool api_store_pool_defer(struct api_call *c, int (*then)(struct api_call *c));

#endif
