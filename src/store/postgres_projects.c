/* PostgreSQL backend: projects and the generations listed with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

/* The columns read_project() reads, in order. */
#define PROJECT_COLS "id, user_id, name, description, created_at, updated_at"

static const char project_insert_sql[] = "INSERT INTO projects (" PROJECT_COLS ") VALUES ($1, $2, $3, $4, $5, $6)";
static const char project_get_sql[] = "SELECT " PROJECT_COLS " FROM projects WHERE user_id = $1 AND id = $2";
static const char project_update_sql[] = "UPDATE projects SET name = coalesce($3::text, name), "
                                         "description = CASE WHEN $4::boolean THEN $5::text ELSE description END, "
                                         "updated_at = $6 WHERE user_id = $1 AND id = $2 RETURNING " PROJECT_COLS;
/* project_delete's transaction: the project locked first (a generation_create under way
 * holds it FOR SHARE until its generation is written, and one that starts later finds the
 * project gone), then deleted unless it has generations still running, which the DELETE
 * (a new snapshot, taken after the lock) sees whoever wrote them. */
static const char project_lock_sql[] = "SELECT 1 FROM projects WHERE user_id = $1 AND id = $2 FOR UPDATE";
static const char project_delete_sql[] = "DELETE FROM projects WHERE user_id = $1 AND id = $2 AND NOT EXISTS "
                                         "(SELECT 1 FROM generations WHERE project_id = $2 "
                                         "AND status IN ('pending', 'processing'))";
static const char generation_list_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE project_id = $2 "
                                          "AND user_id = $1 ORDER BY id DESC";
/* A page of a user's projects, newest first, walking projects_user (user_id, id). Ids are
 * Crockford base32 compared byte by byte (COLLATE "C"), so "~" sorts after every one:
 * "from the newest" is then the same index range as a page after a cursor. */
static const char project_page_sql[] = "SELECT " PROJECT_COLS " FROM projects WHERE user_id = $1 "
                                       "AND id < coalesce($2::text, '~') ORDER BY id DESC LIMIT $3";
static const char project_one_sql[] = "SELECT " PROJECT_COLS " FROM projects WHERE user_id = $1 AND id = $2 LIMIT $3";
/* A project's newest generations, newest first, each row with the project's total count:
 * both walk generations_project (project_id, id), and both come from one statement, so one
 * snapshot (the count always agrees with the rows). No user_id test: the project was found
 * as the user's, and so is each of its generations (generation_create checks). */
static const char project_recent_sql[] = "SELECT " GENERATION_COLS ", (SELECT count(*) FROM generations "
                                         "WHERE project_id = $1) FROM generations WHERE project_id = $1 "
                                         "ORDER BY id DESC LIMIT $2";

static void read_project(const PGresult *r, int row, struct project *p)
{
    pg_text_copy(r, row, 0, p->id, sizeof p->id);
    pg_text_copy(r, row, 1, p->user_id, sizeof p->user_id);
    p->name = pg_text_dup(r, row, 2);
    p->description = pg_text_dup(r, row, 3);
    p->created_at = pg_int(r, row, 4);
    p->updated_at = pg_int(r, row, 5);
}

static enum vg_err not_found(struct vg_error *err)
{
    return vg_fail(err, VG_ERR_NOT_FOUND, "", "no such project");
}

/* Runs a statement expected to return one project row. */
static enum vg_err one_project(struct pg_store *s, const char *sql, int nparams, const char *const *params,
                               struct project *out, struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, nparams, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) > 0)
        read_project(r, 0, out);
    else
        e = not_found(err);
    PQclear(r);
    return e;
}

