#include "http/assets.h"

#include <string.h>

/* Nothing but this server's own files: no inline script or style, no framing, no plugins.
 * Images may also be blob: (previews of images picked for upload, before they are sent). */
#define CSP                                                                                                            \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self'; "                \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "                  \
    "frame-ancestors 'none'"

const struct http_asset *http_asset_find(const char *path, size_t len)
{
    for (const struct http_asset *a = http_assets; a->path != NULL; a++)
        if (strlen(a->path) == len && memcmp(a->path, path, len) == 0)
            return a;
    return NULL;
}

/* Calls each(element, len, arg) for the comma-separated elements of every `token` header of
 * the request, spaces trimmed; stops and returns true when it does. */
static bool any_element(const h2o_req_t *req, const h2o_token_t *token, bool (*each)(const char *, size_t, void *),
                        void *arg)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, token, i)) >= 0;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        for (size_t at = 0; at < v.len;) {
            size_t end = at;
            while (end < v.len && v.base[end] != ',')
                end++;
            size_t a = at, b = end;
            while (a < b && (v.base[a] == ' ' || v.base[a] == '\t'))
                a++;
            while (b > a && (v.base[b - 1] == ' ' || v.base[b - 1] == '\t'))
                b--;
            if (b > a && each(v.base + a, b - a, arg))
                return true;
            at = end + 1;
        }
    }
    return false;
}

static bool is_etag(const char *e, size_t len, void *etag)
{
    return (len == 1 && e[0] == '*') || (len == strlen(etag) && memcmp(e, etag, len) == 0);
}

/* "gzip", with no q parameter or a q above zero. */
static bool is_gzip(const char *e, size_t len, void *arg)
{
    (void)arg;
    size_t name = 0;
    while (name < len && e[name] != ';' && e[name] != ' ')
        name++;
    if (!(name == 4 && h2o_lcstris(e, 4, "gzip", 4)) && !(name == 1 && e[0] == '*'))
        return false;
    const char *q = memchr(e, '=', len);
    if (q == NULL)
        return true;
    for (q++; q < e + len; q++)
        if (*q >= '1' && *q <= '9')
            return true; /* q=0.5, q=1: anything but zeros */
    return false;
}

static void add(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static void add_named(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, strlen(value));
}

int http_asset_send(h2o_req_t *req, const struct http_asset *a)
{
    static h2o_generator_t generator = {NULL, NULL};
    bool gz = a->gz != NULL && any_element(req, H2O_TOKEN_ACCEPT_ENCODING, is_gzip, NULL);
    add(req, H2O_TOKEN_ETAG, a->etag);
    add(req, H2O_TOKEN_CACHE_CONTROL, a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    if (a->gz != NULL)
        add(req, H2O_TOKEN_VARY, "Accept-Encoding");
    add_named(req, "x-content-type-options", "nosniff");
    if (strncmp(a->type, "text/html", 9) == 0) {
        add_named(req, "content-security-policy", CSP);
        add_named(req, "referrer-policy", "no-referrer");
        add_named(req, "x-frame-options", "DENY");
    }
    req->res.reason = "";
    if (any_element(req, H2O_TOKEN_IF_NONE_MATCH, is_etag, (void *)a->etag)) {
        req->res.status = 304;
        req->res.content_length = 0;
        h2o_start_response(req, &generator);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return 0;
    }
    req->res.status = 200;
    add(req, H2O_TOKEN_CONTENT_TYPE, a->type);
    if (gz)
        add(req, H2O_TOKEN_CONTENT_ENCODING, "gzip");
    h2o_iovec_t body = gz ? h2o_iovec_init(a->gz, a->gz_len) : h2o_iovec_init(a->data, a->len);
    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
}
