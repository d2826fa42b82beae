/* PostgreSQL backend: passwords and login sessions (store.h). */
#include <stdio.h>
#include <string.h>

#include "store/postgres_internal.h"

/* A session that ended more than this long ago is deleted when the next one is made. */
#define SESSION_KEEP_MS (7LL * 24 * 3600 * 1000)

static const char password_set_sql[] = "UPDATE users SET password_hash = $2 WHERE id = $1";
static const char password_get_sql[] = "SELECT " USER_COLS ", coalesce(password_hash, '') FROM users "
                                       "WHERE name = $1 AND disabled_at IS NULL";
static const char session_insert_sql[] =
    "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
static const char session_purge_sql[] = "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1";
static const char session_user_sql[] =
    "SELECT u.id, u.name, u.is_admin, u.balance, u.created_at, s.expires_at FROM sessions s "
    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL "
    "AND s.expires_at > $2 AND u.disabled_at IS NULL";
static const char session_revoke_sql[] = "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 "
                                         "AND revoked_at IS NULL AND expires_at > $2";
static const char sessions_revoke_user_sql[] = "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 "
                                               "AND revoked_at IS NULL AND expires_at > $2";

enum vg_err pg_password_set(struct store *base, const char *user_id, const char *hash, struct vg_error *err)
{
    const char *params[] = {user_id, hash};
    long changed = 0;
    enum vg_err e = pg_exec(pg(base), password_set_sql, 2, params, &changed, err);
    if (e == VG_OK && changed == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user");
    return e;
}

enum vg_err pg_password_get(struct store *base, const char *name, struct user *out, char hash[STORE_PASSWORD_MAX + 1],
                            struct vg_error *err)
{
    struct pg_store *s = pg(base);
    const char *params[] = {name};
    PGresult *r = pg_run(s, password_get_sql, 1, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) > 0) {
        pg_read_user(r, 0, out);
        pg_text_copy(r, 0, 5, hash, STORE_PASSWORD_MAX + 1);
    } else
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user");
    PQclear(r);
    return e;
}

enum vg_err pg_session_create(struct store *base, const char *user_id, const char *token_hash, int64_t expires_at,
                              struct vg_error *err)
{
    struct pg_store *s = pg(base);
    int64_t now = clock_now_ms();
    char id[ID_LEN + 1], before[PG_NUM], at[PG_NUM], until[PG_NUM];
    const char *purge[] = {pg_i64(before, now - SESSION_KEEP_MS)};
    enum vg_err e = pg_exec(s, session_purge_sql, 1, purge, NULL, err);
    if (e != VG_OK)
        return e;
    id_new(id);
    const char *params[] = {id, user_id, token_hash, pg_i64(at, now), pg_i64(until, expires_at)};
    return pg_exec(s, session_insert_sql, 5, params, NULL, err);
}

enum vg_err pg_session_user(struct store *base, const char *token_hash, struct user *out, int64_t *expires_at,
                            struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char now[PG_NUM];
    const char *params[] = {token_hash, pg_i64(now, clock_now_ms())};
    PGresult *r = pg_run(s, session_user_sql, 2, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) > 0) {
        pg_read_user(r, 0, out);
        if (expires_at)
            *expires_at = pg_int(r, 0, 5);
    } else
        e = vg_fail(err, VG_ERR_UNAUTHORIZED, "", "the session has ended: log in again");
    PQclear(r);
    return e;
}

/* Runs a revoking UPDATE bound to `key` and now; *changed: the rows it ended. */
static enum vg_err revoke(struct pg_store *s, const char *sql, const char *key, long *changed, struct vg_error *err)
{
    char now[PG_NUM];
    const char *params[] = {key, pg_i64(now, clock_now_ms())};
    *changed = 0;
    return pg_exec(s, sql, 2, params, changed, err);
}

enum vg_err pg_session_revoke(struct store *base, const char *token_hash, struct vg_error *err)
{
    long n;
    enum vg_err e = revoke(pg(base), session_revoke_sql, token_hash, &n, err);
    if (e == VG_OK && n == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no live session");
    return e;
}

enum vg_err pg_sessions_revoke_user(struct store *base, const char *user_id, long *ended, struct vg_error *err)
{
    long n;
    enum vg_err e = revoke(pg(base), sessions_revoke_user_sql, user_id, &n, err);
    if (ended)
        *ended = n;
    return e;
}
