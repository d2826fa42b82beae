/* The attempt history of generations (migration 009), for the SQLite backend: written by
 * sq_job_update in the transaction of the change it records, read for GET /generations/:id. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char *ended_as(const struct job_update *u)
{
    switch (u->outcome) {
    case JOB_COMPLETED: return "completed";
    case JOB_FAILED: return "failed";
    case JOB_CANCELLED: return "cancelled";
    case JOB_REROUTE: return u->attempt_end ? u->attempt_end : "fell_back";
    case JOB_RUNNING: return NULL;
    case JOB_RETRY:
    case JOB_WAIT: return u->attempt_end;
    }
    return NULL;
}

static enum vg_err attempt_begin(struct sqlite_store *s, const struct generation *g, const char *model, int64_t now,
                                 struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_END, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, "interrupted", -1, SQLITE_STATIC);
    sqlite3_bind_null(st, 4);
    sqlite3_bind_int(st, 5, 0);
    enum vg_err e = sq_exec(s, st, err);
    if (e != VG_OK || (st = sq_stmt(s, SQ_ATTEMPT_BEGIN, err)) == NULL)
        return e != VG_OK ? e : VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    return sq_exec(s, st, err);
}

static enum vg_err attempt_job_id(struct sqlite_store *s, const char *id, const char *job_id, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_JOB_ID, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC);
    return sq_exec(s, st, err);
}

static enum vg_err attempt_end(struct sqlite_store *s, const char *id, const struct job_update *u, const char *outcome,
                               int64_t now, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_END, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
    sq_bind_text(st, 4, u->outcome == JOB_COMPLETED ? NULL : u->message);
    sqlite3_bind_int(st, 5, u->http_status);
    return sq_exec(s, st, err);
}

enum vg_err sq_attempt_record(struct sqlite_store *s, const struct generation *g, const struct job_update *u,
                              int64_t now, struct vg_error *err)
{
    enum vg_err e = VG_OK;
    const char *outcome = ended_as(u);
    if (u->outcome == JOB_RUNNING && u->attempt_model != NULL)
        e = attempt_begin(s, g, u->attempt_model, now, err);
    /* "-": a job that succeeded at once, with no id to follow it by */
    if (e == VG_OK && u->provider_job_id != NULL && strcmp(u->provider_job_id, "-") != 0)
        e = attempt_job_id(s, g->id, u->provider_job_id, err);
    if (e == VG_OK && outcome != NULL)
        e = attempt_end(s, g->id, u, outcome, now, err);
    return e;
}

static void read_attempt(sqlite3_stmt *st, void *item)
{
    struct generation_attempt *a = item;
    a->n = sqlite3_column_int(st, 0);
    sq_text_copy(st, 1, a->provider, sizeof a->provider);
    sq_text_copy(st, 2, a->model, sizeof a->model);
    a->provider_job_id = sq_text_dup(st, 3);
    a->started_at = sqlite3_column_int64(st, 4);
    a->ended_at = sqlite3_column_int64(st, 5);
    sq_text_copy(st, 6, a->outcome, sizeof a->outcome);
    a->error = sq_text_dup(st, 7);
    a->http_status = sqlite3_column_int(st, 8);
    a->cost_micros = sqlite3_column_int64(st, 9);
    sq_text_copy(st, 10, a->cost_unit, sizeof a->cost_unit);
}

static void free_attempt(void *item)
{
    struct generation_attempt *a = item;
    free(a->provider_job_id);
    free(a->error);
}

enum vg_err sq_generation_attempts(struct store *base, const char *user_id, const char *id, struct attempt_list *out,
                                   struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_LIST, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sq_bind_text(st, 2, user_id);
    return sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_attempt, free_attempt, err);
}

/* The open attempt's recorded cost (-1 and "" when none, or no attempt is open). */
static enum vg_err cost_recorded(struct sqlite_store *s, const char *id, int64_t *micros, char *unit, size_t cap,
                                 struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_ATTEMPT_COST_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    *micros = -1, unit[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *micros = sqlite3_column_int64(st, 0);
        sq_text_copy(st, 1, unit, cap);
    }
    /* Reset at once: a statement left on its row keeps its read snapshot after the commit, and
     * the connection's next write would then be refused as busy, for good. */
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : sq_fail(s, rc, err);
}

/* Read and written in one transaction, so that two writers of the same attempt never both
 * count the same growth. */
enum vg_err sq_attempt_cost(struct store *base, const char *id, int64_t micros, const char *unit, int64_t *added,
                            struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int64_t was;
    char was_unit[16];
    sqlite3_stmt *st;
    *added = 0;
    enum vg_err e = sq_begin(s, err);
    if (e != VG_OK)
        return e;
    e = cost_recorded(s, id, &was, was_unit, sizeof was_unit, err);
    if (e == VG_OK && (st = sq_stmt(s, SQ_ATTEMPT_COST_SET, err)) == NULL)
        e = VG_ERR_INTERNAL;
    else if (e == VG_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, micros);
        sqlite3_bind_text(st, 3, unit, -1, SQLITE_STATIC);
        e = sq_exec(s, st, err);
    }
    if (e == VG_ERR_NOT_FOUND) { /* no attempt under way: nothing to record */
        sq_rollback(s);
        return VG_OK;
    }
    if (e != VG_OK) {
        sq_rollback(s);
        return e;
    }
    if ((e = sq_commit(s, err)) == VG_OK)
        *added = was < 0 || strcmp(was_unit, unit) != 0 ? micros : micros > was ? micros - was : 0;
    return e;
}
