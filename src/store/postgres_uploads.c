/* PostgreSQL backend: uploaded images (the statements of sqlite_uploads.c). Where SQLite's
 * BEGIN IMMEDIATE serialises every writer, a create or a delete here first locks the
 * uploader's user row: two uploads of one user then take turns, so the quota is checked
 * against what is really there and the same image uploaded twice at once makes one row; and
 * a delete takes turns with a new generation of that user (which locks the same row to
 * charge them), so it never misses one that is about to use the image. The lock is FOR NO KEY
 * UPDATE, the one a balance change takes: rows that only refer to the user (a new token, a
 * session) are not held back by it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

static const char lock_user_sql[] = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";
static const char by_sha_sql[] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = $1 AND sha256 = $2";
static const char usage_sql[] = "SELECT coalesce(sum(size_bytes), 0) FROM uploads WHERE user_id = $1";
static const char insert_sql[] = "INSERT INTO uploads (" UPLOAD_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7::integer, "
                                 "$8::integer, $9::bigint, $10::bigint)";
static const char get_sql[] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = $1 AND id = $2";
static const char by_path_sql[] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = $1 AND file_path = $2";
static const char page_sql[] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = $1 AND id < coalesce($2, '~') "
                               "ORDER BY id DESC LIMIT $3::integer";
static const char delete_sql[] = "DELETE FROM uploads WHERE user_id = $1 AND id = $2 RETURNING " UPLOAD_COLS;
/* A generation that has not ended and uses the image: its upload may not go. */
static const char image_busy_sql[] = "SELECT 1 FROM generations WHERE status IN ('pending', 'processing') "
                                     "AND (start_image_path = $1 OR end_image_path = $1) LIMIT 1";
static const char image_in_use_sql[] = "SELECT EXISTS (SELECT 1 FROM generations WHERE start_image_path = $1) "
                                       "OR EXISTS (SELECT 1 FROM generations WHERE end_image_path = $1) "
                                       "OR EXISTS (SELECT 1 FROM uploads WHERE file_path = $1)";

static void read_upload(const PGresult *r, int row, void *item)
{
    struct upload *u = item;
    pg_text_copy(r, row, 0, u->id, sizeof u->id);
    pg_text_copy(r, row, 1, u->user_id, sizeof u->user_id);
    pg_text_copy(r, row, 2, u->sha256, sizeof u->sha256);
    u->file_path = pg_text_dup(r, row, 3);
    u->file_name = pg_text_dup(r, row, 4);
    pg_text_copy(r, row, 5, u->mime_type, sizeof u->mime_type);
    u->width = (int)pg_int(r, row, 6);
    u->height = (int)pg_int(r, row, 7);
    u->size_bytes = pg_int(r, row, 8);
    u->created_at = pg_int(r, row, 9);
}

/* Runs a statement expected to return one upload row; VG_ERR_NOT_FOUND when it returns none. */
static enum vg_err one_upload(struct pg_store *s, const char *sql, const char *a, const char *b, struct upload *out,
                              struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, 2, (const char *const[]){a, b}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) == 1)
        read_upload(r, 0, out);
    else
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no such upload");
    PQclear(r);
    return e;
}

static enum vg_err usage(struct pg_store *s, const char *user_id, int64_t *used, struct vg_error *err)
{
    *used = 0;
    PGresult *r = pg_run(s, usage_sql, 1, (const char *const[]){user_id}, err);
    if (r == NULL)
        return s->failed;
    *used = pg_int(r, 0, 0);
    PQclear(r);
    return VG_OK;
}

static enum vg_err insert(struct pg_store *s, const struct upload *u, struct vg_error *err)
{
    char w[PG_NUM], h[PG_NUM], size[PG_NUM], at[PG_NUM];
    const char *p[] = {u->id,
                       u->user_id,
                       u->sha256,
                       u->file_path,
                       u->file_name,
                       u->mime_type,
                       pg_i64(w, u->width),
                       pg_i64(h, u->height),
                       pg_i64(size, u->size_bytes),
                       pg_i64(at, u->created_at)};
    return pg_exec(s, insert_sql, 10, p, NULL, err);
}

static struct upload upload_copy(const struct upload *in)
{
    struct upload u = *in;
    u.file_path = strdup(in->file_path);
    u.file_name = strdup(in->file_name);
    return u;
}

/* Ends a transaction that hands an upload back: commits when `e` is VG_OK, else rolls back;
 * whenever the verdict is not VG_OK, frees *out. */
