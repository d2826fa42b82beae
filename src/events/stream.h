/* The SSE stream as a subscriber of the events bus: GET /events answered with a stream of
 * Server-Sent Events that receives what the bus delivers for one user on one loop. */
#ifndef VIDGEN_EVENTS_STREAM_H
#define VIDGEN_EVENTS_STREAM_H

#include <h2o.h>

#include "events/bus.h"

/* On the loop thread, from a request handler: answers `req` with an SSE stream that gets
 * every event published for `user_id` until the client leaves, the loop stops, or
 * `credential` (what the request authenticated with, e.g. a token hash; copied; NULL or ""
 * for none) lapses (events/recheck.h). Returns 0 (h2o's "handled"); when the stream cannot
 * start the request is answered with 500 or 503. */
int events_subscribe(struct events_loop *l, h2o_req_t *req, const char *user_id, const char *credential);

#endif
