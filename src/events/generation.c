#include "events/generation.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The video and thumbnail URLs of a completed generation, JSON null otherwise. */
static json_t *file_url(const struct generation *g, const char *file)
{
    char url[160];
    if (strcmp(g->status, "completed") != 0)
        return json_null();
    snprintf(url, sizeof url, EVENTS_GENERATION_URL_PREFIX "/generations/%s/%s", g->id, file);
    return json_string(url);
}

char *events_generation_json(const struct generation *g)
{
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:s, s:o, s:b, s:o, s:o}", "id", g->id, "status", g->status, "progress", g->progress,
                  "phase", g->phase, "errorMessage", string_or_null(g->error_message), "cancelRequested",
                  g->cancel_requested, "videoUrl", file_url(g, "video"), "thumbnailUrl", file_url(g, "thumbnail"));
    char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return json;
}

void events_publish_generation(struct events_bus *bus, const struct generation *g)
{
    if (bus == NULL || !events_wanted(bus))
        return;
    char *json = events_generation_json(g);
    if (json == NULL) {
        log_warn("events: out of memory; a generation event is dropped");
        return;
    }
    events_publish(bus, g->user_id, "generation", json);
    free(json);
}
