/* SQLite backend: the worker's side of a generation — claim with a lease, renew it, and
 * end the job (completed, failed with a refund, cancelled, or retried later). Every change
 * is conditional on the caller still holding the lease, so a worker that lost its lease
 * (paused past expiry, taken over) can never overwrite the new holder's work. */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* The user served least recently who has a due job of `kind` (fairness, DESIGN §6). */
static enum vg_err next_user(struct sqlite_store *s, int64_t now, enum job_kind kind, char user[ID_LEN + 1],
                             struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_CLAIM_USER, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, kind == JOBS_LOCAL);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sq_text_copy(st, 0, user, ID_LEN + 1);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : sq_fail(s, rc, err);
}

/* The claim proper: that user's oldest due job of `kind`. */
static enum vg_err claim_step(struct sqlite_store *s, const char *owner, const char *worker, int64_t now,
                              int64_t lease_ms, enum job_kind kind, struct generation *out, struct vg_error *err)
{
    char user[ID_LEN + 1];
    enum vg_err e = next_user(s, now, kind, user, err);
    if (e != VG_OK)
        return e;
    sqlite3_stmt *st = sq_stmt(s, SQ_JOB_CLAIM, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, lease_ms);
    sqlite3_bind_int(st, 4, kind == JOBS_LOCAL);
    sqlite3_bind_text(st, 5, user, -1, SQLITE_STATIC);
    sq_bind_text(st, 6, worker);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sq_read_generation(st, out);
    else
        e = rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

static enum vg_err mark_served(struct sqlite_store *s, const char *user_id, int64_t now, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_USER_CLAIMED, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_job_claim(struct store *base, const char *owner, const char *worker, int64_t lease_ms,
                         enum job_kind kind, struct generation *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int64_t now = clock_now_ms();
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    if ((e = claim_step(s, owner, worker, now, lease_ms, kind, out, err)) == VG_OK &&
        (e = mark_served(s, out->user_id, now, err)) != VG_OK)
        generation_free(out);
    return sq_end_with_generation(s, e, out, err);
}

static enum vg_err count_of(struct sqlite_store *s, enum sq_stmt which, const char *provider, long *n,
                            struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_provider_in_flight(struct store *base, const char *provider, long *n, struct vg_error *err)
{
    return count_of(sq(base), SQ_PROVIDER_IN_FLIGHT, provider, n, err);
}

enum vg_err sq_provider_queued(struct store *base, const char *provider, long *n, struct vg_error *err)
{
    return count_of(sq(base), SQ_PROVIDER_QUEUED, provider, n, err);
}

enum vg_err sq_provider_health_get(struct store *base, const char *provider, struct provider_health *out,
                                   struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_HEALTH_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    memset(out, 0, sizeof *out);
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->last_success_at = sqlite3_column_int64(st, 0);
        out->last_failure_at = sqlite3_column_int64(st, 1);
        sq_text_copy(st, 2, out->last_failure, sizeof out->last_failure);
        out->failures = sqlite3_column_int(st, 3);
        out->open_until = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

enum vg_err sq_provider_health_put(struct store *base, const char *provider, const struct provider_health *h,
                                   struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_HEALTH_PUT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h->last_success_at);
    sqlite3_bind_int64(st, 3, h->last_failure_at);
    sq_bind_text(st, 4, h->last_failure[0] ? h->last_failure : NULL);
    sqlite3_bind_int(st, 5, h->failures);
    sqlite3_bind_int64(st, 6, h->open_until);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
}

/* One probe of generations_due_kind per kind asked for. */
enum vg_err sq_job_next_due(struct store *base, unsigned kinds, int64_t *at_ms, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    *at_ms = 0;
    for (enum job_kind k = JOBS_LOCAL; k <= JOBS_REMOTE; k++) {
        if (!(kinds & JOB_KIND_BIT(k)))
            continue;
        sqlite3_stmt *st = sq_stmt(s, SQ_JOB_NEXT_DUE, err);
        if (st == NULL)
            return VG_ERR_INTERNAL;
        sqlite3_bind_int(st, 1, k == JOBS_LOCAL);
        int rc = sqlite3_step(st);
        int64_t at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return sq_fail(s, rc, err);
        if (at > 0 && (*at_ms == 0 || at < *at_ms))
            *at_ms = at;
    }
    return VG_OK;
}

enum vg_err sq_job_lease(struct store *base, const char *id, struct job_lease *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_JOB_LEASE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW) {
        sq_text_copy(st, 0, out->owner, sizeof out->owner);
        out->until = sqlite3_column_int64(st, 1);
    } else
        e = rc == SQLITE_DONE ? vg_fail(err, VG_ERR_NOT_FOUND, "", "no generation %s", id) : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

/* Binds the statement for `u` (parameters 1–3 are id, owner, now). */
static sqlite3_stmt *bind_update(struct sqlite_store *s, const char *id, const char *owner, const struct job_update *u,
                                 int64_t now, struct vg_error *err)
{
    static const enum sq_stmt which[] = {
        [JOB_RUNNING] = SQ_JOB_RUNNING,    [JOB_RETRY] = SQ_JOB_RETRY, [JOB_WAIT] = SQ_JOB_WAIT,
        [JOB_COMPLETED] = SQ_JOB_COMPLETE, [JOB_FAILED] = SQ_JOB_END,  [JOB_CANCELLED] = SQ_JOB_END,
        [JOB_REROUTE] = SQ_JOB_REROUTE,
    };
    sqlite3_stmt *st = sq_stmt(s, which[u->outcome], err);
    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    switch (u->outcome) {
    case JOB_RUNNING:
        sqlite3_bind_int64(st, 4, u->lease_ms);
        sqlite3_bind_int(st, 5, u->progress);
        sq_bind_text(st, 6, u->phase);
        sq_bind_text(st, 7, u->provider_job_id);
        sq_bind_text(st, 8, u->webhook_hash);
        break;
    case JOB_RETRY:
        sqlite3_bind_int64(st, 4, u->next_run_at);
        sq_bind_text(st, 5, u->message);
        sq_bind_text(st, 6, u->phase);
        break;
    case JOB_WAIT:
        sqlite3_bind_int64(st, 4, u->next_run_at);
        sq_bind_text(st, 5, u->phase);
        sqlite3_bind_int(st, 6, u->progress);
        sq_bind_text(st, 7, u->provider_job_id);
        break;
    case JOB_COMPLETED:
        sq_bind_text(st, 4, u->output_path);
        sq_bind_text(st, 5, u->thumbnail_path);
        sqlite3_bind_int(st, 6, u->video_width);
        sqlite3_bind_int(st, 7, u->video_height);
        sqlite3_bind_double(st, 8, u->video_seconds);
        break;
    case JOB_FAILED:
    case JOB_CANCELLED:
        sqlite3_bind_text(st, 4, u->outcome == JOB_FAILED ? "failed" : "cancelled", -1, SQLITE_STATIC);
        sq_bind_text(st, 5, u->message);
        break;
    case JOB_REROUTE: sq_bind_text(st, 4, u->provider); break;
    }
    return st;
}

/* Failed jobs are always refunded; cancelled ones only when nothing reached a provider (a
 * provider charges us once a job is submitted). A cancel that comes while a submit is under
 * way waits in the worker for the submit's outcome (DESIGN §6), so by the time a job ends
 * as cancelled, a submit that reached the provider has left its job id here. */
static bool refunds(const struct job_update *u, const struct generation *g)
{
    return u->outcome == JOB_FAILED || (u->outcome == JOB_CANCELLED && g->provider_job_id == NULL);
}

enum vg_err sq_job_update(struct store *base, const char *id, const char *owner, const struct job_update *u,
                          struct generation *out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    struct generation g;
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    int64_t now = clock_now_ms();
    sqlite3_stmt *st = bind_update(s, id, owner, u, now, err);
    if (st == NULL) {
        e = VG_ERR_INTERNAL;
        goto done;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sq_read_generation(st, &g);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        e = vg_fail(err, VG_ERR_CONFLICT, "", "the lease on generation %s is no longer held by %s", id, owner);
        goto done;
    }
    if (rc != SQLITE_ROW) {
        e = sq_fail(s, rc, err);
        goto done;
    }
    e = sq_attempt_record(s, &g, u, now, err);
    if (e == VG_OK && refunds(u, &g))
        e = sq_refund(s, &g, u->outcome == JOB_FAILED ? "generation failed" : "cancelled before submission", err);
    if (e == VG_OK && out)
        *out = g;
    else
        generation_free(&g);
done:
    return sq_end_with_generation(s, e, out, err);
}

enum vg_err sq_webhook_known(struct store *base, const char *provider, const char *token_hash, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_WEBHOOK_KNOWN, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    enum vg_err e = rc == SQLITE_ROW ? VG_OK : rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

enum vg_err sq_webhook_wake(struct store *base, const char *provider, const char *token_hash,
                            const char *provider_job_id, char id[ID_LEN + 1], struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_WEBHOOK_WAKE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, provider_job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, clock_now_ms());
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        sq_text_copy(st, 0, id, ID_LEN + 1);
    else
        e = rc == SQLITE_DONE ? VG_ERR_NOT_FOUND : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}
