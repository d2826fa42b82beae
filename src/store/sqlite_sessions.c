/* SQLite backend: passwords and login sessions (store.h). */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* A session that ended more than this long ago is deleted when the next one is made. */
#define SESSION_KEEP_MS (7LL * 24 * 3600 * 1000)

enum vg_err sq_password_set(struct store *base, const char *user_id, const char *hash, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PASSWORD_SET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    enum vg_err e = sq_exec(s, st, err);
    if (e == VG_OK && sqlite3_changes(s->db) == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user");
    return e;
}

enum vg_err sq_password_get(struct store *base, const char *name, struct user *out, char hash[STORE_PASSWORD_MAX + 1],
                            struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PASSWORD_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW) {
        sq_read_user(st, out);
        sq_text_copy(st, 5, hash, STORE_PASSWORD_MAX + 1);
    } else
        e = rc == SQLITE_DONE ? vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user") : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

enum vg_err sq_session_create(struct store *base, const char *user_id, const char *token_hash, int64_t expires_at,
                              struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int64_t now = clock_now_ms();
    char id[ID_LEN + 1];
    sqlite3_stmt *st = sq_stmt(s, SQ_SESSION_PURGE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, now - SESSION_KEEP_MS);
    enum vg_err e = sq_exec(s, st, err);
    if (e != VG_OK || (st = sq_stmt(s, SQ_SESSION_INSERT, err)) == NULL)
        return e != VG_OK ? e : VG_ERR_INTERNAL;
    id_new(id);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, expires_at);
    return sq_exec(s, st, err);
}

enum vg_err sq_session_user(struct store *base, const char *token_hash, struct user *out, int64_t *expires_at,
                            struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_SESSION_USER, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW) {
        sq_read_user(st, out);
        if (expires_at)
            *expires_at = sqlite3_column_int64(st, 5);
    } else
        e = rc == SQLITE_DONE ? vg_fail(err, VG_ERR_UNAUTHORIZED, "", "the session has ended: log in again")
                              : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

/* Runs a revoking UPDATE bound to `key` and now; *changed: the rows it ended. */
static enum vg_err revoke(struct sqlite_store *s, enum sq_stmt which, const char *key, long *changed,
                          struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    enum vg_err e = sq_exec(s, st, err);
    *changed = e == VG_OK ? (long)sqlite3_changes(s->db) : 0;
    return e;
}

enum vg_err sq_session_revoke(struct store *base, const char *token_hash, struct vg_error *err)
{
    long n;
    enum vg_err e = revoke(sq(base), SQ_SESSION_REVOKE, token_hash, &n, err);
    if (e == VG_OK && n == 0)
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no live session");
    return e;
}

enum vg_err sq_sessions_revoke_user(struct store *base, const char *user_id, long *ended, struct vg_error *err)
{
    long n;
    enum vg_err e = revoke(sq(base), SQ_SESSIONS_REVOKE_USER, user_id, &n, err);
    if (ended)
        *ended = n;
    return e;
}
