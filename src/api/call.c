#include "api/call.h"

#include <stdbool.h>
#include <string.h>

#include "api/store_pool.h"
#include "util/id.h"
#include "util/log.h"

int api_send_bytes(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL}; /* the whole body goes in one final send */
    if (api_store_pool_capture(req, status, content_type, body, len))
        return 0; /* a handler run off the loop: the loop sends it (api/store_pool.h) */
    req->res.status = status;
    req->res.reason = "";
    req->res.content_length = len; /* no chunked encoding */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_iovec_t buf = h2o_iovec_init(body, len);
    h2o_start_response(req, &generator);
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

int api_then_on_loop(struct api_call *c, int (*then)(struct api_call *c))
{
    if (api_store_pool_defer(c, then))
        return 0;
    return then(c);
}

int api_reply(struct api_call *c, int status, json_t *body)
{
    h2o_req_t *req = c->req;
    /* Serialised straight into the request's pool: one copy, freed with the request. */
    size_t len = json_dumpb(body, NULL, 0, JSON_COMPACT);
    char *buf = len ? h2o_mem_alloc_pool(&req->pool, len) : NULL;
    if (buf == NULL || json_dumpb(body, buf, len, JSON_COMPACT) != len) {
        static const char oops[] = "cannot serialise the reply";
        json_decref(body);
        return api_send_bytes(req, 500, "text/plain", oops, sizeof oops - 1);
    }
    json_decref(body);
    return api_send_bytes(req, status, "application/json", buf, len);
}

int api_ok(struct api_call *c, json_t *fields)
{
    json_t *body = json_pack("{s:b}", "success", 1);
    if (fields) {
        json_object_update(body, fields);
        json_decref(fields);
    }
    return api_reply(c, 200, body);
}

int api_fail(struct api_call *c, const struct vg_error *e)
{
    json_t *error = json_pack("{s:s, s:s}", "code", vg_err_name(e->code), "message", e->message);
    if (e->field[0] != '\0')
        json_object_set_new(error, "field", json_string(e->field));
    if (e->retry_after_s > 0) {
        char *v = h2o_mem_alloc_pool(&c->req->pool, 16);
        int n = snprintf(v, 16, "%d", e->retry_after_s);
        h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v, (size_t)n);
    }
    if (e->code == VG_ERR_UNAUTHORIZED)
        h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"vidgen\""));
    if (e->code == VG_ERR_INTERNAL)
        log_error("api: %.*s %.*s: %s", (int)c->req->method.len, c->req->method.base, (int)c->req->path.len,
                  c->req->path.base, e->message);
    return api_reply(c, vg_err_http_status(e->code), json_pack("{s:b, s:o}", "success", 0, "error", error));
}

int api_fail_with(struct api_call *c, enum vg_err code, const char *field, const char *message)
{
    struct vg_error e;
    vg_fail(&e, code, field, "%s", message);
    return api_fail(c, &e);
}

/* True for "application/json", with or without parameters such as a charset. */
static int is_json_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    static const char want[] = "application/json";
    return v.len >= sizeof want - 1 && h2o_lcstris(v.base, sizeof want - 1, want, sizeof want - 1) &&
           (v.len == sizeof want - 1 || v.base[sizeof want - 1] == ';' || v.base[sizeof want - 1] == ' ');
}

/* True when a string anywhere in `v` holds a NUL character (jansson itself refuses NUL
 * in object keys). */
static bool has_nul(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_string(v))
        return strlen(json_string_value(v)) != json_string_length(v);
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            if (has_nul(item))
                return true;
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            if (has_nul(item))
                return true;
        }
    }
    return false;
}

enum vg_err api_read_json(struct api_call *c, json_t **out, struct vg_error *err)
{
    h2o_req_t *req = c->req;
    json_error_t jerr;
    *out = NULL;
    if (req->entity.base == NULL || req->entity.len == 0)
        return vg_fail(err, VG_ERR_BAD_REQUEST, "", "the request needs a JSON body");
    if (req->entity.len > API_JSON_BODY_MAX)
        return vg_fail(err, VG_ERR_TOO_LARGE, "", "the JSON body is larger than %d bytes", API_JSON_BODY_MAX);
    if (!is_json_type(req))
        return vg_fail(err, VG_ERR_MEDIA_TYPE, "", "send the body as Content-Type: application/json");
    /* \u0000 is valid JSON, so it is accepted by the parser and refused below as a value
     * no field may hold (C strings end at NUL). */
    json_t *body = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (body == NULL)
        return vg_fail(err, VG_ERR_BAD_REQUEST, "", "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                       jerr.text);
    if (!json_is_object(body)) {
        json_decref(body);
        return vg_fail(err, VG_ERR_BAD_REQUEST, "", "the request body must be a JSON object");
    }
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (has_nul(value)) {
            vg_fail(err, VG_ERR_INVALID, key, "%.60s must not contain a NUL character", key);
            json_decref(body);
            return VG_ERR_INVALID;
        }
    }
    *out = body;
    return VG_OK;
}

const char *api_param(const struct api_call *c, const char *name)
{
    const char *v = route_param(&c->match, name);
    return v ? v : "";
}

json_t *api_time(int64_t ms)
{
    char buf[25];
    if (ms == 0)
        return json_null();
    clock_format_iso(ms, buf);
    return json_string(buf);
}

json_t *api_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes %XX and '+' from src[0..len) into buf; -1 when it does not fit or is malformed. */
static int url_decode(const char *src, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '+')
            ch = ' ';
        else if (ch == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) /* no NUL inside a C string */
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        buf[n++] = ch;
    }
    buf[n] = '\0';
    return (int)n;
}

int api_query(const struct api_call *c, const char *name, char *buf, size_t cap)
{
    const h2o_req_t *req = c->req;
    size_t namelen = strlen(name);
    buf[0] = '\0';
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', end - p);
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', stop - p);
        if (eq && (size_t)(eq - p) == namelen && memcmp(p, name, namelen) == 0)
            return url_decode(eq + 1, stop - eq - 1, buf, cap);
        p = stop + 1;
    }
    return 0;
}
