/* SQLite backend: workers' heartbeats. A worker holds its remote jobs under one row of
 * worker_beats (migration 013): a beat is one small write and one read of the jobs with news,
 * whatever the number of jobs held, and a reap turns a lapsed worker's jobs back into expired
 * leases. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* Runs a statement that takes (worker, now, lease_ms) and returns no row; *changed tells how
 * many rows it wrote. A name taken already is a conflict (sq_fail). */
static enum vg_err beat_write(struct sqlite_store *s, enum sq_stmt which, const char *worker, int64_t lease_ms,
                              int *changed, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clock_now_ms());
    sqlite3_bind_int64(st, 3, lease_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, err);
    *changed = sqlite3_changes(s->db);
    return VG_OK;
}

enum vg_err sq_worker_join(struct store *base, const char *worker, int64_t lease_ms, struct vg_error *err)
{
    int changed;
    return beat_write(sq(base), SQ_WORKER_JOIN, worker, lease_ms, &changed, err);
}

static enum vg_err read_news(struct sqlite_store *s, const char *worker, struct job_news_list *news,
                             struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_WORKER_NEWS, err);
    size_t cap = 0;
    int rc;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (news->n == cap) {
            struct job_news *items = realloc(news->items, (cap = cap ? cap * 2 : 8) * sizeof *items);
            if (items == NULL) {
                sqlite3_reset(st);
                return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
            }
            news->items = items;
        }
        struct job_news *n = &news->items[news->n++];
        sq_text_copy(st, 0, n->id, sizeof n->id);
        n->cancel_requested = sqlite3_column_int(st, 1) != 0;
        n->webhook_woken = sqlite3_column_int(st, 2) != 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_worker_beat(struct store *base, const char *worker, int64_t lease_ms, struct job_news_list *news,
                           struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int changed;
    *news = (struct job_news_list){0};
    enum vg_err e = beat_write(s, SQ_WORKER_BEAT, worker, lease_ms, &changed, err);
    if (e == VG_OK && changed == 0)
        return vg_fail(err, VG_ERR_CONFLICT, "", "the heartbeat of worker %s lapsed", worker);
    if (e == VG_OK && (e = read_news(s, worker, news, err)) != VG_OK)
        job_news_list_free(news);
    return e;
}

static enum vg_err run_now(struct sqlite_store *s, enum sq_stmt which, int64_t now, long *changed, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, err);
    *changed = sqlite3_changes(s->db);
    return VG_OK;
}

/* The held jobs are looked for only when a beat lapsed: most reaps delete nothing. */
enum vg_err sq_workers_reap(struct store *base, long *jobs, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int64_t now = clock_now_ms();
    long lapsed = 0;
    *jobs = 0;
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    if ((e = run_now(s, SQ_WORKERS_LAPSED, now, &lapsed, err)) == VG_OK && lapsed > 0)
        e = run_now(s, SQ_WORKERS_REAP, now, jobs, err);
    if (e != VG_OK) {
        sq_rollback(s);
        *jobs = 0;
        return e;
    }
    return sq_commit(s, err);
}
