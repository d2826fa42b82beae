/* GET /providers: every provider of this build, whether it is set up, what vidgen sends it
 * at most, its jobs (at the provider and waiting at vidgen) and its health as the workers
 * record it (last success and failure, the circuit: closed, open or half-open). */
#include "api/handlers.h"
#include "providers/registry.h"

/* open_until is set when the circuit opens and cleared by the next success. */
static const char *circuit_state(const struct provider_health *h, int64_t now)
{
    if (h->open_until == 0)
        return "closed";
    return now < h->open_until ? "open" : "half-open";
}

static json_t *health_json(const struct provider_health *h, int64_t now)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:i, s:o}", "circuit", circuit_state(h, now), "lastSuccessAt",
                     api_time(h->last_success_at), "lastFailureAt", api_time(h->last_failure_at), "lastFailure",
                     h->last_failure[0] ? json_string(h->last_failure) : json_null(), "failuresInARow", h->failures,
                     "openUntil", now < h->open_until ? api_time(h->open_until) : json_null());
}

/* One remote provider's counts and health; NULL when the store fails (err says why). */
static json_t *remote_json(struct api_call *c, const struct provider *p, int64_t now, struct vg_error *err)
{
    const struct provider_limits *lim = provider_limits_of(p, c->t->api->cfg);
    struct provider_health h;
    long in_flight, queued;
    if (store_provider_in_flight(c->t->store, p->name, &in_flight, err) != VG_OK ||
        store_provider_queued(c->t->store, p->name, &queued, err) != VG_OK ||
        store_provider_health_get(c->t->store, p->name, &h, err) != VG_OK)
        return NULL;
    return json_pack("{s:{s:i, s:i}, s:I, s:I, s:o}", "limits", "maxInFlight", lim->max_in_flight, "requestsPerMinute",
                     lim->requests_per_minute, "inFlight", (json_int_t)in_flight, "queued", (json_int_t)queued,
                     "health", health_json(&h, now));
}

int api_providers_list(struct api_call *c)
{
    json_t *list = json_array();
    int64_t now = clock_now_ms();
    struct vg_error err;
    for (size_t i = 0; i < provider_count(); i++) {
        const struct provider *p = provider_at(i);
        char why[256] = "";
        bool available = p->available(c->t->api->cfg, why, sizeof why);
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", p->name, "displayName", p->display_name, "kind",
                              p->kind == PROVIDER_LOCAL ? "local" : "remote", "available", available,
                              "unavailableReason", available ? json_null() : json_string(why));
        if (p->kind == PROVIDER_HTTP) {
            json_t *more = remote_json(c, p, now, &err);
            if (more == NULL) {
                json_decref(o);
                json_decref(list);
                return api_fail(c, &err);
            }
            json_object_update(o, more);
            json_decref(more);
        }
        json_array_append_new(list, o);
    }
    return api_ok(c, json_pack("{s:o}", "providers", list));
}
