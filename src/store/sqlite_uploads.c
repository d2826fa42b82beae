/* SQLite backend: uploaded images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

static void read_upload(sqlite3_stmt *st, void *item)
{
    struct upload *u = item;
    sq_text_copy(st, 0, u->id, sizeof u->id);
    sq_text_copy(st, 1, u->user_id, sizeof u->user_id);
    sq_text_copy(st, 2, u->sha256, sizeof u->sha256);
    u->file_path = sq_text_dup(st, 3);
    u->file_name = sq_text_dup(st, 4);
    sq_text_copy(st, 5, u->mime_type, sizeof u->mime_type);
    u->width = sqlite3_column_int(st, 6);
    u->height = sqlite3_column_int(st, 7);
    u->size_bytes = sqlite3_column_int64(st, 8);
    u->created_at = sqlite3_column_int64(st, 9);
}

static void free_upload(void *item)
{
    upload_free(item);
}

/* Steps a statement expected to return one upload row; VG_ERR_NOT_FOUND when it returns none. */
static enum vg_err one_upload(struct sqlite_store *s, sqlite3_stmt *st, struct upload *out, struct vg_error *err)
{
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        read_upload(st, out);
    else
        e = rc == SQLITE_DONE ? vg_fail(err, VG_ERR_NOT_FOUND, "", "no such upload") : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

static enum vg_err usage(struct sqlite_store *s, const char *user_id, int64_t *used, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_UPLOAD_USAGE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = rc == SQLITE_ROW ? VG_OK : sq_fail(s, rc, err);
    *used = e == VG_OK ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return e;
}

static enum vg_err insert(struct sqlite_store *s, const struct upload *u, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_UPLOAD_INSERT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, u->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->file_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->file_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, u->mime_type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, u->width);
    sqlite3_bind_int(st, 8, u->height);
    sqlite3_bind_int64(st, 9, u->size_bytes);
    sqlite3_bind_int64(st, 10, u->created_at);
    return sq_exec(s, st, err);
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
static enum vg_err end_with_upload(struct sqlite_store *s, enum vg_err e, struct upload *out, struct vg_error *err)
{
    if (e == VG_OK && (e = sq_commit(s, err)) == VG_OK)
        return VG_OK;
    sq_rollback(s);
    upload_free(out);
    return e;
}

/* In the transaction: the user's upload of the same image, or a new one within the quota. */
static enum vg_err create_in(struct sqlite_store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_UPLOAD_BY_SHA, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, in->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->sha256, -1, SQLITE_STATIC);
    enum vg_err e = one_upload(s, st, out, err);
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

enum vg_err sq_upload_create(struct store *base, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    *existing = false;
    *used = 0;
    memset(out, 0, sizeof *out);
    enum vg_err e = sq_begin(s, err);
    if (e != VG_OK)
        return e;
    return end_with_upload(s, create_in(s, in, quota_bytes, out, existing, used, err), out, err);
}

enum vg_err sq_upload_get(struct store *base, const char *user_id, const char *id, const char *file_path,
                          const char *sha256, struct upload *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    enum sq_stmt which = id != NULL ? SQ_UPLOAD_GET : file_path != NULL ? SQ_UPLOAD_BY_PATH : SQ_UPLOAD_BY_SHA;
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id != NULL ? id : file_path != NULL ? file_path : sha256, -1, SQLITE_STATIC);
    return one_upload(s, st, out, err);
}

enum vg_err sq_upload_list(struct store *base, const char *user_id, const char *before_id, int limit,
                           struct upload_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = sq_stmt(s, SQ_UPLOAD_PAGE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sq_bind_text(st, 2, before_id);
    sqlite3_bind_int(st, 3, limit + 1);
    enum vg_err e =
        sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_upload, free_upload, err);
    if (e == VG_OK && out->n > (size_t)limit) {
        upload_free(&out->items[--out->n]);
        out->more = true;
    }
    return e;
}

static enum vg_err exists(struct sqlite_store *s, enum sq_stmt which, const char *file_path, bool *yes,
                          struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, file_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return e;
}

static enum vg_err delete_in(struct sqlite_store *s, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_UPLOAD_DELETE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    enum vg_err e = one_upload(s, st, out, err);
    bool busy = false;
    if (e == VG_OK && (e = exists(s, SQ_IMAGE_BUSY, out->file_path, &busy, err)) == VG_OK && busy)
        e = vg_fail(err, VG_ERR_CONFLICT, "", "a generation that has not ended uses this image; cancel it or wait");
    if (e == VG_OK)
        e = exists(s, SQ_IMAGE_IN_USE, out->file_path, file_in_use, err);
    return e;
}

enum vg_err sq_upload_delete(struct store *base, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    memset(out, 0, sizeof *out);
    *file_in_use = false;
    enum vg_err e = sq_begin(s, err);
    if (e != VG_OK)
        return e;
    return end_with_upload(s, delete_in(s, user_id, id, out, file_in_use, err), out, err);
}

enum vg_err sq_upload_usage(struct store *base, const char *user_id, int64_t *used, struct vg_error *err)
{
    return usage(sq(base), user_id, used, err);
}

enum vg_err sq_image_in_use(struct store *base, const char *file_path, bool *in_use, struct vg_error *err)
{
    return exists(sq(base), SQ_IMAGE_IN_USE, file_path, in_use, err);
}
