/* SQLite backend: renewing many leases in one statement. A worker that keeps its remote
 * jobs claimed between polls (worker/worker.c) renews them all at once, instead of one
 * transaction per job per poll. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

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

/* Marks the entry the returned row is about (jobs sorted by id). */
static void mark(struct job_renewal *jobs, int n, sqlite3_stmt *st)
{
    struct job_renewal key = {.id = (const char *)sqlite3_column_text(st, 0)};
    struct job_renewal *j = key.id ? bsearch(&key, jobs, (size_t)n, sizeof *jobs, by_id) : NULL;
    if (j == NULL)
        return;
    j->held = true;
    j->cancel_requested = sqlite3_column_int(st, 1) != 0;
    j->webhook_woken = sqlite3_column_int(st, 2) != 0;
}

enum vg_err sq_job_renew(struct store *base, struct job_renewal *jobs, int n, int64_t lease_ms, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    enum vg_err e = VG_OK;
    int rc;
    qsort(jobs, (size_t)n, sizeof *jobs, by_id);
    for (int i = 0; i < n; i++)
        jobs[i].held = jobs[i].cancel_requested = jobs[i].webhook_woken = false;
    char *json = tokens_json(jobs, n);
    if (json == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    sqlite3_stmt *st = sq_stmt(s, SQ_JOB_RENEW, err);
    if (st == NULL) {
        free(json);
        return VG_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    sqlite3_bind_int64(st, 3, lease_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        mark(jobs, n, st);
    if (rc != SQLITE_DONE) {
        e = sq_fail(s, rc, err);
        for (int i = 0; i < n; i++) /* rolled back: nothing is known */
            jobs[i].held = true, jobs[i].cancel_requested = jobs[i].webhook_woken = false;
    }
    sqlite3_reset(st);
    free(json);
    return e;
}
