/* PostgreSQL backend: renewing many leases in one statement. A worker that keeps its remote
 * jobs claimed between polls (worker/worker.c) renews them all at once, instead of one
 * transaction per job per poll (sqlite_renew.c is the same with SQLite's json_each). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

/* $1: a JSON array of [id, lease token]; each row is found by its primary key, and only a
 * lease its owner still holds is renewed (re-checked on the newest row version). */
static const char renew_sql[] =
    "UPDATE generations SET lease_until = $2::bigint + $3::bigint, next_run_at = $2::bigint + $3::bigint "
    "FROM (SELECT pair ->> 0 AS hid, pair ->> 1 AS howner FROM jsonb_array_elements($1::jsonb) AS j(pair)) AS h "
    "WHERE generations.id = h.hid AND generations.lease_owner = h.howner "
    "AND generations.status = 'processing' RETURNING generations.id, cancel_requested, webhook_woken";

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct job_renewal *)a)->id, ((const struct job_renewal *)b)->id);
}

static char *tokens_json(const struct job_renewal *jobs, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_pack("[ss]", jobs[i].id, jobs[i].owner)) != 0) {
            json_decref(a);
            return NULL;
        }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

/* Marks the entry row `row` is about (jobs sorted by id). */
static void mark(struct job_renewal *jobs, int n, const PGresult *r, int row)
{
    struct job_renewal key = {.id = PQgetvalue(r, row, 0)};
    struct job_renewal *j = bsearch(&key, jobs, (size_t)n, sizeof *jobs, by_id);
    if (j == NULL)
        return;
    j->held = true;
    j->cancel_requested = pg_bool(r, row, 1);
    j->webhook_woken = pg_bool(r, row, 2);
}

enum vg_err pg_job_renew(struct store *base, struct job_renewal *jobs, int n, int64_t lease_ms, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    qsort(jobs, (size_t)n, sizeof *jobs, by_id);
    for (int i = 0; i < n; i++)
        jobs[i].held = jobs[i].cancel_requested = jobs[i].webhook_woken = false;
    char *json = tokens_json(jobs, n);
    if (json == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    char now[PG_NUM], lease[PG_NUM];
    const char *p[] = {json, pg_i64(now, clock_now_ms()), pg_i64(lease, lease_ms)};
    PGresult *r = pg_run(s, renew_sql, 3, p, err);
    free(json);
    if (r == NULL) {
        for (int i = 0; i < n; i++) /* nothing is known: the caller keeps going as it was */
            jobs[i].held = true, jobs[i].cancel_requested = jobs[i].webhook_woken = false;
        return s->failed;
    }
    for (int i = 0; i < PQntuples(r); i++)
        mark(jobs, n, r, i);
    PQclear(r);
    return VG_OK;
}
