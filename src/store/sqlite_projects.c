/* SQLite backend: projects and the generations listed with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

static void read_project(sqlite3_stmt *st, struct project *p)
{
    sq_text_copy(st, 0, p->id, sizeof p->id);
    sq_text_copy(st, 1, p->user_id, sizeof p->user_id);
    p->name = sq_text_dup(st, 2);
    p->description = sq_text_dup(st, 3);
    p->created_at = sqlite3_column_int64(st, 4);
    p->updated_at = sqlite3_column_int64(st, 5);
}

static enum vg_err not_found(struct vg_error *err)
{
    return vg_fail(err, VG_ERR_NOT_FOUND, "", "no such project");
}

/* Steps a statement expected to return one project row. */
static enum vg_err one_project(struct sqlite_store *s, sqlite3_stmt *st, struct project *out, struct vg_error *err)
{
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        read_project(st, out);
    else
        e = rc == SQLITE_DONE ? not_found(err) : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

enum vg_err sq_project_create(struct store *base, const char *user_id, const char *name, const char *description,
                              struct project *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    char id[ID_LEN + 1];
    int64_t now = clock_now_ms();
    id_new(id);
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_INSERT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sq_bind_text(st, 4, description);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now);
    enum vg_err e = sq_exec(s, st, err);
    if (e)
        return e;
    memset(out, 0, sizeof *out);
    memcpy(out->id, id, sizeof id);
    snprintf(out->user_id, sizeof out->user_id, "%s", user_id);
    out->name = strdup(name);
    out->description = description ? strdup(description) : NULL;
    out->created_at = out->updated_at = now;
    return VG_OK;
}

enum vg_err sq_project_get(struct store *base, const char *user_id, const char *id, struct project *out,
                           struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return one_project(s, st, out, err);
}

static void read_project_item(sqlite3_stmt *st, void *item)
{
    read_project(st, item);
}

static void free_project_item(void *item)
{
    project_free(item);
}

enum vg_err sq_project_list(struct store *base, const char *user_id, struct project_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_LIST, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    return sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_project_item,
                       free_project_item, err);
}

enum vg_err sq_project_update(struct store *base, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out,
                              struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_UPDATE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sq_bind_text(st, 3, name);
    sqlite3_bind_int(st, 4, set_description);
    sq_bind_text(st, 5, description);
    sqlite3_bind_int64(st, 6, clock_now_ms());
    return one_project(s, st, out, err);
}

enum vg_err sq_project_delete(struct store *base, const char *user_id, const char *id, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_DELETE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    enum vg_err e = sq_exec(s, st, err);
    if (e != VG_OK || sqlite3_changes(s->db) > 0)
        return e;
    /* Nothing deleted: either not the user's, or it has generations still running. */
    if ((st = sq_stmt(s, SQ_PROJECT_OWNED, err)) == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the project has generations still running; cancel them first");
    return not_found(err);
}

enum vg_err sq_generation_list(struct store *base, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, project_id ? SQ_GENERATION_LIST_PROJECT : SQ_GENERATION_LIST_USER, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    if (project_id)
        sqlite3_bind_text(st, 2, project_id, -1, SQLITE_STATIC);
    return sq_read_generations(s, st, out, err);
}
