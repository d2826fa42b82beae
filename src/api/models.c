/* GET /models: the catalog with each model's availability. The reply only changes when the
 * configuration does, so it is built once at start and sent as the same bytes each time. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "providers/registry.h"

static json_t *string_array_res(unsigned mask)
{
    json_t *a = json_array();
    for (int r = 0; r < RES_COUNT; r++)
        if (mask & (1u << r))
            json_array_append_new(a, json_string(resolution_name((enum resolution)r)));
    return a;
}

static json_t *route_json(const struct catalog_route *r)
{
    json_t *o = json_pack("{s:s, s:s}", "provider", r->provider, "model", r->model);
    if (r->endpoint[0])
        json_object_set_new(o, "endpoint", json_string(r->endpoint));
    if (r->image_model[0])
        json_object_set_new(o, "imageModel", json_string(r->image_model));
    if (r->image_endpoint[0])
        json_object_set_new(o, "imageEndpoint", json_string(r->image_endpoint));
    return o;
}

/* A model is available when a provider on its route is (provider_route). */
static json_t *model_json(const struct catalog_model *m, const struct config *cfg)
{
    json_t *aspects = json_array(), *routes = json_array(), *durations = json_array();
    char reason[256] = "";
    bool available = provider_route(m, cfg, reason, sizeof reason) != NULL;
    for (int i = 0; i < m->n_aspect_ratios; i++)
        json_array_append_new(aspects, json_string(m->aspect_ratios[i]));
    for (int i = 0; i < m->n_routes; i++)
        json_array_append_new(routes, route_json(&m->routes[i]));
    for (int d = m->min_duration; d <= m->max_duration; d++)
        if (catalog_allows_duration(m, d))
            json_array_append_new(durations, json_integer(d));

    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:I, s:o, s:b}",
        "id", m->id, "name", m->name, "provider", m->routes[0].provider, "providerName",
        provider_display_name(m->routes[0].provider), "minDuration", m->min_duration, "maxDuration", m->max_duration,
        "defaultDuration", m->default_duration, "durations", durations, "resolutions", string_array_res(m->resolutions),
        "aspectRatios", aspects, "description", json_string(m->description), "supportsTextToVideo", m->text_to_video,
        "supportsImageToVideo", m->image_to_video, "supportsEndImage", m->end_image, "supportsNegativePrompt",
        m->negative_prompt, "supportsAudioGeneration", m->audio, "supportsPromptEnhancement", m->prompt_enhancement,
        "maxPromptLength", m->max_prompt_length, "baseCredits", (json_int_t)m->base_credits, "route", routes,
        "available", available);
    json_object_set_new(o, "unavailableReason", available ? json_null() : json_string(reason));
    return o;
}

int api_models_build(struct api *api, char *err, size_t errlen)
{
    json_t *models = json_array();
    for (size_t i = 0; i < api->catalog.n; i++)
        json_array_append_new(models, model_json(&api->catalog.models[i], api->cfg));
    json_t *body = json_pack("{s:b, s:o}", "success", 1, "models", models);
    api->models_json = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (api->models_json == NULL) {
        snprintf(err, errlen, "cannot build the model list");
        return -1;
    }
    api->models_json_len = strlen(api->models_json);
    return 0;
}

int api_models_list(struct api_call *c)
{
    /* The bytes live as long as the api, longer than any response. */
    return api_send_bytes(c->req, 200, "application/json", c->t->api->models_json, c->t->api->models_json_len);
}
