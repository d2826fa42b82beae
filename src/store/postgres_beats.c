/* PostgreSQL backend: workers' heartbeats, as sqlite_beats.c. A worker holds its remote jobs
 * under one row of worker_beats (migration 013): a beat is one small write and one read of the
 * jobs with news, whatever the number of jobs held, and a reap turns a lapsed worker's jobs
 * back into expired leases.
 *
 * A reap against a claim: the claim holds the beat's row FOR SHARE to its commit
 * (postgres_jobs.c), so the reap's DELETE of that row waits for it, and the reap's UPDATE, a
 * statement of its own, reads the rows committed by then (READ COMMITTED): the job just
 * claimed is passed over with the others. A beat that commits first keeps its row: the
 * DELETE re-checks alive_until on the newest version. */
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

static const char join_sql[] = "INSERT INTO worker_beats (name, alive_until) VALUES ($1, $2::bigint + $3::bigint)";
static const char beat_sql[] = "UPDATE worker_beats SET alive_until = $2::bigint + $3::bigint "
                               "WHERE name = $1 AND alive_until >= $2::bigint";
/* By generations_news: the rows with news only. */
static const char news_sql[] = "SELECT id, cancel_requested, webhook_woken FROM generations WHERE lease_worker = $1 "
                               "AND (cancel_requested <> 0 OR webhook_woken <> 0)";
static const char lapsed_sql[] = "DELETE FROM worker_beats WHERE alive_until < $1::bigint";
/* Every held job whose worker no longer beats (generations_lease_worker): an expired lease,
 * due now, still its last owner's until a claim takes it over. */
static const char reap_sql[] = "UPDATE generations SET lease_worker = NULL, lease_until = $1::bigint - 1, "
                               "next_run_at = $1::bigint - 1 WHERE lease_worker IS NOT NULL AND NOT EXISTS "
                               "(SELECT 1 FROM worker_beats b WHERE b.name = generations.lease_worker)";

/* A statement of (worker, now, lease_ms); *changed tells how many rows it wrote. A name taken
 * already is a conflict (pg_run). */
static enum vg_err beat_write(struct pg_store *s, const char *sql, const char *worker, int64_t lease_ms, long *changed,
                              struct vg_error *err)
{
    char now[PG_NUM], lease[PG_NUM];
    const char *p[] = {worker, pg_i64(now, clock_now_ms()), pg_i64(lease, lease_ms)};
    return pg_exec(s, sql, 3, p, changed, err);
}

enum vg_err pg_worker_join(struct store *base, const char *worker, int64_t lease_ms, struct vg_error *err)
{
    return beat_write(pg(base), join_sql, worker, lease_ms, NULL, err);
}

static enum vg_err read_news(struct pg_store *s, const char *worker, struct job_news_list *news, struct vg_error *err)
{
    PGresult *r = pg_run(s, news_sql, 1, (const char *const[]){worker}, err);
    if (r == NULL)
        return s->failed;
    int rows = PQntuples(r);
    news->items = rows > 0 ? calloc((size_t)rows, sizeof *news->items) : NULL;
    if (rows > 0 && news->items == NULL) {
        PQclear(r);
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        struct job_news *n = &news->items[news->n++];
        pg_text_copy(r, i, 0, n->id, sizeof n->id);
        n->cancel_requested = pg_bool(r, i, 1);
        n->webhook_woken = pg_bool(r, i, 2);
    }
    PQclear(r);
    return VG_OK;
}

enum vg_err pg_worker_beat(struct store *base, const char *worker, int64_t lease_ms, struct job_news_list *news,
                           struct vg_error *err)
{
    struct pg_store *s = pg(base);
    long changed = 0;
    *news = (struct job_news_list){0};
    enum vg_err e = beat_write(s, beat_sql, worker, lease_ms, &changed, err);
    if (e == VG_OK && changed == 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the heartbeat of worker %s lapsed", worker);
    if (e == VG_OK && (e = read_news(s, worker, news, err)) != VG_OK)
        job_news_list_free(news);
    return e;
}

/* The held jobs are looked for only when a beat lapsed: most reaps delete nothing. */
enum vg_err pg_workers_reap(struct store *base, long *jobs, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char now[PG_NUM];
    const char *p[] = {pg_i64(now, clock_now_ms())};
    long lapsed = 0;
    *jobs = 0;
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    if ((e = pg_exec(s, lapsed_sql, 1, p, &lapsed, err)) == VG_OK && lapsed > 0)
        e = pg_exec(s, reap_sql, 1, p, jobs, err);
    if (e != VG_OK) {
        pg_rollback(s);
        *jobs = 0;
        return e;
    }
    return pg_commit(s, err);
}
