/* GET /events: the caller's live status as Server-Sent Events (see events/bus.h). */
#ifndef VIDGEN_API_EVENTS_H
#define VIDGEN_API_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/call.h"

#define API_EVENTS_RECHECK_MS 3000 /* how soon an open stream notices its token was revoked */

/* Opens a stream that gets every change of the authenticated user's generations
 * ("generation" events) until the client leaves, the server stops, or the token it was
 * opened with is revoked (or its user removed). Needs API_AUTH. */
int api_events(struct api_call *c);

/* events_check_fn for events/recheck.h: the streams' credentials are token hashes, valid
 * while store_tokens_live says so. `thread` is the loop's struct api_thread (its store). */
int api_events_check_tokens(const char *const *hashes, size_t n, bool *valid, void *thread);

#endif
