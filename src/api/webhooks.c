/* POST /webhooks/:provider/:token — a provider calling back that a job ended.
 *
 * A callback never carries trust. Its URL token (core/webhook.h) is its only credential,
 * and the one thing it can do is make the generation's job due now, so that a worker polls
 * the provider at once: that poll, over a connection vidgen opened to the provider, is what
 * the job goes by. The body is read only to check that it is this provider's callback about
 * this generation's provider job, and for Eden AI, when EDENAI_WEBHOOK_PUBLIC_KEY is set,
 * that its signature verifies (ModelsLab's callbacks are unsigned: the poll confirms them,
 * as ../shared/providers/modelslab.md §4 advises). So a forged "success" cannot complete a
 * job, a replay or a duplicate costs one poll at most, and polling stays the fallback when a
 * callback never comes.
 *
 * Every outcome gets the same reply — a wrong token, another generation's token, a bad
 * signature, a replay after the job ended, garbage, an unknown provider, a store error —
 * so that a caller cannot tell which check failed or whether a token exists.
 *
 * Eden AI's callbacks carry the video itself, in base64, so this route reads its body
 * itself (API_DEFER_BODY) rather than within h2o's 64 KB: up to WEBHOOK_MAX_BODY (as a poll
 * reply may be, worker/remote_job.c), a larger one refused with 413 before it is read. A
 * body is kept only when the URL's token is one vidgen gave out for a job that has not
 * ended, and within WEBHOOK_BUFFER_BUDGET for all callbacks being read at once; any other
 * is read and dropped (the same reply: an unknown token, as garbage; past the budget,
 * polling covers the job), so that strangers cannot make the server hold their bodies. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "core/webhook.h"
#include "providers/edenai_signature.h"
#include "providers/registry.h"
#include "queue/queue.h"
#include "util/log.h"

/* The one reply. */
static int acknowledge(struct api_call *c)
{
    static const char ok[] = "{\"success\":true}";
    return api_send_bytes(c->req, 200, "application/json", ok, sizeof ok - 1);
}

/* The value of the only `name` header (lower case), or {NULL, 0} when there is none or
 * more than one. */
static h2o_iovec_t only_header(h2o_req_t *req, const char *name, size_t len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
    if (i < 0 || h2o_find_header_by_str(&req->headers, name, len, i) >= 0)
        return h2o_iovec_init(NULL, 0);
    return req->headers.entries[i].value;
}

/* Whether a callback of provider `p` is signed as it must be. Only Eden AI signs its
 * callbacks, and it is checked when its key is configured: then an unsigned callback, one
 * signed with another hash or key, or one whose body was changed is refused. */
static bool signed_as_required(const struct api *api, const struct provider *p, h2o_req_t *req)
{
    if (strcmp(p->name, "edenai") != 0 || api->edenai_webhook_key == NULL)
        return true;
    h2o_iovec_t sig = only_header(req, H2O_STRLIT("x-edenai-signature"));
    ssize_t alg = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-edenai-hash-algorithm"), -1);
    if (alg >= 0 &&
        !h2o_lcstris(req->headers.entries[alg].value.base, req->headers.entries[alg].value.len, H2O_STRLIT("sha256")))
        return false;
    return sig.base != NULL &&
           edenai_webhook_verify(api->edenai_webhook_key, req->entity.base, req->entity.len, sig.base, sig.len);
}

/* Makes the callback's job due when every check passes; NULL then, else why not (a static
 * string or `why`, for the debug log only: the caller never learns it). */
static const char *wake(struct api_call *c, const struct provider *p, char *why, size_t whylen)
{
    const struct api *api = c->t->api;
    char hash[TOKEN_HASH_LEN + 1], id[ID_LEN + 1];
    struct remote_reply r;
    struct vg_error err;
    if (p == NULL || p->kind != PROVIDER_HTTP || p->parse_webhook == NULL)
        return "no such provider";
    if (webhook_token_hash(api_param(c, "token"), hash) != 0)
        return "not a token";
    if (!signed_as_required(api, p, c->req))
        return "not signed by the provider";
    if (p->parse_webhook(c->req->entity.base, c->req->entity.len, &r) != 0)
        return snprintf(why, whylen, "%s", r.message), why;
    if (r.job_id[0] == '\0')
        return "no provider job id";
    enum vg_err e = store_webhook_wake(c->t->store, p->name, hash, r.job_id, id, &err);
    if (e == VG_ERR_NOT_FOUND)
        return "no running generation has this token and provider job";
    if (e != VG_OK) {
        log_warn("webhook: %s: %s (the job is polled on its schedule)", p->name, err.message);
        return "store error";
    }
    log_gen(LOG_INFO, id, "webhook: generation %s: %s called back; polling it now", id, p->display_name);
    queue_push(api->queue, id);
    return NULL;
}

