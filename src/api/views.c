#include "api/views.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/call.h"
#include "providers/registry.h"

/* The video and thumbnail URLs of a completed generation, JSON null otherwise. */
static void add_urls(json_t *o, const struct generation *g)
{
    char url[128];
    if (strcmp(g->status, "completed") != 0) {
        json_object_set_new(o, "videoUrl", json_null());
        json_object_set_new(o, "thumbnailUrl", json_null());
        return;
    }
    snprintf(url, sizeof url, API_PREFIX "/generations/%s/video", g->id);
    json_object_set_new(o, "videoUrl", json_string(url));
    snprintf(url, sizeof url, API_PREFIX "/generations/%s/thumbnail", g->id);
    json_object_set_new(o, "thumbnailUrl", json_string(url));
}

json_t *view_status(const struct generation *g)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:o, s:b}", "id", g->id, "status", g->status, "progress", g->progress,
                          "phase", g->phase, "errorMessage", api_string_or_null(g->error_message), "cancelRequested",
                          g->cancel_requested);
    add_urls(o, g);
    return o;
}

json_t *view_generation(const struct generation *g)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", g->id, "projectId", g->project_id,
                          "provider", g->provider, "modelId", g->model_id, "modelName",
                          api_string_or_null(g->model_name), "prompt", api_string_or_null(g->prompt), "negativePrompt",
                          api_string_or_null(g->negative_prompt), "startImagePath", api_string_or_null(g->start_image),
                          "endImagePath", api_string_or_null(g->end_image));
    json_object_update_new(o, json_pack("{s:s, s:i, s:s, s:b, s:b, s:I, s:s, s:i, s:o, s:o, s:o, s:o}", "resolution",
                                        g->resolution, "duration", g->duration, "aspectRatio", g->aspect_ratio,
                                        "generateAudio", g->audio, "enhancePrompt", g->enhance_prompt, "creditUsed",
                                        (json_int_t)g->credit_used, "status", g->status, "progress", g->progress,
                                        "errorMessage", api_string_or_null(g->error_message), "createdAt",
                                        api_time(g->created_at), "updatedAt", api_time(g->updated_at), "completedAt",
                                        api_time(g->completed_at)));
    json_object_update_new(o, json_pack("{s:s, s:b, s:i, s:i, s:f}", "phase", g->phase, "cancelRequested",
                                        g->cancel_requested, "videoWidth", g->video_width, "videoHeight",
                                        g->video_height, "videoSeconds", g->video_seconds));
    add_urls(o, g);
    return o;
}

/* A cost in millionths as the shortest decimal string ("0.48", "5"); null when none was said. */
static json_t *cost_text(int64_t micros)
{
    char buf[32];
    if (micros < 0)
        return json_null();
    int n = snprintf(buf, sizeof buf, "%lld.%06lld", (long long)(micros / 1000000), (long long)(micros % 1000000));
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    return json_string(buf);
}

/* The cost and its unit of attempt `a` added to its object `o`. */
static void add_cost(json_t *o, const struct generation_attempt *a)
{
    bool said = a->cost_micros >= 0 && a->cost_unit[0] != '\0';
    json_object_set_new(o, "cost", said ? cost_text(a->cost_micros) : json_null());
    json_object_set_new(o, "costUnit", said ? json_string(a->cost_unit) : json_null());
}

json_t *view_attempts(const struct attempt_list *l)
{
    json_t *list = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const struct generation_attempt *a = &l->items[i];
        json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "n", a->n, "provider", a->provider,
                              "providerName", provider_display_name(a->provider), "model", a->model, "providerJobId",
                              api_string_or_null(a->provider_job_id), "startedAt", api_time(a->started_at), "endedAt",
                              api_time(a->ended_at), "outcome", a->outcome[0] ? json_string(a->outcome) : json_null(),
                              "error", api_string_or_null(a->error), "httpStatus",
                              a->http_status ? json_integer(a->http_status) : json_null());
        add_cost(o, a);
        json_array_append_new(list, o);
    }
    return list;
}

json_t *view_project(const struct project_summary *p)
{
    const struct project *pr = &p->project;
    const struct generation_list *gens = &p->recent;
    json_t *list = json_array();
    for (size_t i = 0; i < gens->n; i++)
        json_array_append_new(list, view_generation(&gens->items[i]));
    /* The cursor is what GET /generations gives as nextCursor: the last id shown. */
    bool more = gens->n > 0 && p->generation_count > (long)gens->n;
    json_t *next = more ? json_string(gens->items[gens->n - 1].id) : json_null();
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:o}", "id", pr->id, "name", pr->name, "description",
                     api_string_or_null(pr->description), "createdAt", api_time(pr->created_at), "updatedAt",
                     api_time(pr->updated_at), "generations", list, "generationCount", (json_int_t)p->generation_count,
                     "generationsNextCursor", next);
}
