/* The route table and the dispatch every request goes through: match, authenticate,
 * call the handler. */
#include <stdbool.h>
#include <string.h>

#include "api/admin.h"
#include "api/auth.h"
#include "api/events.h"
#include "api/files.h"
#include "api/handlers.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/routes.h"
#include "api/store_pool.h"
#include "api/uploads.h"
#include "core/token.h"
#include "events/bus.h"
#include "http/assets.h"
#include "http/server.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/log.h"

#define R(method, pattern, fn, flags)                                                                                  \
    {                                                                                                                  \
        method, pattern, (void *)fn, flags                                                                             \
    }

static int healthz(struct api_call *c);
static int readyz(struct api_call *c);

/* Outside API_PREFIX, tried first. */
static const struct route root_routes[] = {
    R("GET", "/healthz", healthz, API_ON_LOOP),
    R("GET", "/readyz", readyz, 0),
    R("GET", "/api/openapi.json", api_openapi, API_ON_LOOP),
    R("GET", "/metrics", api_metrics, API_ADMIN),
};

/* The login routes, also at the root of the server (api/auth.h). */
#define AUTH_PREFIX "/auth/"

static const struct route routes[] = {
    R("POST", "/auth/login", api_auth_login, API_BODY | API_ON_LOOP),
    R("POST", "/auth/logout", api_auth_logout, API_AUTH),
    R("GET", "/auth/session", api_auth_session, API_AUTH),
    R("GET", "/openapi.json", api_openapi, API_ON_LOOP),
    R("GET", "/models", api_models_list, API_ON_LOOP),
    R("GET", "/providers", api_providers_list, API_AUTH),
    R("POST", "/estimate-credits", api_estimate, API_BODY | API_ON_LOOP),
    R("GET", "/projects", api_projects_list, API_AUTH),
    R("POST", "/projects", api_projects_create, API_AUTH | API_BODY),
    R("GET", "/projects/:id", api_projects_get, API_AUTH),
    R("PATCH", "/projects/:id", api_projects_update, API_AUTH | API_BODY),
    R("DELETE", "/projects/:id", api_projects_delete, API_AUTH),
    R("GET", "/credits", api_credits_balance, API_AUTH),
    R("GET", "/credits/ledger", api_credits_ledger, API_AUTH),
    R("POST", "/generate", api_generate, API_AUTH | API_BODY),
    R("GET", "/generations", api_generations_list, API_AUTH),
    R("GET", "/generations/:id", api_generation_get, API_AUTH),
    R("DELETE", "/generations/:id", api_generation_delete, API_AUTH),
    R("GET", "/generations/:id/status", api_generation_status, API_AUTH),
    R("POST", "/generations/:id/cancel", api_generation_cancel, API_AUTH),
    R("POST", "/generations/:id/retry", api_generation_retry, API_AUTH),
    R("GET", "/events", api_events, API_AUTH),
    R("GET", "/generations/:id/video", api_generation_video, API_AUTH),
    R("HEAD", "/generations/:id/video", api_generation_video, API_AUTH),
    R("GET", "/generations/:id/thumbnail", api_generation_thumbnail, API_AUTH),
    R("HEAD", "/generations/:id/thumbnail", api_generation_thumbnail, API_AUTH),
    R("GET", "/download/:id", api_generation_download, API_AUTH),
    R("HEAD", "/download/:id", api_generation_download, API_AUTH),
    R("POST", "/upload-image", api_upload_image, API_AUTH | API_DEFER_BODY | API_ON_LOOP),
    R("GET", "/uploads", api_uploads_list, API_AUTH),
    R("GET", "/uploads/:id", api_upload_get, API_AUTH),
    R("HEAD", "/uploads/:id", api_upload_get, API_AUTH),
    R("DELETE", "/uploads/:id", api_upload_delete, API_AUTH),
    /* No Authorization: the link's signature is the credential (core/image_link.h). */
    R("GET", "/public/images/:user/:name", api_public_image, API_ON_LOOP),
    R("HEAD", "/public/images/:user/:name", api_public_image, API_ON_LOOP),
    /* No Authorization: the token in the path is the credential (core/webhook.h). */
    R("POST", "/webhooks/:provider/:token", api_webhook, API_BODY | API_DEFER_BODY | API_ON_LOOP),
    /* Admins only (api/admin.h); 404 for everyone else. */
    R("GET", "/admin/users", api_admin_users_list, API_ADMIN),
    R("POST", "/admin/users", api_admin_users_create, API_ADMIN | API_BODY),
    R("POST", "/admin/users/:id/credits", api_admin_credits, API_ADMIN | API_BODY),
    R("POST", "/admin/users/:id/disable", api_admin_user_disable, API_ADMIN),
    R("POST", "/admin/users/:id/enable", api_admin_user_enable, API_ADMIN),
    R("POST", "/admin/users/:id/tokens", api_admin_tokens_create, API_ADMIN | API_BODY),
    R("GET", "/admin/tokens", api_admin_tokens_list, API_ADMIN),
    R("DELETE", "/admin/tokens/:id", api_admin_token_revoke, API_ADMIN),
    R("GET", "/admin/generations", api_admin_generations_list, API_ADMIN),
    R("POST", "/admin/generations/:id/cancel", api_admin_generation_cancel, API_ADMIN),
    R("POST", "/admin/generations/:id/refund", api_admin_generation_refund, API_ADMIN | API_BODY),
    R("GET", "/admin/failed", api_admin_failed, API_ADMIN),
};

