/* PostgreSQL backend: the worker's side of a generation — claim with a lease, renew it, and
 * end the job (completed, failed with a refund, cancelled, retried later or rerouted). As in
 * sqlite_jobs.c, every change is conditional on the caller still holding the lease, so a
 * worker that lost its lease (paused past expiry, taken over) never overwrites the new
 * holder's work: each UPDATE names the lease owner in its WHERE, which PostgreSQL re-checks
 * against the newest version of the row, and the row stays locked to the end of the
 * transaction that records the attempt and the refund.
 *
 * Claims never wait on each other: the user to serve and then the job are each taken with
 * FOR UPDATE SKIP LOCKED, so two workers claiming at once take different users (or that
 * user's different jobs), and a job another transaction holds is passed over, not waited on. */
#include <stdio.h>
#include <string.h>

#include "store/postgres_internal.h"

/* The user served least recently who has a due job of kind $2 (fairness, DESIGN §6); their
 * row stays locked until the claim commits (last_claim_at is written), so a second worker
 * claiming meanwhile serves the next user instead of racing for the same job (NO KEY UPDATE:
 * the lock the UPDATE of last_claim_at takes anyway). A held job is not due: its next_run_at
 * is its lease's expiry. */
static const char claim_user_sql[] =
    "SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM generations g "
    "WHERE g.user_id = u.id AND (g.provider = 'local') = $2::boolean AND g.next_run_at <= $1::bigint "
    "AND g.status IN ('pending', 'processing')) ORDER BY u.last_claim_at LIMIT 1 FOR NO KEY UPDATE OF u SKIP LOCKED";

/* That user's oldest due job of the kind. An attempt is counted when an expired lease is taken
 * over (its holder died or hung), not when a released job is claimed again. $6: the worker
 * whose heartbeat holds a remote job (store.h, job_claim), or NULL. Under a beat that lapsed
 * nothing is claimed; the beat's row is locked (FOR SHARE) to the commit, so a reap deleting
 * it waits, and then finds this job (postgres_beats.c). */
static const char claim_sql[] =
    "UPDATE generations SET lease_owner = $1, lease_worker = $6, "
    "lease_until = CASE WHEN $6::text IS NULL THEN $2::bigint + $3::bigint ELSE " STORE_HELD_UNTIL_SQL " END, "
    "next_run_at = CASE WHEN $6::text IS NULL THEN $2::bigint + $3::bigint ELSE " STORE_HELD_UNTIL_SQL " END, "
    "attempts = attempts + CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END, "
    "status = 'processing', updated_at = $2::bigint WHERE id = (SELECT id FROM generations "
    "WHERE user_id = $5 AND (provider = 'local') = $4::boolean AND next_run_at <= $2::bigint "
    "AND status IN ('pending', 'processing') AND (lease_until IS NULL OR lease_until < $2::bigint) "
    "ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED) AND ($6::text IS NULL OR EXISTS (SELECT 1 "
    "FROM worker_beats WHERE name = $6 AND alive_until >= $2::bigint FOR SHARE)) RETURNING " GENERATION_COLS;

static const char user_claimed_sql[] = "UPDATE users SET last_claim_at = $2::bigint WHERE id = $1";

