/* PostgreSQL backend: users, API tokens and the credit ledger. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

static const char user_insert_sql[] =
    "INSERT INTO users (id, name, is_admin, balance, created_at) VALUES ($1, $2, $3, 0, $4)";
static const char user_by_name_sql[] = "SELECT " USER_COLS " FROM users WHERE name = $1";
static const char user_by_id_sql[] = "SELECT " USER_COLS " FROM users WHERE id = $1";
static const char user_count_sql[] = "SELECT count(*) FROM users";
/* A conditional UPDATE: PostgreSQL re-checks "balance + $2 >= 0" against the newest row
 * after waiting for a concurrent writer, and the row stays locked until this transaction
 * ends, so two charges can never both pass on the same balance. */
static const char balance_add_sql[] = "UPDATE users SET balance = balance + $2 WHERE id = $1 AND balance + $2 >= 0 "
                                      "RETURNING balance";
static const char ledger_insert_sql[] = "INSERT INTO credit_ledger (user_id, kind, amount, balance_after, "
                                        "generation_id, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char ledger_sum_sql[] = "SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE user_id = $1";
static const char token_insert_sql[] =
    "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)";
static const char token_user_sql[] = "SELECT u.id, u.name, u.is_admin, u.balance, u.created_at FROM api_tokens t "
                                     "JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 "
                                     "AND t.revoked_at IS NULL AND u.disabled_at IS NULL";
static const char token_revoke_sql[] = "UPDATE api_tokens SET revoked_at = $2 WHERE (id = $1 OR token_hash = $1) "
                                       "AND revoked_at IS NULL";
/* $1 is a JSON array of hashes; each row is the index of a live one. */
static const char tokens_live_sql[] =
    "SELECT j.i - 1 FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS j(hash, i) "
    "JOIN api_tokens t ON t.token_hash = j.hash JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NULL "
    "UNION SELECT j.i - 1 FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS j(hash, i) "
    "JOIN sessions s ON s.token_hash = j.hash WHERE s.revoked_at IS NULL AND s.expires_at > $2";

void pg_read_user(const PGresult *r, int row, struct user *u)
{
    pg_text_copy(r, row, 0, u->id, sizeof u->id);
    pg_text_copy(r, row, 1, u->name, sizeof u->name);
    u->is_admin = pg_bool(r, row, 2);
    u->balance = (long)pg_int(r, row, 3);
    u->created_at = pg_int(r, row, 4);
}

/* Runs a one-row user query bound to `key`. */
static enum vg_err user_query(struct pg_store *s, const char *sql, const char *key, enum vg_err missing,
                              struct user *out, struct vg_error *err)
{
    const char *params[] = {key};
    PGresult *r = pg_run(s, sql, 1, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) > 0)
        pg_read_user(r, 0, out);
    else
        e = vg_fail(err, missing, "",
                    missing == VG_ERR_UNAUTHORIZED ? "the token is unknown or revoked" : "no such user");
    PQclear(r);
    return e;
}

enum vg_err pg_ledger_append(struct pg_store *s, const char *user_id, enum ledger_kind kind, long amount,
                             const char *generation_id, const char *note, long *balance_after, struct vg_error *err)
{
    char amt[PG_NUM], bal[PG_NUM], now[PG_NUM];
    const char *add[] = {user_id, pg_i64(amt, amount)};
    PGresult *r = pg_run(s, balance_add_sql, 2, add, err);
    if (r == NULL)
        return s->failed;
    bool moved = PQntuples(r) == 1;
    long balance = moved ? (long)pg_int(r, 0, 0) : 0;
    PQclear(r);
    if (!moved)
        return vg_fail(err, VG_ERR_NO_CREDITS, "", "not enough credits");

    const char *row[] = {user_id,          ledger_kind_name(kind),     amt, pg_i64(bal, balance), generation_id,
                         note ? note : "", pg_i64(now, clock_now_ms())};
    enum vg_err e = pg_exec(s, ledger_insert_sql, 7, row, NULL, err);
    if (e == VG_OK && balance_after)
        *balance_after = balance;
    return e;
}

enum vg_err pg_user_create(struct store *base, const char *name, bool is_admin, long credits, struct user *out,
                           struct vg_error *err)
{
    struct pg_store *s = pg(base);
    struct user u = {.is_admin = is_admin, .created_at = clock_now_ms()};
    char now[PG_NUM];
    enum vg_err e;
    id_new(u.id);
    snprintf(u.name, sizeof u.name, "%s", name);

