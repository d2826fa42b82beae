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

/* Appends to a growing array of `size`-byte items; returns the new slot or NULL. */
static void *grow(void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*items, ncap * size);
        if (p == NULL)
            return NULL;
        *items = p, *cap = ncap;
    }
    void *slot = (char *)*items + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

enum vg_err sq_project_list(struct store *base, const char *user_id, struct project_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    size_t cap = 0;
    int rc;
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_LIST, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct project *p = grow((void **)&out->items, &out->n, &cap, sizeof *p);
        if (p == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        read_project(st, p);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        project_list_free(out);
        return sq_fail(s, rc, err);
    }
    return VG_OK;
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
    if (e == VG_OK && sqlite3_changes(s->db) == 0)
        return not_found(err);
    return e;
}

static void read_generation(sqlite3_stmt *st, struct generation *g)
{
    sq_text_copy(st, 0, g->id, sizeof g->id);
    sq_text_copy(st, 1, g->project_id, sizeof g->project_id);
    sq_text_copy(st, 2, g->user_id, sizeof g->user_id);
    sq_text_copy(st, 3, g->provider, sizeof g->provider);
    sq_text_copy(st, 4, g->model_id, sizeof g->model_id);
    g->model_name = sq_text_dup(st, 5);
    g->prompt = sq_text_dup(st, 6);
    g->negative_prompt = sq_text_dup(st, 7);
    g->start_image = sq_text_dup(st, 8);
    g->end_image = sq_text_dup(st, 9);
    sq_text_copy(st, 10, g->resolution, sizeof g->resolution);
    g->duration = sqlite3_column_int(st, 11);
    sq_text_copy(st, 12, g->aspect_ratio, sizeof g->aspect_ratio);
    g->audio = sqlite3_column_int(st, 13) != 0;
    g->enhance_prompt = sqlite3_column_int(st, 14) != 0;
    g->credit_used = (long)sqlite3_column_int64(st, 15);
    sq_text_copy(st, 16, g->status, sizeof g->status);
    g->progress = sqlite3_column_int(st, 17);
    g->error_message = sq_text_dup(st, 18);
    g->output_path = sq_text_dup(st, 19);
    g->thumbnail_path = sq_text_dup(st, 20);
    g->created_at = sqlite3_column_int64(st, 21);
    g->updated_at = sqlite3_column_int64(st, 22);
    g->completed_at = sqlite3_column_int64(st, 23);
}

enum vg_err sq_generation_list(struct store *base, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    size_t cap = 0;
    int rc;
    sqlite3_stmt *st = sq_stmt(s, project_id ? SQ_GENERATION_LIST_PROJECT : SQ_GENERATION_LIST_USER, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    if (project_id)
        sqlite3_bind_text(st, 2, project_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct generation *g = grow((void **)&out->items, &out->n, &cap, sizeof *g);
        if (g == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        read_generation(st, g);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        generation_list_free(out);
        return sq_fail(s, rc, err);
    }
    return VG_OK;
}
