/* The admin API's reads across users, and the manual refund, for the SQLite backend
 * (store/store_admin.h). Prepared per call: admin requests are rare. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "store/store_admin.h"
#include "util/id.h"

#define ADMIN_USER_COLS "id, name, is_admin, balance, created_at, coalesce(disabled_at, 0)"

static void read_user(sqlite3_stmt *st, void *item)
{
    struct admin_user *a = item;
    struct user *u = &a->user;
    a->disabled_at = sqlite3_column_int64(st, 5);
    sq_text_copy(st, 0, u->id, sizeof u->id);
    sq_text_copy(st, 1, u->name, sizeof u->name);
    u->is_admin = sqlite3_column_int(st, 2) != 0;
    u->balance = (long)sqlite3_column_int64(st, 3);
    u->created_at = sqlite3_column_int64(st, 4);
}

static void read_token(sqlite3_stmt *st, void *item)
{
    struct api_token *t = item;
    sq_text_copy(st, 0, t->id, sizeof t->id);
    sq_text_copy(st, 1, t->user_id, sizeof t->user_id);
    sq_text_copy(st, 2, t->label, sizeof t->label);
    t->created_at = sqlite3_column_int64(st, 3);
    t->revoked_at = sqlite3_column_int64(st, 4);
}

static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, struct vg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, err);
        return NULL;
    }
    return st;
}

static enum vg_err users(struct store *base, const char *before_id, int limit, struct user_list *out,
                         struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = prepare(s,
                               "SELECT " ADMIN_USER_COLS " FROM users WHERE id < coalesce(?1, '~') "
                               "ORDER BY id DESC LIMIT ?2",
                               err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sq_bind_text(st, 1, before_id);
    sqlite3_bind_int(st, 2, limit);
    memset(out, 0, sizeof *out);
    enum vg_err e = sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_user, NULL, err);
    sqlite3_finalize(st);
    return e;
}

/* Runs one statement bound to (?1 id, ?2 now) in the caller's transaction. */
static enum vg_err run(struct sqlite_store *s, const char *sql, const char *id, int64_t now, struct vg_error *err)
{
    sqlite3_stmt *st = prepare(s, sql, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

static enum vg_err read_one_user(struct sqlite_store *s, const char *id, struct admin_user *out, struct vg_error *err)
{
    sqlite3_stmt *st = prepare(s, "SELECT " ADMIN_USER_COLS " FROM users WHERE id = ?1", err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        read_user(st, out);
    else
        e = rc == SQLITE_DONE ? vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user") : sq_fail(s, rc, err);
    sqlite3_finalize(st);
    return e;
}

static enum vg_err user_get(struct store *base, const char *id, struct admin_user *out, struct vg_error *err)
{
    return read_one_user(sq(base), id, out, err);
}

static enum vg_err user_disable(struct store *base, const char *id, bool disable, struct admin_user *out,
                                struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int64_t now = clock_now_ms();
    enum vg_err e = sq_begin(s, err);
    if (e != VG_OK)
        return e;
    if (disable)
        e = run(s, "UPDATE users SET disabled_at = coalesce(disabled_at, ?2) WHERE id = ?1", id, now, err);
    else
        e = run(s, "UPDATE users SET disabled_at = NULL WHERE id = ?1 AND ?2 > 0", id, now, err);
    if (e == VG_OK && disable)
        e = run(s, "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", id, now, err);
    if (e == VG_OK && disable) /* the web app's sessions end with the tokens */
        e = run(s, "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL", id, now, err);
    if (e == VG_OK)
        e = read_one_user(s, id, out, err);
    if (e != VG_OK) {
        sq_rollback(s);
        return e;
    }
    return sq_commit(s, err);
}

static enum vg_err tokens(struct store *base, const char *user_id, struct token_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = prepare(s,
                               "SELECT id, user_id, label, created_at, coalesce(revoked_at, 0) FROM api_tokens "
                               "WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id DESC LIMIT 1000",
                               err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sq_bind_text(st, 1, user_id);
    memset(out, 0, sizeof *out);
    enum vg_err e = sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_token, NULL, err);
    sqlite3_finalize(st);
    return e;
}

static enum vg_err generation_get(struct store *base, const char *id, struct generation *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = prepare(s, "SELECT " GENERATION_COLS " FROM generations WHERE id = ?1", err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        sq_read_generation(st, out);
    else if (rc == SQLITE_DONE)
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no generation %s", id);
    else
        e = sq_fail(s, rc, err);
    sqlite3_finalize(st);
    return e;
}

static enum vg_err generations(struct store *base, const struct admin_generation_query *q, struct generation_list *out,
                               struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = prepare(s,
                               "SELECT " GENERATION_COLS " FROM generations WHERE (?1 IS NULL OR user_id = ?1) "
                               "AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR provider = ?3) "
                               "AND created_at >= ?4 AND (?5 = 0 OR created_at < ?5) AND id < coalesce(?6, '~') "
                               "ORDER BY id DESC LIMIT ?7",
                               err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sq_bind_text(st, 1, q->user_id);
    sq_bind_text(st, 2, q->status);
    sq_bind_text(st, 3, q->provider);
    sqlite3_bind_int64(st, 4, q->since);
    sqlite3_bind_int64(st, 5, q->until);
    sq_bind_text(st, 6, q->before_id);
    sqlite3_bind_int(st, 7, q->limit);
    enum vg_err e = sq_read_generations(s, st, out, err);
    sqlite3_finalize(st);
    return e;
}

/* In the caller's transaction: whether the generation may be refunded by hand now. */
static enum vg_err refundable(struct sqlite_store *s, const struct generation *g, struct vg_error *err)
{
    if (strcmp(g->status, "completed") != 0 && strcmp(g->status, "failed") != 0 && strcmp(g->status, "cancelled") != 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation has not ended (%s); cancel it first", g->status);
    if (g->credit_used <= 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation was charged nothing");
    sqlite3_stmt *st = sq_stmt(s, SQ_REFUND_EXISTS, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation was refunded already");
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

static enum vg_err refund(struct store *base, const char *id, const char *note, struct generation *out,
                          struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    enum vg_err e = sq_begin(s, err);
    if (e != VG_OK)
        return e;
    if ((e = generation_get(base, id, out, err)) != VG_OK) {
        sq_rollback(s);
        return e;
    }
    if ((e = refundable(s, out, err)) == VG_OK)
        e = sq_ledger_append(s, out->user_id, LEDGER_REFUND, out->credit_used, out->id, note, NULL, err);
    if (e != VG_OK) {
        generation_free(out);
        sq_rollback(s);
        return e;
    }
    return sq_end_with_generation(s, e, out, err);
}

const struct store_admin_ops sq_admin_ops = {
    .users = users,
    .user_get = user_get,
    .user_disable = user_disable,
    .tokens = tokens,
    .generation_get = generation_get,
    .generations = generations,
    .refund = refund,
};
