/* POST /estimate-credits: the price of a request, by the same parse and checks as generate.
 *
 * The reply has a fixed shape and is the hottest endpoint a UI calls (on every change of a
 * setting), so it is written straight into the request's memory instead of being built as
 * a JSON tree and serialised: measured by bench/http.sh, the tree cost more than half of
 * the request's CPU. */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "core/gen_request.h"
#include "providers/registry.h"

/* Appends `s` as a JSON string. */
static size_t put_string(char *buf, size_t cap, size_t n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
#define PUT(ch)                                                                                                        \
    do {                                                                                                               \
        if (n < cap)                                                                                                   \
            buf[n] = (ch);                                                                                             \
        n++;                                                                                                           \
    } while (0)
    PUT('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            PUT('\\');
            PUT(ch);
        } else if (ch < 0x20) {
            PUT('\\');
            PUT('u');
            PUT('0');
            PUT('0');
            PUT(hex[ch >> 4]);
            PUT(hex[ch & 15]);
        } else
            PUT(ch);
    }
    PUT('"');
#undef PUT
    return n;
}

/* Appends printf output, counting what did not fit. */
static size_t put_fmt(char *buf, size_t cap, size_t n, const char *fmt, long v)
{
    int w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, fmt, v);
    return n + (w > 0 ? (size_t)w : 0);
}

size_t api_estimate_write(char *buf, size_t cap, const struct gen_request *r, const struct price *p)
{
    const struct {
        const char *name;
        long v;
    } parts[] = {{"resolution", p->resolution},
                 {"duration", p->duration},
                 {"images", p->images},
                 {"audio", p->audio},
                 {"enhancement", p->enhancement}};
    size_t n = put_fmt(buf, cap, 0, "{\"total\":%ld,\"breakdown\":{", p->total);
    n = put_fmt(buf, cap, n, "\"base\":%ld", p->base);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i].v != 0) {
            n = put_fmt(buf, cap, n, ",", 0);
            n = put_string(buf, cap, n, parts[i].name);
            n = put_fmt(buf, cap, n, ":%ld", parts[i].v);
        }
    n = put_fmt(buf, cap, n, "},\"idr\":%ld,\"model\":", p->total * PRICING_IDR_PER_CREDIT);
    n = put_string(buf, cap, n, r->model->name);
    n = put_fmt(buf, cap, n, ",\"modelId\":", 0);
    n = put_string(buf, cap, n, r->model->id);
    n = put_fmt(buf, cap, n, ",\"provider\":", 0);
    n = put_string(buf, cap, n, provider_display_name(r->model->routes[0].provider));
    n = put_fmt(buf, cap, n, ",\"resolution\":", 0);
    n = put_string(buf, cap, n, resolution_name(r->resolution));
    n = put_fmt(buf, cap, n, ",\"duration\":%ld,\"aspectRatio\":", r->duration);
    n = put_string(buf, cap, n, r->aspect_ratio);
    n = put_fmt(buf, cap, n, "}", 0);
    if (n < cap)
        buf[n] = '\0';
    return n;
}

int api_estimate(struct api_call *c)
{
    static const char head[] = "{\"success\":true,\"estimate\":";
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
    size_t len = api_estimate_write(NULL, 0, &r, &p);
    char *buf = h2o_mem_alloc_pool(&c->req->pool, sizeof head - 1 + len + 2);
    memcpy(buf, head, sizeof head - 1);
    api_estimate_write(buf + sizeof head - 1, len + 1, &r, &p);
    buf[sizeof head - 1 + len] = '}';
    json_decref(body); /* after writing: r borrows strings from body */
    return api_send_bytes(c->req, 200, "application/json", buf, sizeof head + len);
}
