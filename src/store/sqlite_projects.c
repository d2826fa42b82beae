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

/* The columns read_project() reads, in order. */
#define PROJECT_ROW "id, user_id, name, description, created_at, updated_at"

/* A page of a user's projects, newest first, walking projects_user (user_id, id). Ids are
 * Crockford base32 (digits and capitals), so "~" sorts after every one: "from the newest"
 * is then the same index range as a page after a cursor. */
static const char project_page_sql[] = "SELECT " PROJECT_ROW " FROM projects WHERE user_id = ?1 "
                                       "AND id < coalesce(?2, '~') ORDER BY id DESC LIMIT ?3";
static const char project_one_sql[] = "SELECT " PROJECT_ROW " FROM projects WHERE user_id = ?1 AND id = ?2 LIMIT ?3";

/* A project's newest generations, newest first, each row with the project's total count:
 * both walk generations_project (project_id, id), reading `limit` rows and counting index
 * entries only, and both come from one statement, so one snapshot (the count always
 * agrees with the rows). No user_id test: the project was found as the user's, and so is
 * each of its generations (generation_create checks); a user_id term could also lead the
 * planner to generations_user, which would walk every generation of the user. */
static const char project_recent_sql[] = "SELECT " GENERATION_COLS ", (SELECT count(*) FROM generations "
                                         "WHERE project_id = ?1) FROM generations WHERE project_id = ?1 "
                                         "ORDER BY id DESC LIMIT ?2";

/* Prepares one of this file's statements for one call; the caller sqlite3_finalize()s it.
 * (Not in sqlite.c's per-connection cache: it is one prepare per request, not per row.) */
static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, struct vg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(s, rc, err);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Reads the projects of `q` into out->items, one more than q->limit to learn out->more.
 * On failure what was read stays in `out` for the caller's project_list_free. */
static enum vg_err read_projects(struct sqlite_store *s, const struct project_query *q, struct project_list *out,
                                 struct vg_error *err)
{
    sqlite3_stmt *st = prepare(s, q->id ? project_one_sql : project_page_sql, err);
    size_t cap = 0;
    int rc;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, q->user_id, -1, SQLITE_STATIC);
    sq_bind_text(st, 2, q->id ? q->id : q->before_id);
    sqlite3_bind_int(st, 3, q->limit + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct project_summary *p = sq_grow((void **)&out->items, &out->n, &cap, sizeof *p);
        if (p == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        read_project(st, &p->project);
    }
    enum vg_err e = rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
    sqlite3_finalize(st);
    if (e == VG_OK && out->n > (size_t)q->limit) {
        out->more = true;
        project_free(&out->items[--out->n].project);
    }
    return e;
}

/* Reads one project's newest generations and count from project_recent_sql, bound to it.
 * On failure what was read stays in `p` for the caller's project_list_free. */
static enum vg_err read_recent(struct sqlite_store *s, sqlite3_stmt *st, struct project_summary *p,
                               struct vg_error *err)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct generation *g = sq_grow((void **)&p->recent.items, &p->recent.n, &cap, sizeof *g);
        if (g == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        sq_read_generation(st, g);
        p->generation_count = sqlite3_column_int64(st, sqlite3_column_count(st) - 1); /* after GENERATION_COLS */
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_project_list(struct store *base, const struct project_query *q, struct project_list *out,
                            struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    enum vg_err e = read_projects(s, q, out, err);
    if (e == VG_OK && out->n > 0 && (st = prepare(s, project_recent_sql, err)) == NULL)
        e = VG_ERR_INTERNAL;
    for (size_t i = 0; e == VG_OK && i < out->n; i++) {
        sqlite3_bind_text(st, 1, out->items[i].project.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, q->recent);
        e = read_recent(s, st, &out->items[i], err);
    }
    sqlite3_finalize(st);
    if (e != VG_OK)
        project_list_free(out);
    return e;
}

enum vg_err sq_project_update(struct store *base, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out, struct vg_error *err)
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
    sqlite3_stmt *st = sq_stmt(s, SQ_GENERATION_LIST_PROJECT, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, project_id, -1, SQLITE_STATIC);
    return sq_read_generations(s, st, out, err);
}
