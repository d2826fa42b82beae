/* Generations: create (charging credits), status, list, get, cancel, retry, delete. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/admin.h"
#include "api/handlers.h"
#include "api/uploads.h"
#include "api/views.h"
#include "core/gen_request.h"
#include "core/upload.h"
#include "metrics/metrics.h"
#include "providers/registry.h"
#include "queue/queue.h"
#include "util/parse.h"
#include "util/path.h"

#define IDEMPOTENCY_KEY_MAX 255
#define PAGE_DEFAULT 20
#define PAGE_MAX 100

/* The hash an Idempotency-Key is bound to: the body with keys sorted and no white space,
 * so the same request sent with other formatting is still the same request. */
static void request_hash(json_t *body, char out[65])
{
    unsigned char h[32];
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    crypto_generichash(h, sizeof h, (const unsigned char *)(canon ? canon : ""), canon ? strlen(canon) : 0, NULL, 0);
    free(canon);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* Reads the Idempotency-Key header into `out` ("" when absent). */
static enum vg_err idempotency_key(h2o_req_t *req, char out[IDEMPOTENCY_KEY_MAX + 1], struct vg_error *err)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    out[0] = '\0';
    if (i < 0)
        return VG_OK;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len == 0 || v.len > IDEMPOTENCY_KEY_MAX)
        return vg_fail(err, VG_ERR_INVALID, "Idempotency-Key", "Idempotency-Key must be 1 to %d characters",
                       IDEMPOTENCY_KEY_MAX);
    for (size_t k = 0; k < v.len; k++)
        if ((unsigned char)v.base[k] < 0x21 || (unsigned char)v.base[k] > 0x7E)
            return vg_fail(err, VG_ERR_INVALID, "Idempotency-Key", "Idempotency-Key must be printable ASCII");
    memcpy(out, v.base, v.len);
    out[v.len] = '\0';
    return VG_OK;
}

/* 503 with Retry-After while the route's provider fails and its circuit is open (the
 * workers would hold the job until it closes: better the user knows now, before paying). */
static enum vg_err check_circuit(struct store *store, const struct catalog_route *route, struct vg_error *err)
{
    struct provider_health h;
    int64_t now = clock_now_ms();
    const struct provider *p = provider_find(route->provider);
    if (p == NULL || p->kind != PROVIDER_HTTP)
        return VG_OK;
    enum vg_err e = store_provider_health_get(store, route->provider, &h, err);
    if (e != VG_OK || now >= h.open_until)
        return e;
    vg_fail(err, VG_ERR_UNAVAILABLE, "modelId", "%s is failing (%s); try again in a moment",
            provider_display_name(route->provider), h.last_failure);
    err->retry_after_s = (int)((h.open_until - now + 999) / 1000);
    return VG_ERR_UNAVAILABLE;
}

/* The filePath of the caller's upload named by `path` or `id` (either may be NULL) into
 * `out`, or "" when neither is given. A path is only looked up among the user's uploads,
 * never opened: another user's, an unknown one, "../" or an absolute path is not found. */
static enum vg_err resolve_image(struct api_call *c, const char *path, const char *id, const char *field, char *out,
                                 size_t cap, struct vg_error *err)
{
    struct upload u;
    out[0] = '\0';
    if (path == NULL && id == NULL)
        return VG_OK;
    enum vg_err e = id != NULL && !id_valid(id) ? VG_ERR_NOT_FOUND
                                                : store_upload_get(c->t->store, c->user.id, id, path, NULL, &u, err);
    if (e == VG_ERR_NOT_FOUND)
        return vg_fail(err, VG_ERR_INVALID, field, "no uploaded image of yours at %s", field);
    if (e != VG_OK)
        return e;
    snprintf(out, cap, "%s", u.file_path);
    upload_free(&u);
    return VG_OK;
}

/* The route that takes the generation: the first of the model's routes whose provider is
 * available, can fetch its images (a signed link to this server, core/image_link.h) and is
 * not failing (circuit closed). When none can, the first route's reason. The worker moves on
 * along the same list when a route fails (worker/remote_job.c). */
