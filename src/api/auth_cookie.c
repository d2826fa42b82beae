/* Authentication by the session cookie, and the CSRF guard of what it may change.
 *
 * SameSite=Strict already keeps the browser from sending the cookie with a request another
 * site starts; the guard does not rely on it alone (older browsers, a sibling subdomain):
 * a state-changing request made with the cookie must say it comes from a page of this
 * server (Origin equal to this server's origin, Sec-Fetch-Site same-origin when sent) and
 * carry the session's CSRF token, which only this server's pages can read. */
#include <string.h>

#include "api/auth.h"
#include "core/session.h"

static bool is_safe_method(const h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

/* The one value of a header named `name` (lower case), or {NULL, 0}; `*several` when sent twice. */
static h2o_iovec_t header_value(const h2o_req_t *req, const char *name, size_t len, bool *several)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
    *several = i >= 0 && h2o_find_header_by_str(&req->headers, name, len, i) >= 0;
    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* Whether `origin` is "http://HOST" or "https://HOST" for the Host the request was sent to,
 * or the origin of VIDGEN_PUBLIC_URL (this server behind a proxy). */
static bool is_own_origin(const struct api_call *c, h2o_iovec_t origin)
{
    const h2o_req_t *req = c->req;
    const char *pub = c->t->api->cfg->public_url;
    static const char *const schemes[] = {"http://", "https://"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(schemes[i]);
        if (origin.len == n + req->authority.len && memcmp(origin.base, schemes[i], n) == 0 &&
            h2o_lcstris(origin.base + n, req->authority.len, req->authority.base, req->authority.len))
            return true;
    }
    if (pub[0] != '\0') {
        const char *host = strstr(pub, "://");
        size_t len = host ? (size_t)(strcspn(host + 3, "/") + (size_t)(host + 3 - pub)) : 0;
        return len > 0 && origin.len == len && h2o_lcstris(origin.base, len, pub, len);
    }
    return false;
}

bool api_auth_same_origin(const struct api_call *c, bool require)
{
    bool several;
    h2o_iovec_t site = header_value(c->req, H2O_STRLIT("sec-fetch-site"), &several);
    if (several || (site.base != NULL && !h2o_memis(site.base, site.len, H2O_STRLIT("same-origin")) &&
                    !h2o_memis(site.base, site.len, H2O_STRLIT("none"))))
        return false;
    h2o_iovec_t origin = header_value(c->req, H2O_STRLIT("origin"), &several);
    if (several)
        return false;
    if (origin.base == NULL)
        return !require;
    return is_own_origin(c, origin);
}

/* The session cookie's value among the request's Cookie headers (HTTP/2 sends one per
 * cookie), or {NULL, 0}. */
static h2o_iovec_t session_cookie(const h2o_req_t *req)
{
    const char *v;
    size_t len;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
        h2o_iovec_t h = req->headers.entries[i].value;
        if (session_cookie_find(h.base, h.len, SESSION_COOKIE, &v, &len))
            return h2o_iovec_init(v, len);
    }
    return h2o_iovec_init(NULL, 0);
}

enum vg_err api_auth_cookie(struct api_call *c, struct vg_error *err)
{
    h2o_iovec_t cookie = session_cookie(c->req);
    if (cookie.base == NULL)
        return vg_fail(err, VG_ERR_UNAUTHORIZED, "", "log in, or send an API token as Authorization: Bearer TOKEN");
    token_hash(cookie.base, cookie.len, c->token_hash);
    enum vg_err e = store_session_user(c->t->store, c->token_hash, &c->user, NULL, err);
    if (e == VG_ERR_NOT_FOUND || e == VG_ERR_UNAUTHORIZED)
        return vg_fail(err, VG_ERR_UNAUTHORIZED, "", "the session has ended: log in again");
    if (e != VG_OK)
        return e;
    c->session = cookie;
    if (is_safe_method(c->req))
        return VG_OK;
    if (!api_auth_same_origin(c, true))
        return vg_fail(err, VG_ERR_FORBIDDEN, "", "a request made with the session cookie must come from this site");
    bool several;
    h2o_iovec_t csrf = header_value(c->req, H2O_STRLIT(SESSION_CSRF_HEADER), &several);
    if (csrf.base == NULL || several || !session_csrf_ok(cookie.base, cookie.len, csrf.base, csrf.len))
        return vg_fail(err, VG_ERR_FORBIDDEN, "",
                       "the request needs the session's CSRF token in X-CSRF-Token (GET /auth/session has it)");
    return VG_OK;
}
