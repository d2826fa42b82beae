#include <string.h>

#include "api/admin.h"
#include "core/token.h"
#include "core/user_name.h"
#include "store/store_admin.h"
#include "util/id.h"
#include "util/parse.h"

#define ADMIN_PAGE_DEFAULT 50
#define CREDITS_MAX 100000000L
#define NOTE_MAX 127

int api_admin_limit(struct api_call *c)
{
    char buf[16];
    int n = api_query(c, "limit", buf, sizeof buf), limit = ADMIN_PAGE_DEFAULT;
    if (n < 0 || (n > 0 && parse_int(buf, 1, ADMIN_PAGE_MAX, &limit) != 0))
        return -1;
    return limit;
}

static json_t *user_json(const struct user *u, int64_t disabled_at)
{
    return json_pack("{s:s, s:s, s:b, s:I, s:o, s:o}", "id", u->id, "name", u->name, "isAdmin", u->is_admin, "balance",
                     (json_int_t)u->balance, "createdAt", api_time(u->created_at), "disabledAt", api_time(disabled_at));
}

static json_t *token_json(const struct api_token *t)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", t->id, "userId", t->user_id, "label", t->label, "createdAt",
                     api_time(t->created_at), "revokedAt", api_time(t->revoked_at));
}

int api_admin_users_list(struct api_call *c)
{
    char before[64];
    int limit = api_admin_limit(c);
    struct user_list list;
    struct vg_error err;
    if (limit < 0)
        return api_fail_with(c, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to 100");
    if (api_query(c, "before", before, sizeof before) < 0 || (before[0] && !id_valid(before)))
        return api_fail_with(c, VG_ERR_INVALID, "before", "before must be a user id (nextCursor)");
    if (store_admin_users(c->t->store, before[0] ? before : NULL, limit, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(items, user_json(&list.items[i].user, list.items[i].disabled_at));
    json_t *next = list.n == (size_t)limit ? json_string(list.items[list.n - 1].user.id) : json_null();
    free(list.items);
    return api_ok(c, json_pack("{s:o, s:o}", "users", items, "nextCursor", next));
}

/* A new token for `user_id`, as `vidgen token create` makes one; its text is only ever in
 * this reply. */
static json_t *issue_token(struct api_call *c, const char *user_id, const char *label, struct vg_error *err)
{
    char token[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
    struct api_token t;
    token_new(token);
    token_hash(token, strlen(token), hash);
    if (store_token_create(c->t->store, user_id, hash, label, &t, err) != VG_OK)
        return NULL;
    json_t *o = token_json(&t);
    json_object_set_new(o, "token", json_string(token));
    return o;
}

/* Reads an optional whole number field in [min, max] into *out. */
static enum vg_err opt_number(json_t *body, const char *key, long min, long max, long *out, struct vg_error *err)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL)
        return VG_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return vg_fail(err, VG_ERR_INVALID, key, "%s must be a whole number from %ld to %ld", key, min, max);
    *out = (long)json_integer_value(v);
    return VG_OK;
}

int api_admin_users_create(struct api_call *c)
{
    json_t *body, *name, *admin;
    struct vg_error err;
    struct user u;
    long credits = 0;
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    name = json_object_get(body, "name");
    admin = json_object_get(body, "admin");
    if (!json_is_string(name) || !user_name_valid(json_string_value(name)))
        vg_fail(&err, VG_ERR_INVALID, "name", "name must be 1 to 64 letters, digits, '.', '_' or '-'");
    else if (admin != NULL && !json_is_boolean(admin))
        vg_fail(&err, VG_ERR_INVALID, "admin", "admin must be true or false");
    else if (opt_number(body, "credits", 0, CREDITS_MAX, &credits, &err) == VG_OK &&
             store_user_create(c->t->store, json_string_value(name), json_is_true(admin), credits, &u, &err) == VG_OK) {
        json_decref(body);
        json_t *token = issue_token(c, u.id, "admin api", &err);
        if (token == NULL)
            return api_fail(c, &err);
        return api_reply(c, 201, json_pack("{s:b, s:o, s:o}", "success", 1, "user", user_json(&u, 0), "token", token));
    }
    json_decref(body);
    return api_fail(c, &err);
}

/* {kind: "grant" (amount > 0) or "adjust" (either sign), amount, note}; a note is required,
 * so that the ledger says why. */
static enum vg_err read_credit_change(json_t *body, enum ledger_kind *kind, long *amount, const char **note,
                                      struct vg_error *err)
{
    const char *k = json_string_value(json_object_get(body, "kind"));
    *note = json_string_value(json_object_get(body, "note"));
    if (k == NULL || (strcmp(k, "grant") != 0 && strcmp(k, "adjust") != 0))
        return vg_fail(err, VG_ERR_INVALID, "kind", "kind must be grant or adjust");
    *kind = strcmp(k, "grant") == 0 ? LEDGER_GRANT : LEDGER_ADJUST;
    *amount = 0;
    if (json_object_get(body, "amount") == NULL)
        return vg_fail(err, VG_ERR_INVALID, "amount", "amount is required");
    if (opt_number(body, "amount", *kind == LEDGER_GRANT ? 1 : -CREDITS_MAX, CREDITS_MAX, amount, err) != VG_OK)
        return VG_ERR_INVALID;
    if (*amount == 0)
        return vg_fail(err, VG_ERR_INVALID, "amount", "amount must not be 0");
    if (*note == NULL || (*note)[0] == '\0' || strlen(*note) > NOTE_MAX)
        return vg_fail(err, VG_ERR_INVALID, "note", "note must say why, in 1 to %d bytes", NOTE_MAX);
    return VG_OK;
}

int api_admin_credits(struct api_call *c)
{
    json_t *body;
    struct vg_error err;
    struct admin_user a;
    enum ledger_kind kind = LEDGER_GRANT;
    long amount = 0, balance = 0;
    const char *note = NULL;
    if (store_admin_user_get(c->t->store, api_param(c, "id"), &a, &err) != VG_OK)
        return api_fail(c, &err);
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    enum vg_err e = read_credit_change(body, &kind, &amount, &note, &err);
    if (e == VG_OK)
        e = store_credits_add(c->t->store, a.user.id, kind, amount, note, &balance, &err);
    json_decref(body); /* after the store call: note points into body */
    if (e != VG_OK)
        return api_fail(c, &err);
    a.user.balance = balance;
    return api_ok(c, json_pack("{s:o}", "user", user_json(&a.user, a.disabled_at)));
}

/* POST /admin/users/:id/disable and /enable. */
static int set_disabled(struct api_call *c, bool disable)
{
    struct admin_user a;
    struct vg_error err;
    if (strcmp(api_param(c, "id"), c->user.id) == 0 && disable)
        return api_fail_with(c, VG_ERR_CONFLICT, "", "an administrator cannot disable themselves");
    if (store_admin_user_disable(c->t->store, api_param(c, "id"), disable, &a, &err) != VG_OK)
        return api_fail(c, &err);
    return api_ok(c, json_pack("{s:o}", "user", user_json(&a.user, a.disabled_at)));
}

int api_admin_user_disable(struct api_call *c)
{
    return set_disabled(c, true);
}

int api_admin_user_enable(struct api_call *c)
{
    return set_disabled(c, false);
}

int api_admin_tokens_list(struct api_call *c)
{
    char user_id[64];
    struct token_list list;
    struct vg_error err;
    if (api_query(c, "userId", user_id, sizeof user_id) < 0 || (user_id[0] && !id_valid(user_id)))
        return api_fail_with(c, VG_ERR_INVALID, "userId", "userId must be a user id");
    if (store_admin_tokens(c->t->store, user_id[0] ? user_id : NULL, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(items, token_json(&list.items[i]));
    free(list.items);
    return api_ok(c, json_pack("{s:o}", "tokens", items));
}

int api_admin_tokens_create(struct api_call *c)
{
    json_t *body = NULL, *label;
    struct vg_error err;
    struct admin_user a;
    if (store_admin_user_get(c->t->store, api_param(c, "id"), &a, &err) != VG_OK)
        return api_fail(c, &err);
    if (a.disabled_at != 0)
        return api_fail_with(c, VG_ERR_CONFLICT, "", "the user is disabled; enable them first");
    if (c->req->entity.len > 0 && api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    label = json_object_get(body, "label");
    if (label != NULL && (!json_is_string(label) || json_string_length(label) > 64)) {
        json_decref(body);
        return api_fail_with(c, VG_ERR_INVALID, "label", "label must be text of at most 64 bytes");
    }
    json_t *token = issue_token(c, a.user.id, label ? json_string_value(label) : "", &err);
    json_decref(body);
    if (token == NULL)
        return api_fail(c, &err);
    return api_reply(c, 201, json_pack("{s:b, s:o}", "success", 1, "token", token));
}

int api_admin_token_revoke(struct api_call *c)
{
    struct vg_error err;
    const char *id = api_param(c, "id");
    if (!id_valid(id))
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such token");
    if (store_token_revoke(c->t->store, id, &err) != VG_OK)
        return api_fail(c, &err);
    return api_ok(c, NULL);
}