static enum vg_err pick_route(struct api_call *c, const struct gen_request *r, bool images,
                              const struct catalog_route **route, struct vg_error *err)
{
    const struct catalog_model *m = r->model;
    struct vg_error first = {0}, why_not;
    char why[256];
    for (int i = 0; i < m->n_routes; i++) {
        enum vg_err e;
        switch (provider_route_fit(&m->routes[i], c->t->api->cfg, images, why, sizeof why)) {
        case ROUTE_OK: e = check_circuit(c->t->store, &m->routes[i], &why_not); break;
        case ROUTE_UNAVAILABLE:
            e = vg_fail(&why_not, VG_ERR_INVALID, "modelId", "%s is unavailable: %s", m->id, why);
            break;
        case ROUTE_NO_IMAGES:
        default:
            e = vg_fail(&why_not, VG_ERR_INVALID, r->start_image || r->start_image_id ? r->start_field : r->end_field,
                        "%s", why);
        }
        if (e == VG_OK) {
            *route = &m->routes[i];
            return VG_OK;
        }
        if (i == 0)
            first = why_not;
    }
    if (err)
        *err = first;
    return first.code;
}

/* Checks what the price does not: the model can be served now (*route: by which provider),
 * and images resolve (to the filePaths in `start` and `end`). */
static enum vg_err check_servable(struct api_call *c, const struct gen_request *r, const struct catalog_route **route,
                                  char start[UPLOAD_FILE_PATH_MAX], char end[UPLOAD_FILE_PATH_MAX],
                                  struct vg_error *err)
{
    bool images = r->start_image || r->start_image_id || r->end_image || r->end_image_id;
    enum vg_err e;
    if ((e = pick_route(c, r, images, route, err)) ||
        (e = resolve_image(c, r->start_image, r->start_image_id, r->start_field, start, UPLOAD_FILE_PATH_MAX, err)))
        return e;
    return resolve_image(c, r->end_image, r->end_image_id, r->end_field, end, UPLOAD_FILE_PATH_MAX, err);
}

/* Charges and creates a generation for `body`, then wakes the workers. On success *out is
 * the caller's (generation_free) and *replayed tells an idempotent replay. */
static enum vg_err create_generation(struct api_call *c, json_t *body, const char *key, struct generation *out,
                                     bool *replayed, struct vg_error *err)
{
    const struct api *api = c->t->api;
    struct gen_request r;
    const struct catalog_route *route = NULL;
    struct price p;
    char hash[65], start[UPLOAD_FILE_PATH_MAX], end[UPLOAD_FILE_PATH_MAX];
    enum vg_err e;
    if ((e = gen_request_parse(&api->catalog, body, GEN_REQUEST_GENERATE, &r, err)) ||
        (e = check_servable(c, &r, &route, start, end, err)))
        return e;
    gen_request_price(&r, &p);
    request_hash(body, hash);
    struct generation_new in = {
        .user_id = c->user.id,
        .project_id = r.project_id,
        .provider = route->provider,
        .model_id = r.model->id,
        .model_name = r.model->name,
        .prompt = r.prompt,
        .negative_prompt = r.negative_prompt,
        .start_image = start[0] ? start : NULL,
        .end_image = end[0] ? end : NULL,
        .resolution = resolution_name(r.resolution),
        .aspect_ratio = r.aspect_ratio,
        .duration = r.duration,
        .audio = r.audio,
        .enhance_prompt = r.enhance_prompt,
        .credits = p.total,
        .idempotency_key = key && key[0] ? key : NULL,
        .request_hash = hash,
    };
    e = store_generation_create(c->t->store, &in, out, replayed, err);
    if (e == VG_ERR_NO_CREDITS)
        return vg_fail(err, e, "", "this generation costs %ld credits and your balance is %ld", p.total,
                       c->user.balance);
    /* No live event for "pending": the reply says it, and an event published from this
     * thread could overtake or trail the worker's first one, showing a status go back. */
    if (e == VG_OK && !*replayed)
        queue_push(api->queue, out->id);
    return e;
}