#define WEBHOOK_MAX_BODY (64u << 20)
#define WEBHOOK_MAX_BODY_TEXT "64 MB"
#define WEBHOOK_BUFFER_BUDGET (128u << 20)

static atomic_size_t buffered; /* bytes reserved by callbacks being read, all threads */

/* Checks the callback in c->req->entity and gives the one reply. */
static int answer(struct api_call *c)
{
    char buf[sizeof((struct remote_reply *)0)->message];
    const char *provider = api_param(c, "provider");
    const char *why = wake(c, provider_find(provider), buf, sizeof buf);
    if (why != NULL)
        log_debug("webhook: %.32s: ignored: %s", provider, why);
    return acknowledge(c);
}

/* A callback whose body is being read (allocated in the request's pool). */
struct webhook_read {
    struct api_call c;
    char *bytes; /* owned: NULL when the body is dropped */
    size_t len;
};

static int on_data(void *arg, const char *bytes, size_t len)
{
    struct webhook_read *w = arg;
    if (w->bytes != NULL)
        memcpy(w->bytes + w->len, bytes, len);
    w->len += len;
    return 0;
}

static void on_end(void *arg, enum http_body_end end)
{
    struct webhook_read *w = arg;
    if (end != HTTP_BODY_COMPLETE)
        api_fail_with(&w->c, VG_ERR_BAD_REQUEST, "", "the request body did not arrive whole");
    else {
        w->c.req->entity = w->bytes != NULL ? h2o_iovec_init(w->bytes, w->len) : h2o_iovec_init("", 0);
        answer(&w->c);
    }
    if (w->bytes != NULL) {
        free(w->bytes);
        atomic_fetch_sub(&buffered, w->c.body.length);
    }
}

/* Reserves room for `len` more bytes within the budget; false when there is none. */
static bool reserve(size_t len)
{
    size_t now = atomic_load(&buffered);
    do {
        if (now + len > WEBHOOK_BUFFER_BUDGET)
            return false;
    } while (!atomic_compare_exchange_weak(&buffered, &now, now + len));
    return true;
}

/* Where the body of a callback goes: a buffer when its token is live and the budget has
 * room, else NULL (read and dropped). */
static char *body_buffer(struct api_call *c)
{
    char hash[TOKEN_HASH_LEN + 1];
    struct vg_error err;
    size_t len = c->body.length;
    if (webhook_token_hash(api_param(c, "token"), hash) != 0 ||
        store_webhook_known(c->t->store, api_param(c, "provider"), hash, &err) != VG_OK)
        return NULL;
    if (!reserve(len)) {
        log_warn("webhook: a %zu-byte callback is read and dropped: callbacks being read hold the budget "
                 "(the job is polled on its schedule)",
                 len);
        return NULL;
    }
    char *bytes = malloc(len);
    if (bytes == NULL)
        atomic_fetch_sub(&buffered, len);
    return bytes;
}

int api_webhook(struct api_call *c)
{
    static const struct http_body_reader reader = {on_data, on_end};
    if (!c->body_deferred)
        return answer(c);
    if (c->body.length > WEBHOOK_MAX_BODY)
        return api_fail_with(c, VG_ERR_TOO_LARGE, "",
                             "a callback body may be at most " WEBHOOK_MAX_BODY_TEXT " on this server");
    struct webhook_read *w = h2o_mem_alloc_pool(&c->req->pool, sizeof *w);
    *w = (struct webhook_read){.c = *c, .bytes = body_buffer(c)};
    http_body_read(c->req, &c->body, &reader, w);
    return 0;
}
