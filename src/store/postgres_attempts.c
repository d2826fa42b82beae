/* The attempt history of generations (migration 009), for the PostgreSQL backend: written by
 * pg_job_update in the transaction of the change it records (which holds the generation's
 * row locked, so one generation's attempts are numbered one writer at a time), read for
 * GET /generations/:id. The same statements as sqlite_attempts.c. */
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

/* $1 generation, $2 provider, $3 model, $4 now. */
static const char begin_sql[] = "INSERT INTO generation_attempts (generation_id, n, provider, model, started_at) "
                                "SELECT $1, coalesce(max(n), 0) + 1, $2, $3, $4::bigint FROM generation_attempts "
                                "WHERE generation_id = $1";
static const char job_id_sql[] = "UPDATE generation_attempts SET provider_job_id = $2 "
                                 "WHERE generation_id = $1 AND ended_at IS NULL";
/* $1 generation, $2 now, $3 outcome, $4 error, $5 HTTP status (0 none). */
static const char end_sql[] = "UPDATE generation_attempts SET ended_at = $2::bigint, outcome = $3, error = $4, "
                              "http_status = nullif($5::integer, 0) WHERE generation_id = $1 AND ended_at IS NULL";
static const char list_sql[] =
    "SELECT a.n, a.provider, a.model, a.provider_job_id, a.started_at, coalesce(a.ended_at, 0), "
    "coalesce(a.outcome, ''), a.error, coalesce(a.http_status, 0), coalesce(a.cost_micros, -1), "
    "coalesce(a.cost_unit, '') FROM generation_attempts a JOIN generations g ON g.id = a.generation_id "
    "WHERE a.generation_id = $1 AND ($2::text IS NULL OR g.user_id = $2) ORDER BY a.n";
/* FOR UPDATE: two writers of the same attempt's cost take turns, so they never both count
 * the same growth. */
static const char cost_get_sql[] = "SELECT coalesce(cost_micros, -1), coalesce(cost_unit, '') FROM generation_attempts "
                                   "WHERE generation_id = $1 AND ended_at IS NULL FOR UPDATE";
static const char cost_set_sql[] = "UPDATE generation_attempts SET cost_micros = $2::bigint, cost_unit = $3 "
                                   "WHERE generation_id = $1 AND ended_at IS NULL";

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

static enum vg_err attempt_end(struct pg_store *s, const char *id, const char *outcome, const char *error,
                               int http_status, const char *now, struct vg_error *err)
{
    char status[PG_NUM];
    const char *p[] = {id, now, outcome, error, pg_i64(status, http_status)};
    return pg_exec(s, end_sql, 5, p, NULL, err);
}

/* A new attempt on the job's provider; one still open ends as interrupted (its worker stopped). */
static enum vg_err attempt_begin(struct pg_store *s, const struct generation *g, const char *model, const char *now,
                                 struct vg_error *err)
{
    enum vg_err e = attempt_end(s, g->id, "interrupted", NULL, 0, now, err);
    if (e != VG_OK)
        return e;
    return pg_exec(s, begin_sql, 4, (const char *const[]){g->id, g->provider, model, now}, NULL, err);
}

enum vg_err pg_attempt_record(struct pg_store *s, const struct generation *g, const struct job_update *u, int64_t now,
                              struct vg_error *err)
{
    char nowb[PG_NUM];
    pg_i64(nowb, now);
    enum vg_err e = VG_OK;
    const char *outcome = ended_as(u);
    if (u->outcome == JOB_RUNNING && u->attempt_model != NULL)
        e = attempt_begin(s, g, u->attempt_model, nowb, err);
    /* "-": a job that succeeded at once, with no id to follow it by */
    if (e == VG_OK && u->provider_job_id != NULL && strcmp(u->provider_job_id, "-") != 0)
        e = pg_exec(s, job_id_sql, 2, (const char *const[]){g->id, u->provider_job_id}, NULL, err);
    if (e == VG_OK && outcome != NULL)
        e = attempt_end(s, g->id, outcome, u->outcome == JOB_COMPLETED ? NULL : u->message, u->http_status, nowb, err);
    return e;
}

static void read_attempt(const PGresult *r, int row, void *item)
{
    struct generation_attempt *a = item;
    a->n = (int)pg_int(r, row, 0);
    pg_text_copy(r, row, 1, a->provider, sizeof a->provider);
    pg_text_copy(r, row, 2, a->model, sizeof a->model);
    a->provider_job_id = pg_text_dup(r, row, 3);
    a->started_at = pg_int(r, row, 4);
    a->ended_at = pg_int(r, row, 5);
    pg_text_copy(r, row, 6, a->outcome, sizeof a->outcome);
    a->error = pg_text_dup(r, row, 7);
    a->http_status = (int)pg_int(r, row, 8);
    a->cost_micros = pg_int(r, row, 9);
    pg_text_copy(r, row, 10, a->cost_unit, sizeof a->cost_unit);
}

enum vg_err pg_generation_attempts(struct store *base, const char *user_id, const char *id, struct attempt_list *out,
                                   struct vg_error *err)
{
    struct pg_store *s = pg(base);
    out->items = NULL, out->n = 0;
    PGresult *r = pg_run(s, list_sql, 2, (const char *const[]){id, user_id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_attempt, err);
    PQclear(r);
    return e;
}

/* In the transaction: the open attempt's recorded cost (-1 and "" when none), locked;
 * VG_ERR_NOT_FOUND when no attempt is open. */
static enum vg_err cost_recorded(struct pg_store *s, const char *id, int64_t *micros, char *unit, size_t cap,
                                 struct vg_error *err)
{
    *micros = -1, unit[0] = '\0';
    PGresult *r = pg_run(s, cost_get_sql, 1, (const char *const[]){id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = PQntuples(r) > 0 ? VG_OK : VG_ERR_NOT_FOUND;
    if (e == VG_OK) {
        *micros = pg_int(r, 0, 0);
        pg_text_copy(r, 0, 1, unit, cap);
    }
    PQclear(r);
    return e;
}

enum vg_err pg_attempt_cost(struct store *base, const char *id, int64_t micros, const char *unit, int64_t *added,
                            struct vg_error *err)
{
    struct pg_store *s = pg(base);
    int64_t was;
    char was_unit[16], m[PG_NUM];
    *added = 0;
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    e = cost_recorded(s, id, &was, was_unit, sizeof was_unit, err);
    if (e == VG_OK)
        e = pg_exec(s, cost_set_sql, 3, (const char *const[]){id, pg_i64(m, micros), unit}, NULL, err);
    if (e == VG_ERR_NOT_FOUND) { /* no attempt under way: nothing to record */
        pg_rollback(s);
        return VG_OK;
    }
    if (e != VG_OK) {
        pg_rollback(s);
        return e;
    }
    if ((e = pg_commit(s, err)) == VG_OK)
        *added = was < 0 || strcmp(was_unit, unit) != 0 ? micros : micros > was ? micros - was : 0;
    return e;
}