static int reply_created(struct api_call *c, struct generation *g, bool replayed)
{
    if (replayed)
        h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, H2O_STRLIT("idempotent-replayed"), 0, NULL,
                              H2O_STRLIT("true"));
    json_t *body = json_pack("{s:b, s:o, s:s}", "success", 1, "generation", view_generation(g), "message",
                             "Video generation started. Check status for progress.");
    generation_free(g);
    return api_reply(c, 201, body);
}

int api_generate(struct api_call *c)
{
    struct vg_error err;
    struct generation g;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    bool replayed;
    json_t *body;
    if (idempotency_key(c->req, key, &err) != VG_OK || api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    enum vg_err e = create_generation(c, body, key, &g, &replayed, &err);
    json_decref(body);
    return e == VG_OK ? reply_created(c, &g, replayed) : api_fail(c, &err);
}

/* Loads the caller's generation named by the :id parameter, or answers 404. */
static int load(struct api_call *c, struct generation *g)
{
    struct vg_error err;
    if (store_generation_get(c->t->store, c->user.id, api_param(c, "id"), g, &err) != VG_OK) {
        api_fail(c, &err);
        return -1;
    }
    return 0;
}

static int reply_generation(struct api_call *c, const char *field, json_t *(*view)(const struct generation *),
                            struct generation *g)
{
    json_t *v = view(g);
    generation_free(g);
    return api_ok(c, json_pack("{s:o}", field, v));
}

int api_generation_status(struct api_call *c)
{
    struct generation g;
    return load(c, &g) ? 0 : reply_generation(c, "status", view_status, &g);
}

/* The generation with its attempt history: which providers were tried, and how each ended. */
int api_generation_get(struct api_call *c)
{
    struct generation g;
    struct attempt_list attempts;
    struct vg_error err;
    if (load(c, &g) != 0)
        return 0;
    enum vg_err e = store_generation_attempts(c->t->store, c->user.id, g.id, &attempts, &err);
    json_t *v = view_generation(&g);
    generation_free(&g);
    if (e != VG_OK) {
        json_decref(v);
        return api_fail(c, &err);
    }
    json_object_set_new(v, "attempts", view_attempts(&attempts));
    attempt_list_free(&attempts);
    return api_ok(c, json_pack("{s:o}", "generation", v));
}

static bool valid_status(const char *s)
{
    static const char *const all[] = {"pending", "processing", "completed", "failed", "cancelled"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, all[i]) == 0)
            return true;
    return false;
}

