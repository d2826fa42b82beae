/* GET /events: the caller's live status as Server-Sent Events (see events/bus.h). */
#ifndef VIDGEN_API_EVENTS_H
#define VIDGEN_API_EVENTS_H

#include "api/call.h"

/* Opens a stream that gets every change of the authenticated user's generations
 * ("generation" events) until the client leaves or the server stops. Needs API_AUTH. */
int api_events(struct api_call *c);

#endif
