/* SQLite backend: users, API tokens and the credit ledger. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

void sq_read_user(sqlite3_stmt *st, struct user *u)
{
    sq_text_copy(st, 0, u->id, sizeof u->id);
    sq_text_copy(st, 1, u->name, sizeof u->name);
    u->is_admin = sqlite3_column_int(st, 2) != 0;
    u->balance = (long)sqlite3_column_int64(st, 3);
    u->created_at = sqlite3_column_int64(st, 4);
}

/* Runs a one-row user query bound to `key`. */
static enum vg_err user_query(struct sqlite_store *s, enum sq_stmt which, const char *key, enum vg_err missing,
                              struct user *out, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        sq_read_user(st, out);
    else if (rc == SQLITE_DONE)
        e = vg_fail(err, missing, "",
                    missing == VG_ERR_UNAUTHORIZED ? "the token is unknown or revoked" : "no such user");
    else
        e = sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

enum vg_err sq_ledger_append(struct sqlite_store *s, const char *user_id, enum ledger_kind kind, long amount,
                             const char *generation_id, const char *note, long *balance_after, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_USER_BALANCE_ADD, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, amount);
    int rc = sqlite3_step(st);
    long balance = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return vg_fail(err, VG_ERR_NO_CREDITS, "", "not enough credits");
    if (rc != SQLITE_ROW)
        return sq_fail(s, rc, err);

    if ((st = sq_stmt(s, SQ_LEDGER_INSERT, err)) == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ledger_kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, amount);
    sqlite3_bind_int64(st, 4, balance);
    sq_bind_text(st, 5, generation_id);
    sqlite3_bind_text(st, 6, note ? note : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, clock_now_ms());
    enum vg_err e = sq_exec(s, st, err);
    if (e == VG_OK && balance_after)
        *balance_after = balance;
    return e;
}

enum vg_err sq_user_create(struct store *base, const char *name, bool is_admin, long credits, struct user *out,
                           struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    struct user u = {.is_admin = is_admin, .created_at = clock_now_ms()};
    enum vg_err e;
    id_new(u.id);
    snprintf(u.name, sizeof u.name, "%s", name);

    if ((e = sq_begin(s, err)))
        return e;
    sqlite3_stmt *st = sq_stmt(s, SQ_USER_INSERT, err);
    if (st == NULL) {
        e = VG_ERR_INTERNAL;
        goto fail;
    }
    sqlite3_bind_text(st, 1, u.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u.name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, is_admin);
    sqlite3_bind_int64(st, 4, u.created_at);
    if ((e = sq_exec(s, st, err))) {
        if (e == VG_ERR_CONFLICT)
            vg_fail(err, e, "name", "a user named '%s' already exists", name);
        goto fail;
    }
    if (credits > 0 && (e = sq_ledger_append(s, u.id, LEDGER_GRANT, credits, NULL, "opening balance", &u.balance, err)))
        goto fail;
    if ((e = sq_commit(s, err)))
        return e;
    *out = u;
    return VG_OK;
fail:
    sq_rollback(s);
    return e;
}

enum vg_err sq_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err)
{
    return user_query(sq(s), SQ_USER_BY_NAME, name, VG_ERR_NOT_FOUND, out, err);
}

enum vg_err sq_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err)
{
    return user_query(sq(s), SQ_USER_BY_ID, id, VG_ERR_NOT_FOUND, out, err);
}

enum vg_err sq_user_count(struct store *base, long *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_USER_COUNT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_credits_add(struct store *base, const char *user_id, enum ledger_kind kind, long amount,
                           const char *note, long *balance_after, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    if ((e = sq_ledger_append(s, user_id, kind, amount, NULL, note, balance_after, err))) {
        sq_rollback(s);
        return e;
    }
    return sq_commit(s, err);
}

enum vg_err sq_ledger_sum(struct store *base, const char *user_id, long *sum, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_LEDGER_SUM, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *sum = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_token_create(struct store *base, const char *user_id, const char *token_hash, const char *label,
                            struct api_token *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    struct api_token t = {.created_at = clock_now_ms()};
    id_new(t.id);
    snprintf(t.user_id, sizeof t.user_id, "%s", user_id);
    snprintf(t.label, sizeof t.label, "%s", label ? label : "");
    sqlite3_stmt *st = sq_stmt(s, SQ_TOKEN_INSERT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, t.id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t.label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t.created_at);
    enum vg_err e = sq_exec(s, st, err);
    if (e == VG_OK && out)
        *out = t;
    return e;
}

enum vg_err sq_token_user(struct store *s, const char *token_hash, struct user *out, struct vg_error *err)
{
    return user_query(sq(s), SQ_TOKEN_USER, token_hash, VG_ERR_UNAUTHORIZED, out, err);
}

enum vg_err sq_token_revoke(struct store *base, const char *id_or_hash, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_TOKEN_REVOKE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id_or_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    enum vg_err e = sq_exec(s, st, err);
    if (e == VG_OK && sqlite3_changes(s->db) == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no live token with that id");
    return e;
}

/* The hashes as one JSON array, for json_each (malloc'd; NULL when out of memory). */
static char *json_array_of(const char *const *strings, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, json_string(strings[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

enum vg_err sq_tokens_live(struct store *base, const char *const *hashes, size_t n, bool *live, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    memset(live, 0, n * sizeof *live);
    if (n == 0)
        return VG_OK;
    char *list = json_array_of(hashes, n);
    if (list == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    sqlite3_stmt *st = sq_stmt(s, SQ_TOKENS_LIVE, err);
    if (st == NULL) {
        free(list);
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, list, -1, free);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 i = sqlite3_column_int64(st, 0);
        if (i >= 0 && (size_t)i < n)
            live[i] = true;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* frees the list now rather than at the next use */
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}
