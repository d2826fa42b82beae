#include <stdlib.h>
#include <string.h>

#include "api/admin.h"
#include "api/views.h"
#include "store/store_admin.h"
#include "util/id.h"
#include "util/parse.h"

static const char *const statuses[] = {"pending", "processing", "completed", "failed", "cancelled"};

/* ?name= as a time: Unix milliseconds, 0 when absent; -1 when malformed. */
static long long query_ms(struct api_call *c, const char *name)
{
    char buf[24];
    long long v;
    int n = api_query(c, name, buf, sizeof buf);
    if (n == 0)
        return 0;
    return n > 0 && parse_int64(buf, 1, 1LL << 50, &v) == 0 ? v : -1;
}

/* ?status=&provider=&userId=&since=&until=&before=&limit= into `q` (strings in `buf`). */
static enum vg_err read_query(struct api_call *c, struct admin_generation_query *q, char buf[4][64],
                              struct vg_error *err)
{
    const char *names[] = {"status", "provider", "userId", "before"};
    for (int i = 0; i < 4; i++)
        if (api_query(c, names[i], buf[i], sizeof buf[i]) < 0)
            return vg_fail(err, VG_ERR_INVALID, names[i], "%s is malformed or too long", names[i]);
    bool known = buf[0][0] == '\0';
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || strcmp(buf[0], statuses[i]) == 0;
    if (!known)
        return vg_fail(err, VG_ERR_INVALID, "status",
                       "status must be pending, processing, completed, failed or cancelled");
    if (buf[2][0] && !id_valid(buf[2]))
        return vg_fail(err, VG_ERR_INVALID, "userId", "userId must be a user id");
    if (buf[3][0] && !id_valid(buf[3]))
        return vg_fail(err, VG_ERR_INVALID, "before", "before must be a generation id (nextCursor)");
    q->status = buf[0][0] ? buf[0] : NULL;
    q->provider = buf[1][0] ? buf[1] : NULL;
    q->user_id = buf[2][0] ? buf[2] : NULL;
    q->before_id = buf[3][0] ? buf[3] : NULL;
    long long since = query_ms(c, "since"), until = query_ms(c, "until");
    if (since < 0 || until < 0)
        return vg_fail(err, VG_ERR_INVALID, since < 0 ? "since" : "until", "a time is Unix milliseconds");
    q->since = since, q->until = until;
    if ((q->limit = api_admin_limit(c)) < 0)
        return vg_fail(err, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to %d", ADMIN_PAGE_MAX);
    return VG_OK;
}

/* A generation as its owner sees it, with whose it is. */
static json_t *admin_view(const struct generation *g)
{
    json_t *v = view_generation(g);
    json_object_set_new(v, "userId", json_string(g->user_id));
    return v;
}

/* Answers a page: {key: [...], nextCursor}; `more` adds to each item (may be NULL). */
static int reply_page(struct api_call *c, const char *key, struct admin_generation_query *q,
                      int (*more)(struct api_call *c, const struct generation *g, json_t *v))
{
    struct generation_list list;
    struct vg_error err;
    if (store_admin_generations(c->t->store, q, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++) {
        json_t *v = admin_view(&list.items[i]);
        if (more != NULL && more(c, &list.items[i], v) != 0) {
            json_decref(v);
            json_decref(items);
            generation_list_free(&list);
            return api_fail_with(c, VG_ERR_INTERNAL, "", "cannot read a generation's attempts");
        }
        json_array_append_new(items, v);
    }
    json_t *next = list.n == (size_t)q->limit ? json_string(list.items[list.n - 1].id) : json_null();
    generation_list_free(&list);
    return api_ok(c, json_pack("{s:o, s:o}", key, items, "nextCursor", next));
}

int api_admin_generations_list(struct api_call *c)
{
    struct admin_generation_query q;
    char buf[4][64];
    struct vg_error err;
    if (read_query(c, &q, buf, &err) != VG_OK)
        return api_fail(c, &err);
    return reply_page(c, "generations", &q, NULL);
}

/* Adds every attempt and the last one's error, the dead letter's story. */
static int add_attempts(struct api_call *c, const struct generation *g, json_t *v)
{
    struct attempt_list attempts;
    struct vg_error err;
    if (store_generation_attempts(c->t->store, g->user_id, g->id, &attempts, &err) != VG_OK)
        return -1;
    const struct generation_attempt *last = attempts.n ? &attempts.items[attempts.n - 1] : NULL;
    json_object_set_new(v, "attempts", view_attempts(&attempts));
    json_object_set_new(v, "lastError", api_string_or_null(last && last->error ? last->error : g->error_message));
    attempt_list_free(&attempts);
    return 0;
}

int api_admin_failed(struct api_call *c)
{
    struct admin_generation_query q;
    char buf[4][64];
    struct vg_error err;
    if (read_query(c, &q, buf, &err) != VG_OK)
        return api_fail(c, &err);
    q.status = "failed";
    return reply_page(c, "failed", &q, add_attempts);
}

int api_admin_generation_cancel(struct api_call *c)
{
    struct generation g;
    struct vg_error err;
    if (store_admin_generation_get(c->t->store, api_param(c, "id"), &g, &err) != VG_OK)
        return api_fail(c, &err);
    char user_id[sizeof g.user_id];
    memcpy(user_id, g.user_id, sizeof user_id);
    generation_free(&g);
    return api_cancel_generation(c, user_id, api_param(c, "id"));
}

int api_admin_generation_refund(struct api_call *c)
{
    json_t *body = NULL, *note;
    struct generation g;
    struct vg_error err;
    if (c->req->entity.len > 0 && api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    note = json_object_get(body, "note");
    if (note != NULL && (!json_is_string(note) || json_string_length(note) == 0 || json_string_length(note) > 127)) {
        json_decref(body);
        return api_fail_with(c, VG_ERR_INVALID, "note", "note must be text of 1 to 127 bytes");
    }
    enum vg_err e = store_admin_refund(c->t->store, api_param(c, "id"),
                                       note ? json_string_value(note) : "refunded by an administrator", &g, &err);
    json_decref(body);
    if (e != VG_OK)
        return api_fail(c, &err);
    json_t *v = admin_view(&g);
    json_int_t refunded = (json_int_t)g.credit_used;
    generation_free(&g);
    return api_ok(c, json_pack("{s:o, s:I}", "generation", v, "refunded", refunded));
}
