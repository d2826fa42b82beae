/* POST /estimate-credits: the price of a request, by the same parse and checks as generate. */
#include "api/handlers.h"
#include "core/gen_request.h"
#include "providers/registry.h"

/* The breakdown lists each component that is not zero (base always). */
json_t *api_price_json(const struct gen_request *r, const struct price *p)
{
    json_t *b = json_pack("{s:I}", "base", (json_int_t)p->base);
    const struct {
        const char *name;
        long v;
    } parts[] = {{"resolution", p->resolution}, {"duration", p->duration},  {"images", p->images},
                 {"audio", p->audio},           {"enhancement", p->enhancement}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i].v != 0)
            json_object_set_new(b, parts[i].name, json_integer(parts[i].v));
    return json_pack("{s:I, s:o, s:I, s:s, s:s, s:s, s:s, s:i, s:s}", "total", (json_int_t)p->total, "breakdown", b,
                     "idr", (json_int_t)(p->total * PRICING_IDR_PER_CREDIT), "model", r->model->name, "modelId",
                     r->model->id, "provider", provider_display_name(r->model->routes[0].provider), "resolution",
                     resolution_name(r->resolution), "duration", r->duration, "aspectRatio", r->aspect_ratio);
}

int api_estimate(struct api_call *c)
{
    struct vg_error err;
    struct gen_request r;
    struct price p;
    json_t *body;
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    if (gen_request_parse(&c->t->api->catalog, body, GEN_REQUEST_ESTIMATE, &r, &err) != VG_OK) {
        json_decref(body);
        return api_fail(c, &err);
    }
    gen_request_price(&r, &p);
    json_t *estimate = api_price_json(&r, &p);
    json_decref(body); /* after api_price_json: r borrows strings from body */
    return api_ok(c, json_pack("{s:o}", "estimate", estimate));
}