static enum vg_err end_with_upload(struct pg_store *s, enum vg_err e, struct upload *out, struct vg_error *err)
{
    if (e == VG_OK && (e = pg_commit(s, err)) == VG_OK)
        return VG_OK;
    pg_rollback(s);
    upload_free(out);
    return e;
}

/* The user's row, locked to the end of the transaction; VG_ERR_NOT_FOUND when there is none. */
static enum vg_err lock_user(struct pg_store *s, const char *user_id, struct vg_error *err)
{
    PGresult *r = pg_run(s, lock_user_sql, 1, (const char *const[]){user_id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = PQntuples(r) == 1 ? VG_OK : vg_fail(err, VG_ERR_NOT_FOUND, "", "no such user");
    PQclear(r);
    return e;
}

/* In the transaction: the user's upload of the same image, or a new one within the quota. */
static enum vg_err create_in(struct pg_store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err)
{
    enum vg_err e = lock_user(s, in->user_id, err);
    if (e != VG_OK)
        return e;
    e = one_upload(s, by_sha_sql, in->user_id, in->sha256, out, err);
    if (e != VG_ERR_NOT_FOUND) {
        *existing = e == VG_OK;
        return e;
    }
    if ((e = usage(s, in->user_id, used, err)) != VG_OK)
        return e;
    if (*used + in->size_bytes > quota_bytes)
        return vg_fail(err, VG_ERR_TOO_LARGE, "", "over the upload quota");
    struct upload u = *in;
    id_new(u.id);
    u.created_at = clock_now_ms();
    if ((e = insert(s, &u, err)) == VG_OK)
        *out = upload_copy(&u);
    return e;
}

enum vg_err pg_upload_create(struct store *base, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    *existing = false;
    *used = 0;
    memset(out, 0, sizeof *out);
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    return end_with_upload(s, create_in(s, in, quota_bytes, out, existing, used, err), out, err);
}

enum vg_err pg_upload_get(struct store *base, const char *user_id, const char *id, const char *file_path,
                          const char *sha256, struct upload *out, struct vg_error *err)
{
    const char *sql = id != NULL ? get_sql : file_path != NULL ? by_path_sql : by_sha_sql;
    return one_upload(pg(base), sql, user_id, id != NULL ? id : file_path != NULL ? file_path : sha256, out, err);
}

enum vg_err pg_upload_list(struct store *base, const char *user_id, const char *before_id, int limit,
                           struct upload_list *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char n[PG_NUM];
    memset(out, 0, sizeof *out);
    PGresult *r = pg_run(s, page_sql, 3, (const char *const[]){user_id, before_id, pg_i64(n, (int64_t)limit + 1)}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_upload, err);
    PQclear(r);
    if (e == VG_OK && out->n > (size_t)limit) {
        upload_free(&out->items[--out->n]);
        out->more = true;
    }
    return e;
}

static enum vg_err exists(struct pg_store *s, const char *sql, const char *file_path, bool *yes, struct vg_error *err)
{
    *yes = false;
    PGresult *r = pg_run(s, sql, 1, (const char *const[]){file_path}, err);
    if (r == NULL)
        return s->failed;
    *yes = PQntuples(r) > 0 && pg_bool(r, 0, 0);
    PQclear(r);
    return VG_OK;
}

static enum vg_err delete_in(struct pg_store *s, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err)
{
    enum vg_err e = lock_user(s, user_id, err);
    if (e == VG_ERR_NOT_FOUND) /* no such user: no such upload either */
        return vg_fail(err, VG_ERR_NOT_FOUND, "", "no such upload");
    if (e == VG_OK)
        e = one_upload(s, delete_sql, user_id, id, out, err);
    bool busy = false;
    if (e == VG_OK && (e = exists(s, image_busy_sql, out->file_path, &busy, err)) == VG_OK && busy)
        e = vg_fail(err, VG_ERR_CONFLICT, "", "a generation that has not ended uses this image; cancel it or wait");
    if (e == VG_OK)
        e = exists(s, image_in_use_sql, out->file_path, file_in_use, err);
    return e;
}

enum vg_err pg_upload_delete(struct store *base, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    memset(out, 0, sizeof *out);
    *file_in_use = false;
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    return end_with_upload(s, delete_in(s, user_id, id, out, file_in_use, err), out, err);
}

enum vg_err pg_upload_usage(struct store *base, const char *user_id, int64_t *used, struct vg_error *err)
{
    return usage(pg(base), user_id, used, err);
}

enum vg_err pg_image_in_use(struct store *base, const char *file_path, bool *in_use, struct vg_error *err)
{
    return exists(pg(base), image_in_use_sql, file_path, in_use, err);
}