enum vg_err pg_project_create(struct store *base, const char *user_id, const char *name, const char *description,
                              struct project *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char id[ID_LEN + 1], at[PG_NUM];
    int64_t now = clock_now_ms();
    id_new(id);
    pg_i64(at, now);
    const char *params[] = {id, user_id, name, description, at, at};
    enum vg_err e = pg_exec(s, project_insert_sql, 6, params, NULL, err);
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

enum vg_err pg_project_get(struct store *base, const char *user_id, const char *id, struct project *out,
                           struct vg_error *err)
{
    const char *params[] = {user_id, id};
    return one_project(pg(base), project_get_sql, 2, params, out, err);
}

/* Reads the projects of `q` into out->items, one more than q->limit to learn out->more.
 * On failure what was read stays in `out` for the caller's project_list_free. */
static enum vg_err read_projects(struct pg_store *s, const struct project_query *q, struct project_list *out,
                                 struct vg_error *err)
{
    char limit[PG_NUM];
    const char *params[] = {q->user_id, q->id ? q->id : q->before_id, pg_i64(limit, (int64_t)q->limit + 1)};
    PGresult *r = pg_run(s, q->id ? project_one_sql : project_page_sql, 3, params, err);
    if (r == NULL)
        return s->failed;
    int rows = PQntuples(r);
    enum vg_err e = VG_OK;
    if (rows > 0 && (out->items = calloc((size_t)rows, sizeof *out->items)) == NULL)
        e = vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    for (int i = 0; e == VG_OK && i < rows; i++)
        read_project(r, i, &out->items[out->n++].project);
    PQclear(r);
    if (e == VG_OK && out->n > (size_t)q->limit) {
        out->more = true;
        project_free(&out->items[--out->n].project);
    }
    return e;
}

static void read_generation_item(const PGresult *r, int row, void *item)
{
    pg_read_generation(r, row, item);
}

/* Reads one project's newest generations and count. On failure what was read stays in `p`
 * for the caller's project_list_free. */
static enum vg_err read_recent(struct pg_store *s, const struct project_query *q, struct project_summary *p,
                               struct vg_error *err)
{
    char recent[PG_NUM];
    const char *params[] = {p->project.id, pg_i64(recent, q->recent)};
    PGresult *r = pg_run(s, project_recent_sql, 2, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e =
        pg_read_all(r, (void **)&p->recent.items, &p->recent.n, sizeof *p->recent.items, read_generation_item, err);
    if (e == VG_OK && p->recent.n > 0)
        p->generation_count = (long)pg_int(r, 0, PQnfields(r) - 1); /* after GENERATION_COLS */
    PQclear(r);
    return e;
}

enum vg_err pg_project_list(struct store *base, const struct project_query *q, struct project_list *out,
                            struct vg_error *err)
{
    struct pg_store *s = pg(base);
    memset(out, 0, sizeof *out);
    enum vg_err e = read_projects(s, q, out, err);
    for (size_t i = 0; e == VG_OK && i < out->n; i++)
        e = read_recent(s, q, &out->items[i], err);
    if (e != VG_OK)
        project_list_free(out);
    return e;
}

enum vg_err pg_project_update(struct store *base, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out, struct vg_error *err)
{
    char now[PG_NUM];
    const char *params[] = {user_id, id, name, set_description ? "t" : "f", description, pg_i64(now, clock_now_ms())};
    return one_project(pg(base), project_update_sql, 6, params, out, err);
}

enum vg_err pg_project_delete(struct store *base, const char *user_id, const char *id, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    const char *params[] = {user_id, id};
    long deleted = 0;
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    PGresult *r = pg_run(s, project_lock_sql, 2, params, err);
    if (r == NULL) {
        e = s->failed;
        goto fail;
    }
    bool owned = PQntuples(r) > 0;
    PQclear(r);
    if (!owned) {
        e = not_found(err);
        goto fail;
    }
    if ((e = pg_exec(s, project_delete_sql, 2, params, &deleted, err)))
        goto fail;
    if (deleted == 0) {
        e = vg_fail(err, VG_ERR_CONFLICT, "", "the project has generations still running; cancel them first");
        goto fail;
    }
    return pg_commit(s, err);
fail:
    pg_rollback(s);
    return e;
}

enum vg_err pg_generation_list(struct store *base, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err)
{
    const char *params[] = {user_id, project_id};
    return pg_read_generations(pg(base), generation_list_sql, 2, params, out, err);
}