/* Reads ?projectId=&status=&limit=&before= into `q` (strings in `buf`). */
static enum vg_err read_page_query(struct api_call *c, struct generation_query *q, char buf[4][64],
                                   struct vg_error *err)
{
    const char *names[] = {"projectId", "status", "before", "limit"};
    for (int i = 0; i < 4; i++)
        if (api_query(c, names[i], buf[i], sizeof buf[i]) < 0)
            return vg_fail(err, VG_ERR_INVALID, names[i], "%s is malformed or too long", names[i]);
    q->project_id = buf[0][0] ? buf[0] : NULL;
    q->status = buf[1][0] ? buf[1] : NULL;
    q->before_id = buf[2][0] ? buf[2] : NULL;
    q->limit = PAGE_DEFAULT;
    if ((q->project_id && !id_valid(q->project_id)))
        return vg_fail(err, VG_ERR_NOT_FOUND, "projectId", "no such project");
    if (q->status && !valid_status(q->status))
        return vg_fail(err, VG_ERR_INVALID, "status",
                       "status must be pending, processing, completed, failed or cancelled");
    if (q->before_id && !id_valid(q->before_id))
        return vg_fail(err, VG_ERR_INVALID, "before", "before must be a generation id (nextCursor)");
    if (buf[3][0] && parse_int(buf[3], 1, PAGE_MAX, &q->limit) != 0)
        return vg_fail(err, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to %d", PAGE_MAX);
    return VG_OK;
}

int api_generations_list(struct api_call *c)
{
    struct generation_query q = {.user_id = c->user.id};
    struct generation_list list;
    struct project p;
    struct vg_error err;
    char buf[4][64];
    if (read_page_query(c, &q, buf, &err) != VG_OK)
        return api_fail(c, &err);
    if (q.project_id) { /* another user's project is 404, not an empty list */
        if (store_project_get(c->t->store, c->user.id, q.project_id, &p, &err) != VG_OK)
            return api_fail(c, &err);
        project_free(&p);
    }
    if (store_generation_page(c->t->store, &q, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(items, view_generation(&list.items[i]));
    json_t *next = list.n == (size_t)q.limit ? json_string(list.items[list.n - 1].id) : json_null();
    generation_list_free(&list);
    return api_ok(c, json_pack("{s:o, s:o}", "generations", items, "nextCursor", next));
}

int api_generation_cancel(struct api_call *c)
{
    return api_cancel_generation(c, c->user.id, api_param(c, "id"));
}

int api_cancel_generation(struct api_call *c, const char *user_id, const char *id)
{
    struct vg_error err;
    struct generation g;
    if (store_generation_cancel(c->t->store, user_id, id, &g, &err) != VG_OK)
        return api_fail(c, &err);
    /* A running generation is only flagged: its worker announces the cancel when it stops,
     * as it announces every change it makes; an event from this thread could trail that
     * one and show the status go back (see create). A pending one that no worker ever
     * held is ended by this call alone and nothing follows, so it is announced here. */
    if (strcmp(g.status, "cancelled") == 0) {
        api_notify(c->t->api, &g);
        metrics_generation_ended(g.model_id, g.provider, g.status);
    } else /* a worker may hold it between polls: it looks at once */
        queue_push(c->t->api->queue, g.id);
    return reply_generation(c, "generation", view_generation, &g);
}

/* The request a stored generation was made from, to make it again. */
static json_t *request_of(const struct generation *g)
{
    json_t *b =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:b}", "projectId", g->project_id, "modelId", g->model_id,
                  "prompt", g->prompt ? g->prompt : "", "resolution", g->resolution, "duration", g->duration,
                  "aspectRatio", g->aspect_ratio, "generateAudio", g->audio, "enhancePrompt", g->enhance_prompt);
    if (g->negative_prompt)
        json_object_set_new(b, "negativePrompt", json_string(g->negative_prompt));
    if (g->start_image)
        json_object_set_new(b, "startImagePath", json_string(g->start_image));
    if (g->end_image)
        json_object_set_new(b, "endImagePath", json_string(g->end_image));
    return b;
}

/* A retry is a new generation with the same request, priced and charged anew (the failed
 * one was refunded); the original stays in the history. */
int api_generation_retry(struct api_call *c)
{
    struct vg_error err;
    struct generation g, fresh;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    bool replayed;
    if (idempotency_key(c->req, key, &err) != VG_OK)
        return api_fail(c, &err);
    if (load(c, &g))
        return 0;
    if (strcmp(g.status, "failed") != 0 && strcmp(g.status, "cancelled") != 0) {
        vg_fail(&err, VG_ERR_CONFLICT, "", "only a failed or cancelled generation can be retried (this one is %s)",
                g.status);
        generation_free(&g);
        return api_fail(c, &err);
    }
    json_t *body = request_of(&g);
    generation_free(&g);
    enum vg_err e = create_generation(c, body, key, &fresh, &replayed, &err);
    json_decref(body);
    return e == VG_OK ? reply_created(c, &fresh, replayed) : api_fail(c, &err);
}

/* Paths come from the store, relative to the data directory, written only by the worker;
 * anything else is left alone (a truncated path could name another file). */
static void remove_file(const char *data_dir, const char *rel)
{
    char path[1200];
    if (rel == NULL || !path_is_safe_relative(rel, strlen(rel)))
        return;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, rel) < sizeof path)
        unlink(path);
}

void api_remove_files(const struct api *api, struct store *store, const struct generation *g)
{
    remove_file(api->cfg->data_dir, g->output_path);
    remove_file(api->cfg->data_dir, g->thumbnail_path);
    upload_release(api, store, g->start_image);
    upload_release(api, store, g->end_image);
}

int api_generation_delete(struct api_call *c)
{
    struct vg_error err;
    struct generation g;
    if (store_generation_delete(c->t->store, c->user.id, api_param(c, "id"), &g, &err) != VG_OK)
        return api_fail(c, &err);
    api_remove_files(c->t->api, c->t->store, &g);
    generation_free(&g);
    return api_ok(c, NULL);
}