size_t api_route_tables(const struct api_route_table **out)
{
    static const struct api_route_table tables[] = {
        {"", root_routes, sizeof root_routes / sizeof root_routes[0]},
        {API_PREFIX, routes, sizeof routes / sizeof routes[0]},
    };
    *out = tables;
    return sizeof tables / sizeof tables[0];
}

bool api_defers_body(const char *method, size_t method_len, const char *path, size_t path_len)
{
    const char *query = memchr(path, '?', path_len);
    if (query != NULL)
        path_len = (size_t)(query - path);
    if (path_len < sizeof API_PREFIX - 1 || memcmp(path, API_PREFIX, sizeof API_PREFIX - 1) != 0)
        return false;
    struct route_match m;
    return router_match(routes, sizeof routes / sizeof routes[0], method, method_len, path + sizeof API_PREFIX - 1,
                        path_len - (sizeof API_PREFIX - 1), &m) == ROUTER_FOUND &&
           (m.route->flags & API_DEFER_BODY);
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The token of "Authorization: Bearer TOKEN" (RFC 9110 §11: the scheme is case-insensitive,
 * whitespace around the credentials is not part of them), or {NULL, 0}. */
static h2o_iovec_t bearer_token(h2o_iovec_t v)
{
    static const char scheme[] = "bearer";
    size_t n = sizeof scheme - 1, i = n;
    if (v.len <= n || !h2o_lcstris(v.base, n, scheme, n) || !is_ows(v.base[n]))
        return h2o_iovec_init(NULL, 0);
    size_t end = v.len;
    while (i < end && is_ows(v.base[i]))
        i++;
    while (end > i && is_ows(v.base[end - 1]))
        end--;
    return i < end ? h2o_iovec_init(v.base + i, end - i) : h2o_iovec_init(NULL, 0);
}

/* Finds the user behind "Authorization: Bearer TOKEN", or without that header, behind the
 * session cookie of the web app (api/auth.h). */
static enum vg_err authenticate(struct api_call *c, struct vg_error *err)
{
    h2o_req_t *req = c->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return api_auth_cookie(c, err);
    if (h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, i) >= 0)
        return vg_fail(err, VG_ERR_BAD_REQUEST, "", "send one Authorization header, not several");
    h2o_iovec_t tok = bearer_token(req->headers.entries[i].value);
    if (tok.base == NULL)
        return vg_fail(err, VG_ERR_UNAUTHORIZED, "", "the Authorization header must be Bearer TOKEN");
    token_hash(tok.base, tok.len, c->token_hash);
    enum vg_err e = store_token_user(c->t->store, c->token_hash, &c->user, err);
    if (e == VG_ERR_UNAUTHORIZED || e == VG_ERR_NOT_FOUND)
        return vg_fail(err, VG_ERR_UNAUTHORIZED, "", "the API token is unknown or revoked");
    return e;
}

/* An error h2o found before routing (http/server.h), in the API's error shape. */
static int protocol_error(struct api_call *c, const char *status, size_t len)
{
    if (h2o_memis(status, len, H2O_STRLIT("413")))
        return api_fail_with(c, VG_ERR_TOO_LARGE, "",
                             "the request body is larger than this server takes (" API_MAX_BODY_TEXT ")");
    if (h2o_memis(status, len, H2O_STRLIT("417")))
        return api_fail_with(c, VG_ERR_BAD_REQUEST, "", "the only expectation understood is Expect: 100-continue");
    return api_fail_with(c, VG_ERR_BAD_REQUEST, "", "malformed HTTP request");
}

static int healthz(struct api_call *c)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return api_send_bytes(c->req, 200, "application/json", ok, sizeof ok - 1);
}

/* Redis as this process's queue and events bus last found it: both keep their state
 * current on their own threads (a PING when idle), so this waits on no network. */