static enum vg_err next_user(struct pg_store *s, const char *now, const char *local, char user[ID_LEN + 1],
                             struct vg_error *err)
{
    PGresult *r = pg_run(s, claim_user_sql, 2, (const char *const[]){now, local}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = PQntuples(r) == 1 ? VG_OK : VG_ERR_NOT_FOUND;
    if (e == VG_OK)
        pg_text_copy(r, 0, 0, user, ID_LEN + 1);
    PQclear(r);
    return e;
}

static enum vg_err claim_step(struct pg_store *s, const char *owner, const char *worker, int64_t now, int64_t lease_ms,
                              enum job_kind kind, struct generation *out, struct vg_error *err)
{
    char user[ID_LEN + 1], nowb[PG_NUM], leaseb[PG_NUM];
    const char *local = kind == JOBS_LOCAL ? "t" : "f";
    enum vg_err e = next_user(s, pg_i64(nowb, now), local, user, err);
    if (e != VG_OK)
        return e;
    const char *p[] = {owner, nowb, pg_i64(leaseb, lease_ms), local, user, worker};
    PGresult *r = pg_run(s, claim_sql, 6, p, err);
    if (r == NULL)
        return s->failed;
    e = PQntuples(r) == 1 ? VG_OK : VG_ERR_NOT_FOUND;
    if (e == VG_OK)
        pg_read_generation(r, 0, out);
    PQclear(r);
    if (e == VG_OK && (e = pg_exec(s, user_claimed_sql, 2, (const char *const[]){user, nowb}, NULL, err)) != VG_OK)
        generation_free(out);
    return e;
}

enum vg_err pg_job_claim(struct store *base, const char *owner, const char *worker, int64_t lease_ms,
                         enum job_kind kind, struct generation *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    e = claim_step(s, owner, worker, clock_now_ms(), lease_ms, kind, out, err);
    return pg_end_with_generation(s, e, out, err);
}

static const char in_flight_sql[] = "SELECT count(*) FROM generations WHERE provider = $1 "
                                    "AND status = 'processing' AND provider_job_id IS NOT NULL";
static const char queued_sql[] = "SELECT count(*) FROM generations WHERE provider = $1 "
                                 "AND status IN ('pending', 'processing') AND provider_job_id IS NULL";

static enum vg_err count_of(struct pg_store *s, const char *sql, const char *provider, long *n, struct vg_error *err)
{
    *n = 0;
    PGresult *r = pg_run(s, sql, 1, (const char *const[]){provider}, err);
    if (r == NULL)
        return s->failed;
    *n = (long)pg_int(r, 0, 0);
    PQclear(r);
    return VG_OK;
}

enum vg_err pg_provider_in_flight(struct store *base, const char *provider, long *n, struct vg_error *err)
{
    return count_of(pg(base), in_flight_sql, provider, n, err);
}

enum vg_err pg_provider_queued(struct store *base, const char *provider, long *n, struct vg_error *err)
{
    return count_of(pg(base), queued_sql, provider, n, err);
}

static const char health_get_sql[] = "SELECT last_success_at, last_failure_at, coalesce(last_failure, ''), failures, "
                                     "open_until FROM provider_health WHERE provider = $1";
static const char health_put_sql[] =
    "INSERT INTO provider_health (provider, last_success_at, last_failure_at, last_failure, failures, open_until) "
    "VALUES ($1, $2::bigint, $3::bigint, $4, $5::integer, $6::bigint) ON CONFLICT (provider) DO UPDATE "
    "SET last_success_at = $2::bigint, last_failure_at = $3::bigint, last_failure = $4, failures = $5::integer, "
    "open_until = $6::bigint";

enum vg_err pg_provider_health_get(struct store *base, const char *provider, struct provider_health *out,
                                   struct vg_error *err)
{
    struct pg_store *s = pg(base);
    memset(out, 0, sizeof *out);
    PGresult *r = pg_run(s, health_get_sql, 1, (const char *const[]){provider}, err);
    if (r == NULL)
        return s->failed;
    if (PQntuples(r) == 1) {
        out->last_success_at = pg_int(r, 0, 0);
        out->last_failure_at = pg_int(r, 0, 1);
        pg_text_copy(r, 0, 2, out->last_failure, sizeof out->last_failure);
        out->failures = (int)pg_int(r, 0, 3);
        out->open_until = pg_int(r, 0, 4);
    }
    PQclear(r);
    return VG_OK;
}

enum vg_err pg_provider_health_put(struct store *base, const char *provider, const struct provider_health *h,
                                   struct vg_error *err)
{
    char a[PG_NUM], b[PG_NUM], f[PG_NUM], o[PG_NUM];
    const char *p[] = {provider,
                       pg_i64(a, h->last_success_at),
                       pg_i64(b, h->last_failure_at),
                       h->last_failure[0] ? h->last_failure : NULL,
                       pg_i64(f, h->failures),
                       pg_i64(o, h->open_until)};
    return pg_exec(pg(base), health_put_sql, 6, p, NULL, err);
}

/* One probe of generations_due_kind per kind asked for. */
static const char next_due_sql[] = "SELECT next_run_at FROM generations WHERE (provider = 'local') = $1::boolean "
                                   "AND status IN ('pending', 'processing') ORDER BY next_run_at LIMIT 1";

enum vg_err pg_job_next_due(struct store *base, unsigned kinds, int64_t *at_ms, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    *at_ms = 0;
    for (enum job_kind k = JOBS_LOCAL; k <= JOBS_REMOTE; k++) {
        if (!(kinds & JOB_KIND_BIT(k)))
            continue;
        PGresult *r = pg_run(s, next_due_sql, 1, (const char *const[]){k == JOBS_LOCAL ? "t" : "f"}, err);
        if (r == NULL)
            return s->failed;
        int64_t at = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
        PQclear(r);
        if (at > 0 && (*at_ms == 0 || at < *at_ms))
            *at_ms = at;
    }
    return VG_OK;
}

static const char lease_sql[] = "SELECT coalesce(lease_owner, ''), coalesce(lease_until, 0) FROM generations "
                                "WHERE id = $1";

enum vg_err pg_job_lease(struct store *base, const char *id, struct job_lease *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    PGresult *r = pg_run(s, lease_sql, 1, (const char *const[]){id}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) == 1) {
        pg_text_copy(r, 0, 0, out->owner, sizeof out->owner);
        out->until = pg_int(r, 0, 1);
    } else
        e = vg_fail(err, VG_ERR_NOT_FOUND, "", "no generation %s", id);
    PQclear(r);
    return e;
}

