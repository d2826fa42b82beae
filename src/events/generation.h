/* The "generation" event: what an event stream receives when one of its user's generations
 * changes (status, progress, phase, error, and the file URLs once completed) — the same JSON
 * as GET /generations/{id}/status. Built here, below the API, so that the embedded worker
 * (through api_notify) and a standalone `vidgen worker` publish the same event. */
#ifndef VIDGEN_EVENTS_GENERATION_H
#define VIDGEN_EVENTS_GENERATION_H

#include "events/bus.h"
#include "store/store.h"

/* The API's prefix, for the file URLs (API_PREFIX in api/api.h; a unit test holds them equal). */
#define EVENTS_GENERATION_URL_PREFIX "/api/apps/video-generator"

/* The event's JSON (compact), or NULL when out of memory. The caller frees it with free(). */
char *events_generation_json(const struct generation *g);

/* Publishes `g` to its owner's streams, unless no stream can be listening. Any thread. */
void events_publish_generation(struct events_bus *bus, const struct generation *g);

#endif