    if ((e = pg_begin(s, err)))
        return e;
    const char *params[] = {u.id, u.name, is_admin ? "1" : "0", pg_i64(now, u.created_at)};
    if ((e = pg_exec(s, user_insert_sql, 4, params, NULL, err))) {
        if (e == VG_ERR_CONFLICT)
            vg_fail(err, e, "name", "a user named '%s' already exists", name);
        goto fail;
    }
    if (credits > 0 && (e = pg_ledger_append(s, u.id, LEDGER_GRANT, credits, NULL, "opening balance", &u.balance, err)))
        goto fail;
    if ((e = pg_commit(s, err)))
        return e;
    *out = u;
    return VG_OK;
fail:
    pg_rollback(s);
    return e;
}

enum vg_err pg_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err)
{
    return user_query(pg(s), user_by_name_sql, name, VG_ERR_NOT_FOUND, out, err);
}

enum vg_err pg_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err)
{
    return user_query(pg(s), user_by_id_sql, id, VG_ERR_NOT_FOUND, out, err);
}

/* Runs a statement returning one integer into *out. */
static enum vg_err one_int(struct pg_store *s, const char *sql, int nparams, const char *const *params, long *out,
                           struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, nparams, params, err);
    *out = 0;
    if (r == NULL)
        return s->failed;
    if (PQntuples(r) > 0)
        *out = (long)pg_int(r, 0, 0);
    PQclear(r);
    return VG_OK;
}

enum vg_err pg_user_count(struct store *s, long *out, struct vg_error *err)
{
    return one_int(pg(s), user_count_sql, 0, NULL, out, err);
}

enum vg_err pg_credits_add(struct store *base, const char *user_id, enum ledger_kind kind, long amount,
                           const char *note, long *balance_after, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    if ((e = pg_ledger_append(s, user_id, kind, amount, NULL, note, balance_after, err))) {
        pg_rollback(s);
        return e;
    }
    return pg_commit(s, err);
}

enum vg_err pg_ledger_sum(struct store *s, const char *user_id, long *sum, struct vg_error *err)
{
    const char *params[] = {user_id};
    return one_int(pg(s), ledger_sum_sql, 1, params, sum, err);
}

enum vg_err pg_token_create(struct store *base, const char *user_id, const char *token_hash, const char *label,
                            struct api_token *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    struct api_token t = {.created_at = clock_now_ms()};
    char now[PG_NUM];
    id_new(t.id);
    snprintf(t.user_id, sizeof t.user_id, "%s", user_id);
    snprintf(t.label, sizeof t.label, "%s", label ? label : "");
    const char *params[] = {t.id, user_id, token_hash, t.label, pg_i64(now, t.created_at)};
    enum vg_err e = pg_exec(s, token_insert_sql, 5, params, NULL, err);
    if (e == VG_OK && out)
        *out = t;
    return e;
}

enum vg_err pg_token_user(struct store *s, const char *token_hash, struct user *out, struct vg_error *err)
{
    return user_query(pg(s), token_user_sql, token_hash, VG_ERR_UNAUTHORIZED, out, err);
}

enum vg_err pg_token_revoke(struct store *base, const char *id_or_hash, struct vg_error *err)
{
    char now[PG_NUM];
    const char *params[] = {id_or_hash, pg_i64(now, clock_now_ms())};
    long changed = 0;
    enum vg_err e = pg_exec(pg(base), token_revoke_sql, 2, params, &changed, err);
    if (e == VG_OK && changed == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no live token with that id");
    return e;
}

/* The hashes as one JSON array (malloc'd; NULL when out of memory). */
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

enum vg_err pg_tokens_live(struct store *base, const char *const *hashes, size_t n, bool *live, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char now[PG_NUM];
    memset(live, 0, n * sizeof *live);
    if (n == 0)
        return VG_OK;
    char *list = json_array_of(hashes, n);
    if (list == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    const char *params[] = {list, pg_i64(now, clock_now_ms())};
    PGresult *r = pg_run(s, tokens_live_sql, 2, params, err);
    free(list);
    if (r == NULL)
        return s->failed;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t i = pg_int(r, row, 0);
        if (i >= 0 && (size_t)i < n)
            live[i] = true;
    }
    PQclear(r);
    return VG_OK;
}