/* The statement of each outcome; $1 id, $2 owner, $3 now, then the outcome's own. */
/* A job held under its worker's heartbeat keeps that lease. */
static const char running_sql[] =
    "UPDATE generations SET "
    "lease_until = CASE WHEN lease_worker IS NULL THEN $3::bigint + $4::bigint ELSE lease_until END, "
    "next_run_at = CASE WHEN lease_worker IS NULL THEN $3::bigint + $4::bigint ELSE next_run_at END, "
    "progress = CASE WHEN $5::integer < 0 THEN progress ELSE $5::integer END, phase = coalesce($6, phase), "
    "provider_job_id = coalesce($7, provider_job_id), webhook_hash = coalesce($8, webhook_hash), "
    "updated_at = $3::bigint WHERE id = $1 AND lease_owner = $2 AND status = 'processing' "
    "RETURNING " GENERATION_COLS;
static const char retry_sql[] =
    "UPDATE generations SET lease_owner = NULL, lease_worker = NULL, lease_until = NULL, next_run_at = $4::bigint, "
    "error_message = $5, phase = coalesce($6, phase), attempts = attempts + 1, updated_at = $3::bigint "
    "WHERE id = $1 AND lease_owner = $2 AND status = 'processing' RETURNING " GENERATION_COLS;
/* A callback that came while the job was held makes it due at once (webhook_wake_sql). */
static const char wait_sql[] =
    "UPDATE generations SET lease_owner = NULL, lease_worker = NULL, lease_until = NULL, "
    "next_run_at = CASE WHEN webhook_woken <> 0 THEN least($4::bigint, $3::bigint) ELSE $4::bigint END, "
    "webhook_woken = 0, phase = coalesce($5, phase), "
    "progress = CASE WHEN $6::integer < 0 THEN progress ELSE $6::integer END, "
    "provider_job_id = coalesce($7, provider_job_id), updated_at = $3::bigint WHERE id = $1 AND lease_owner = $2 "
    "AND status = 'processing' RETURNING " GENERATION_COLS;
static const char complete_sql[] =
    "UPDATE generations SET status = 'completed', phase = 'done', progress = 100, output_path = $4, "
    "thumbnail_path = $5, video_width = $6::integer, video_height = $7::integer, "
    "video_seconds = $8::double precision, error_message = NULL, completed_at = $3::bigint, "
    "updated_at = $3::bigint, lease_owner = NULL, lease_worker = NULL, lease_until = NULL WHERE id = $1 AND "
    "lease_owner = $2 "
    "AND status = 'processing' RETURNING " GENERATION_COLS;
static const char end_sql[] =
    "UPDATE generations SET status = $4, phase = 'done', error_message = coalesce($5, error_message), "
    "completed_at = $3::bigint, updated_at = $3::bigint, lease_owner = NULL, lease_worker = NULL, lease_until = NULL "
    "WHERE id = $1 AND lease_owner = $2 AND status = 'processing' RETURNING " GENERATION_COLS;
/* A new provider job, on the next route or the same one again (store.h, JOB_REROUTE):
 * nothing of the last one is kept but its attempt in the history. */
static const char reroute_sql[] =
    "UPDATE generations SET provider = $4, provider_job_id = NULL, webhook_hash = NULL, "
    "webhook_woken = 0, phase = 'queued', progress = 0, error_message = NULL, "
    "attempts = CASE WHEN provider = $4 THEN attempts + 1 ELSE 0 END, "
    "lease_owner = NULL, lease_worker = NULL, lease_until = NULL, next_run_at = $3::bigint, updated_at = $3::bigint "
    "WHERE id = $1 AND lease_owner = $2 AND status = 'processing' RETURNING " GENERATION_COLS;

/* Fills the parameters for `u` (p[0..2] are id, owner, now); returns the statement and, in
 * *n, how many parameters it takes. `nums` holds the numbers' text. */
