/* The admin API's reads across users, and the manual refund, for the PostgreSQL backend
 * (store/store_admin.h; the statements of sqlite_admin.c). */
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"
#include "store/store_admin.h"
#include "util/id.h"

#define ADMIN_USER_COLS "id, name, is_admin, balance, created_at, coalesce(disabled_at, 0)"

static const char users_sql[] = "SELECT " ADMIN_USER_COLS " FROM users WHERE id < coalesce($1, '~') "
                                "ORDER BY id DESC LIMIT $2::integer";
static const char user_sql[] = "SELECT " ADMIN_USER_COLS " FROM users WHERE id = $1";
static const char disable_sql[] = "UPDATE users SET disabled_at = coalesce(disabled_at, $2::bigint) WHERE id = $1";
static const char enable_sql[] = "UPDATE users SET disabled_at = NULL WHERE id = $1 AND $2::bigint > 0";
static const char revoke_tokens_sql[] = "UPDATE api_tokens SET revoked_at = $2::bigint WHERE user_id = $1 "
                                        "AND revoked_at IS NULL";
static const char revoke_sessions_sql[] = "UPDATE sessions SET revoked_at = $2::bigint WHERE user_id = $1 "
                                          "AND revoked_at IS NULL";
static const char tokens_sql[] = "SELECT id, user_id, label, created_at, coalesce(revoked_at, 0) FROM api_tokens "
                                 "WHERE $1::text IS NULL OR user_id = $1 ORDER BY id DESC LIMIT 1000";
static const char generation_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE id = $1";
/* The row locked: a worker's refund (pg_job_update, which locks it by its UPDATE) and this
 * one take turns, and the one that comes second finds the first one's ledger row. */
static const char generation_lock_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE id = $1 FOR UPDATE";
static const char generations_sql[] =
    "SELECT " GENERATION_COLS " FROM generations WHERE ($1::text IS NULL OR user_id = $1) "
    "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR provider = $3) "
    "AND created_at >= $4::bigint AND ($5::bigint = 0 OR created_at < $5::bigint) AND id < coalesce($6, '~') "
    "ORDER BY id DESC LIMIT $7::integer";
static const char refund_exists_sql[] = "SELECT 1 FROM credit_ledger WHERE generation_id = $1 AND kind = 'refund'";

static void read_user(const PGresult *r, int row, void *item)
{
    struct admin_user *a = item;
    pg_read_user(r, row, &a->user);
    a->disabled_at = pg_int(r, row, 5);
}

static void read_token(const PGresult *r, int row, void *item)
{
    struct api_token *t = item;
    pg_text_copy(r, row, 0, t->id, sizeof t->id);
    pg_text_copy(r, row, 1, t->user_id, sizeof t->user_id);
    pg_text_copy(r, row, 2, t->label, sizeof t->label);
    t->created_at = pg_int(r, row, 3);
    t->revoked_at = pg_int(r, row, 4);
}

static enum vg_err users(struct store *base, const char *before_id, int limit, struct user_list *out,
                         struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char n[PG_NUM];
    memset(out, 0, sizeof *out);
    PGresult *r = pg_run(s, users_sql, 2, (const char *const[]){before_id, pg_i64(n, limit)}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_user, err);
    PQclear(r);
    return e;
}

static enum vg_err read_one_user(struct pg_store *s, const char *id, struct admin_user *out, struct vg_error *err)
{
    PGresult *r = pg_run(s, user_sql, 1, (const char *const[]){id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) == 1)
        read_user(r, 0, out);
    else
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user");
    PQclear(r);
    return e;
}

static enum vg_err user_get(struct store *base, const char *id, struct admin_user *out, struct vg_error *err)
{
    return read_one_user(pg(base), id, out, err);
}

static enum vg_err user_disable(struct store *base, const char *id, bool disable, struct admin_user *out,
                                struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char now[PG_NUM];
    const char *p[] = {id, pg_i64(now, clock_now_ms())};
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    e = pg_exec(s, disable ? disable_sql : enable_sql, 2, p, NULL, err);
    if (e == VG_OK && disable)
        e = pg_exec(s, revoke_tokens_sql, 2, p, NULL, err);
    if (e == VG_OK && disable) /* the web app's sessions end with the tokens */
        e = pg_exec(s, revoke_sessions_sql, 2, p, NULL, err);
    if (e == VG_OK)
        e = read_one_user(s, id, out, err);
    if (e != VG_OK) {
        pg_rollback(s);
        return e;
    }
    return pg_commit(s, err);
}

static enum vg_err tokens(struct store *base, const char *user_id, struct token_list *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    memset(out, 0, sizeof *out);
    PGresult *r = pg_run(s, tokens_sql, 1, (const char *const[]){user_id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_token, err);
    PQclear(r);
    return e;
}

/* Generation `id` by `sql` (generation_sql or generation_lock_sql); "no generation ID" as
 * in the SQLite backend when there is none. */
static enum vg_err one_generation(struct pg_store *s, const char *sql, const char *id, struct generation *out,
                                  struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, 1, (const char *const[]){id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) == 1)
        pg_read_generation(r, 0, out);
    else
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no generation %s", id);
    PQclear(r);
    return e;
}

static enum vg_err generation_get(struct store *base, const char *id, struct generation *out, struct vg_error *err)
{
    return one_generation(pg(base), generation_sql, id, out, err);
}

static enum vg_err generations(struct store *base, const struct admin_generation_query *q, struct generation_list *out,
                               struct vg_error *err)
{
    char since[PG_NUM], until[PG_NUM], limit[PG_NUM];
    const char *p[] = {q->user_id,
                       q->status,
                       q->provider,
                       pg_i64(since, q->since),
                       pg_i64(until, q->until),
                       q->before_id,
                       pg_i64(limit, q->limit)};
    return pg_read_generations(pg(base), generations_sql, 7, p, out, err);
}

/* In the caller's transaction: whether the generation may be refunded by hand now. */
static enum vg_err refundable(struct pg_store *s, const struct generation *g, struct vg_error *err)
{
    if (strcmp(g->status, "completed") != 0 && strcmp(g->status, "failed") != 0 && strcmp(g->status, "cancelled") != 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation has not ended (%s); cancel it first", g->status);
    if (g->credit_used <= 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation was charged nothing");
    PGresult *r = pg_run(s, refund_exists_sql, 1, (const char *const[]){g->id}, err);
    if (r == NULL)
        return s->failed;
    bool done = PQntuples(r) > 0;
    PQclear(r);
    return done ? vg_fail(err, VG_ERR_CONFLICT, "", "the generation was refunded already") : VG_OK;
}

static enum vg_err refund(struct store *base, const char *id, const char *note, struct generation *out,
                          struct vg_error *err)
{
    struct pg_store *s = pg(base);
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    e = one_generation(s, generation_lock_sql, id, out, err);
    if (e != VG_OK) {
        pg_rollback(s);
        return e;
    }
    if ((e = refundable(s, out, err)) == VG_OK)
        e = pg_ledger_append(s, out->user_id, LEDGER_REFUND, out->credit_used, out->id, note, NULL, err);
    if (e != VG_OK) {
        generation_free(out);
        pg_rollback(s);
        return e;
    }
    return pg_end_with_generation(s, e, out, err);
}

const struct store_admin_ops pg_admin_ops = {
    .users = users,
    .user_get = user_get,
    .user_disable = user_disable,
    .tokens = tokens,
    .generation_get = generation_get,
    .generations = generations,
    .refund = refund,
};