static const char *redis_readiness(const struct api *api)
{
    char why[200];
    enum queue_health q = api->queue ? queue_health(api->queue, why, sizeof why) : QUEUE_LOCAL;
    enum events_health e = api->bus ? events_bus_health(api->bus, why, sizeof why) : EVENTS_LOCAL;
    if (q == QUEUE_LOCAL && e == EVENTS_LOCAL)
        return "not configured";
    return q == QUEUE_DOWN || e == EVENTS_DOWN ? "unavailable" : "ok";
}

/* Readiness: whether this process can serve now — the store answers a trivial query and
 * Redis (when configured) answers. 503 names what failed (details are in the log, said
 * once per change); /healthz stays liveness. */
static int readyz(struct api_call *c)
{
    struct vg_error err;
    long users;
    bool db_ok = store_user_count(c->t->store, &users, &err) == VG_OK;
    const char *redis = redis_readiness(c->t->api);
    bool ready = db_ok && strcmp(redis, "unavailable") != 0;
    return api_reply(
        c, ready ? 200 : 503,
        json_pack("{s:b, s:s, s:s}", "ready", ready, "database", db_ok ? "ok" : "unavailable", "redis", redis));
}

/* Checks the matched route's body size and token, then calls its handler. */
static int run_route(struct api_call *c)
{
    struct vg_error err;
    unsigned flags = c->match.route->flags;
    if ((flags & API_ADMIN) && (authenticate(c, &err) != VG_OK || !c->user.is_admin))
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such endpoint");
    if (!(flags & API_BODY) && c->req->entity.len > API_JSON_BODY_MAX)
        return api_fail_with(c, VG_ERR_TOO_LARGE, "", "this endpoint takes no body");
    if ((flags & API_AUTH) && authenticate(c, &err) != VG_OK)
        return api_fail(c, &err);
    return ((api_handler)c->match.route->handler)(c);
}

/* Runs the route here, or off the loop when the store may wait on the network. */
static int dispatch(struct api_call *c, struct api_metrics_req *counted)
{
    api_metrics_route(counted, c->match.route);
    struct http_pool *pool = c->t->api->store_pool;
    if (pool != NULL && !(c->match.route->flags & API_ON_LOOP))
        return api_store_pool_call(pool, c, run_route);
    return run_route(c);
}

int api_handle(h2o_req_t *req, void *thread)
{
    struct api_call c = {.req = req, .t = thread};
    struct api_metrics_req *counted = api_metrics_begin(req);
    c.body_deferred = http_body_deferred(req, &c.body);
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *path = req->path.base;

    if (router_match(root_routes, sizeof root_routes / sizeof root_routes[0], req->method.base, req->method.len, path,
                     path_len, &c.match) == ROUTER_FOUND)
        return dispatch(&c, counted);
    /* Only by h2o's internal redirect: a client asking for this path gets 404 like any other. */
    if (!h2o_memis(req->input.path.base, req->input.path.len, req->path.base, req->path.len) &&
        path_len > sizeof HTTP_SERVER_ERROR_PREFIX - 1 &&
        memcmp(path, HTTP_SERVER_ERROR_PREFIX, sizeof HTTP_SERVER_ERROR_PREFIX - 1) == 0)
        return protocol_error(&c, path + sizeof HTTP_SERVER_ERROR_PREFIX - 1,
                              path_len - (sizeof HTTP_SERVER_ERROR_PREFIX - 1));
    /* The web app's files: "/" and /assets/… (http/assets.h). */
    const struct http_asset *asset = http_asset_find(path, path_len);
    if (asset != NULL && (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
                          h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))))
        return http_asset_send(req, asset);
    size_t skip = sizeof API_PREFIX - 1;
    if (path_len >= sizeof AUTH_PREFIX - 1 && memcmp(path, AUTH_PREFIX, sizeof AUTH_PREFIX - 1) == 0)
        skip = 0; /* /auth/… answers at the root too */
    else if (path_len < skip || memcmp(path, API_PREFIX, skip) != 0)
        return api_fail_with(&c, VG_ERR_NOT_FOUND, "", "no such endpoint");

    switch (router_match(routes, sizeof routes / sizeof routes[0], req->method.base, req->method.len, path + skip,
                         path_len - skip, &c.match)) {
    case ROUTER_NOT_FOUND: return api_fail_with(&c, VG_ERR_NOT_FOUND, "", "no such endpoint");
    case ROUTER_BAD_METHOD:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, c.match.allow, strlen(c.match.allow));
        return api_fail_with(&c, VG_ERR_METHOD, "", "this endpoint does not take that method");
    case ROUTER_FOUND: break;
    }
    return dispatch(&c, counted);
}