static const char *params_for(const struct job_update *u, const char **p, char nums[][PG_NUM], int *n)
{
    switch (u->outcome) {
    case JOB_RUNNING:
        p[3] = pg_i64(nums[1], u->lease_ms), p[4] = pg_i64(nums[2], u->progress), p[5] = u->phase;
        p[6] = u->provider_job_id, p[7] = u->webhook_hash, *n = 8;
        return running_sql;
    case JOB_RETRY:
        p[3] = pg_i64(nums[1], u->next_run_at), p[4] = u->message, p[5] = u->phase, *n = 6;
        return retry_sql;
    case JOB_WAIT:
        p[3] = pg_i64(nums[1], u->next_run_at), p[4] = u->phase, p[5] = pg_i64(nums[2], u->progress);
        p[6] = u->provider_job_id, *n = 7;
        return wait_sql;
    case JOB_COMPLETED:
        p[3] = u->output_path, p[4] = u->thumbnail_path, p[5] = pg_i64(nums[1], u->video_width);
        p[6] = pg_i64(nums[2], u->video_height);
        snprintf(nums[3], PG_NUM, "%.17g", u->video_seconds);
        p[7] = nums[3], *n = 8;
        return complete_sql;
    case JOB_FAILED:
    case JOB_CANCELLED:
        p[3] = u->outcome == JOB_FAILED ? "failed" : "cancelled", p[4] = u->message, *n = 5;
        return end_sql;
    case JOB_REROUTE: p[3] = u->provider, *n = 4; return reroute_sql;
    }
    return NULL;
}

/* Failed jobs are always refunded; cancelled ones only when nothing reached a provider (a
 * provider charges us once a job is submitted). A cancel that comes while a submit is under
 * way waits in the worker for the submit's outcome (DESIGN §6), so by the time a job ends
 * as cancelled, a submit that reached the provider has left its job id here. */
static bool refunds(const struct job_update *u, const struct generation *g)
{
    return u->outcome == JOB_FAILED || (u->outcome == JOB_CANCELLED && g->provider_job_id == NULL);
}

/* In the transaction: the change, then its attempt row and its refund. The UPDATE keeps the
 * generation's row locked to the commit, so a cancel or a second worker waits for it and
 * then finds the lease gone. */
static enum vg_err update_in(struct pg_store *s, const char *id, const char *owner, const struct job_update *u,
                             struct generation *out, struct vg_error *err)
{
    const char *p[8] = {id, owner};
    char nums[4][PG_NUM];
    int n = 0;
    int64_t now = clock_now_ms();
    p[2] = pg_i64(nums[0], now);
    const char *sql = params_for(u, p, nums, &n);
    if (sql == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "unknown job outcome %d", (int)u->outcome);
    PGresult *r = pg_run(s, sql, n, p, err);
    if (r == NULL)
        return s->failed;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return vg_fail(err, VG_ERR_CONFLICT, "", "the lease on generation %s is no longer held by %s", id, owner);
    }
    struct generation g;
    pg_read_generation(r, 0, &g);
    PQclear(r);
    enum vg_err e = pg_attempt_record(s, &g, u, now, err);
    if (e == VG_OK && refunds(u, &g))
        e = pg_refund(s, &g, u->outcome == JOB_FAILED ? "generation failed" : "cancelled before submission", err);
    if (e == VG_OK && out)
        *out = g;
    else
        generation_free(&g);
    return e;
}

enum vg_err pg_job_update(struct store *base, const char *id, const char *owner, const struct job_update *u,
                          struct generation *out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    e = update_in(s, id, owner, u, out, err);
    return pg_end_with_generation(s, e, out, err);
}

/* A provider's callback for a job it holds (store.h, store_webhook_wake): a job nobody
 * holds is made due now; one a worker holds (lease not expired) is marked, and the worker's
 * release (wait_sql) makes it due now. Nothing a user sees changes. */
static const char webhook_wake_sql[] =
    "UPDATE generations SET "
    "next_run_at = CASE WHEN lease_until >= $4::bigint THEN next_run_at ELSE least(next_run_at, $4::bigint) END, "
    "webhook_woken = CASE WHEN lease_until >= $4::bigint THEN 1 ELSE webhook_woken END "
    "WHERE webhook_hash = $1 AND provider = $2 AND provider_job_id = $3 "
    "AND status IN ('pending', 'processing') RETURNING id";
static const char webhook_known_sql[] = "SELECT 1 FROM generations WHERE webhook_hash = $1 AND provider = $2 "
                                        "AND status IN ('pending', 'processing')";

enum vg_err pg_webhook_known(struct store *base, const char *provider, const char *token_hash, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    PGresult *r = pg_run(s, webhook_known_sql, 2, (const char *const[]){token_hash, provider}, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = PQntuples(r) > 0 ? VG_OK : VG_ERR_NOT_FOUND;
    PQclear(r);
    return e;
}

enum vg_err pg_webhook_wake(struct store *base, const char *provider, const char *token_hash,
                            const char *provider_job_id, char id[ID_LEN + 1], struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char now[PG_NUM];
    const char *p[] = {token_hash, provider, provider_job_id, pg_i64(now, clock_now_ms())};
    PGresult *r = pg_run(s, webhook_wake_sql, 4, p, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = PQntuples(r) > 0 ? VG_OK : VG_ERR_NOT_FOUND;
    if (e == VG_OK)
        pg_text_copy(r, 0, 0, id, ID_LEN + 1);
    PQclear(r);
    return e;
}
