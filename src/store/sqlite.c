/* SQLite backend: connection, statement cache, transactions and migrations. The queries
 * of each resource live in sqlite_users.c and sqlite_projects.c. */
#include "store/sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/embedded.h"
#include "util/log.h"

#define USER_COLS "id, name, is_admin, balance, created_at"
#define PROJECT_COLS "id, user_id, name, description, created_at, updated_at"
static const char *const sql[SQ_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_USER_INSERT] = "INSERT INTO users (id, name, is_admin, balance, created_at) VALUES (?, ?, ?, 0, ?)",
    [SQ_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?",
    [SQ_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?",
    [SQ_USER_COUNT] = "SELECT count(*) FROM users",
    [SQ_USER_BALANCE_ADD] = "UPDATE users SET balance = balance + ?2 WHERE id = ?1 AND balance + ?2 >= 0 "
                            "RETURNING balance",
    [SQ_LEDGER_INSERT] = "INSERT INTO credit_ledger (user_id, kind, amount, balance_after, generation_id, note, "
                         "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [SQ_LEDGER_SUM] = "SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE user_id = ?",
    [SQ_TOKEN_INSERT] = "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at) VALUES (?, ?, ?, ?, ?)",
    [SQ_TOKEN_USER] = "SELECT u.id, u.name, u.is_admin, u.balance, u.created_at FROM api_tokens t "
                      "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL "
                      "AND u.disabled_at IS NULL",
    [SQ_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = ?2 WHERE (id = ?1 OR token_hash = ?1) "
                        "AND revoked_at IS NULL",
    /* ?1 is a JSON array of hashes; each row is the index of a live one */
    [SQ_TOKENS_LIVE] = "SELECT j.key FROM json_each(?1) j JOIN api_tokens t ON t.token_hash = j.value "
                       "JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NULL "
                       "UNION SELECT j.key FROM json_each(?1) j JOIN sessions s ON s.token_hash = j.value "
                       "WHERE s.revoked_at IS NULL AND s.expires_at > ?2",
    [SQ_PROJECT_INSERT] = "INSERT INTO projects (" PROJECT_COLS ") VALUES (?, ?, ?, ?, ?, ?)",
    [SQ_PROJECT_GET] = "SELECT " PROJECT_COLS " FROM projects WHERE user_id = ? AND id = ?",
    [SQ_PROJECT_UPDATE] = "UPDATE projects SET name = coalesce(?3, name), "
                          "description = CASE WHEN ?4 THEN ?5 ELSE description END, updated_at = ?6 "
                          "WHERE user_id = ?1 AND id = ?2 RETURNING " PROJECT_COLS,
    [SQ_PROJECT_DELETE] = "DELETE FROM projects WHERE user_id = ?1 AND id = ?2 AND NOT EXISTS (SELECT 1 FROM "
                          "generations WHERE project_id = ?2 AND status IN ('pending', 'processing'))",
    /* "+user_id": the user test is checked on each row but never chooses the index, so the
     * plan stays generations_project whatever the planner's statistics (no tie to break
     * with generations_user, whose range holds all of the user's projects). */
    [SQ_GENERATION_LIST_PROJECT] = "SELECT " GENERATION_COLS " FROM generations WHERE project_id = ?2 "
                                   "AND +user_id = ?1 ORDER BY id DESC",
    [SQ_GENERATION_INSERT] = "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, "
                             "prompt, negative_prompt, start_image_path, end_image_path, resolution, duration, "
                             "aspect_ratio, generate_audio, enhance_prompt, credit_used, next_run_at, created_at, "
                             "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                             "?16, ?17, ?17, ?17) RETURNING " GENERATION_COLS,
    [SQ_GENERATION_GET] = "SELECT " GENERATION_COLS " FROM generations WHERE user_id = ? AND id = ?",
    /* A page of GET /generations, newest first (?1 user, ?2 project, ?3 status or NULL,
     * ?4 cursor or NULL, ?5 limit), one statement per index, each a plain range of it from
     * the cursor: "SEARCH generations USING INDEX generations_user (user_id=? AND id<?)" and
     * "... generations_project (project_id=? AND id<?)", read until ?5 rows pass. Ids are
     * Crockford base32 (digits and capitals), so '~' sorts after every one and "from the
     * newest" is the same range as a page after a cursor. No index holds status: it is
     * tested on each row of the range either way. (One statement for both, with
     * "?2 IS NULL OR project_id = ?2" and "?4 IS NULL OR id < ?4", had neither range: each
     * page walked the user's generations from the newest.) */
    [SQ_GENERATION_PAGE_USER] = "SELECT " GENERATION_COLS " FROM generations WHERE user_id = ?1 "
                                "AND id < coalesce(?4, '~') AND (?3 IS NULL OR status = ?3) "
                                "ORDER BY id DESC LIMIT ?5",
    /* "+user_id": as in SQ_GENERATION_LIST_PROJECT. */
    [SQ_GENERATION_PAGE_PROJECT] = "SELECT " GENERATION_COLS " FROM generations WHERE project_id = ?2 "
                                   "AND +user_id = ?1 AND id < coalesce(?4, '~') "
                                   "AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?5",
    [SQ_GENERATION_CANCEL_PENDING] =
        "UPDATE generations SET status = 'cancelled', phase = 'done', "
        "completed_at = ?3, updated_at = ?3, lease_owner = NULL, lease_worker = NULL, lease_until = NULL "
        "WHERE user_id = ?1 AND id = ?2 AND status = 'pending' "
        "AND (lease_until IS NULL OR lease_until < ?3) RETURNING " GENERATION_COLS,
    /* A job waiting between polls is made due at once: its next claim ends it. */
    [SQ_GENERATION_CANCEL_FLAG] = "UPDATE generations SET cancel_requested = 1, updated_at = ?3, "
                                  "next_run_at = CASE WHEN lease_until >= ?3 THEN next_run_at "
                                  "ELSE min(next_run_at, ?3) END "
                                  "WHERE user_id = ?1 AND id = ?2 AND status IN ('pending', 'processing') "
                                  "RETURNING " GENERATION_COLS,
    [SQ_GENERATION_DELETE] = "DELETE FROM generations WHERE user_id = ? AND id = ? "
                             "AND status IN ('completed', 'failed', 'cancelled') RETURNING " GENERATION_COLS,
    [SQ_IDEMPOTENCY_GET] = "SELECT request_hash, generation_id FROM idempotency_keys WHERE user_id = ? AND key = ?",
    [SQ_IDEMPOTENCY_INSERT] = "INSERT INTO idempotency_keys (user_id, key, request_hash, generation_id, created_at) "
                              "VALUES (?, ?, ?, ?, ?)",
    [SQ_PROJECT_OWNED] = "SELECT 1 FROM projects WHERE user_id = ? AND id = ?",
    [SQ_PROJECT_BUSY] =
        "SELECT 1 FROM generations WHERE project_id = ? AND status IN ('pending', 'processing') LIMIT 1",
    [SQ_LEDGER_PAGE] = "SELECT id, kind, amount, balance_after, generation_id, note, created_at FROM credit_ledger "
                       "WHERE user_id = ?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3",
    [SQ_REFUND_EXISTS] = "SELECT 1 FROM credit_ledger WHERE generation_id = ? AND kind = 'refund'",
    /* An attempt is counted when an expired lease is taken over (its holder died or hung),
     * not when a released job is claimed again. */
    /* Both by index (migration 006): the user served least recently who has a due job of the
     * kind, then that user's oldest one. A held job is not due: its next_run_at is its lease's
     * expiry. */
    [SQ_CLAIM_USER] = "SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM generations g "
                      "WHERE g.user_id = u.id AND (g.provider = 'local') = ?2 AND g.next_run_at <= ?1 "
                      "AND g.status IN ('pending', 'processing')) ORDER BY u.last_claim_at LIMIT 1",
    /* ?6: the worker whose heartbeat holds a remote job (store.h, job_claim), or NULL. Under a
     * beat that lapsed nothing is claimed: a reap may already have passed its jobs over. */
    [SQ_JOB_CLAIM] = "UPDATE generations SET lease_owner = ?1, lease_worker = ?6, "
                     "lease_until = CASE WHEN ?6 IS NULL THEN ?2 + ?3 ELSE " STORE_HELD_UNTIL_SQL " END, "
                     "next_run_at = CASE WHEN ?6 IS NULL THEN ?2 + ?3 ELSE " STORE_HELD_UNTIL_SQL " END, "
                     "attempts = attempts + (lease_owner IS NOT NULL), "
                     "status = 'processing', updated_at = ?2 WHERE id = (SELECT id FROM generations "
                     "WHERE user_id = ?5 AND (provider = 'local') = ?4 AND next_run_at <= ?2 "
                     "AND status IN ('pending', 'processing') AND (lease_until IS NULL OR lease_until < ?2) "
                     "ORDER BY next_run_at LIMIT 1) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM worker_beats "
                     "WHERE name = ?6 AND alive_until >= ?2)) RETURNING " GENERATION_COLS,
    [SQ_USER_CLAIMED] = "UPDATE users SET last_claim_at = ?2 WHERE id = ?1",
    [SQ_PROVIDER_QUEUED] = "SELECT count(*) FROM generations WHERE provider = ? "
                           "AND status IN ('pending', 'processing') AND provider_job_id IS NULL",
    [SQ_HEALTH_GET] = "SELECT last_success_at, last_failure_at, coalesce(last_failure, ''), failures, open_until "
                      "FROM provider_health WHERE provider = ?",
    [SQ_HEALTH_PUT] = "INSERT INTO provider_health (provider, last_success_at, last_failure_at, last_failure, "
                      "failures, open_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (provider) DO UPDATE "
                      "SET last_success_at = ?2, last_failure_at = ?3, last_failure = ?4, failures = ?5, "
                      "open_until = ?6",
    [SQ_PROVIDER_IN_FLIGHT] = "SELECT count(*) FROM generations WHERE provider = ? AND status = 'processing' "
                              "AND provider_job_id IS NOT NULL",
    [SQ_JOB_NEXT_DUE] = "SELECT next_run_at FROM generations WHERE (provider = 'local') = ?1 "
                        "AND status IN ('pending', 'processing') ORDER BY next_run_at LIMIT 1",
    /* Heartbeats (store.h, worker_join): one row per worker, whatever it holds. */
    [SQ_WORKER_JOIN] = "INSERT INTO worker_beats (name, alive_until) VALUES (?1, ?2 + ?3)",
    [SQ_WORKER_BEAT] = "UPDATE worker_beats SET alive_until = ?2 + ?3 WHERE name = ?1 AND alive_until >= ?2",
    /* By generations_news: the rows with news only. */
    [SQ_WORKER_NEWS] = "SELECT id, cancel_requested, webhook_woken FROM generations WHERE lease_worker = ?1 "
                       "AND (cancel_requested <> 0 OR webhook_woken <> 0)",
    [SQ_WORKERS_LAPSED] = "DELETE FROM worker_beats WHERE alive_until < ?1",
    /* Every held job whose worker no longer beats (generations_lease_worker): an expired
     * lease, due now, still its last owner's until a claim takes it over. */
    [SQ_WORKERS_REAP] = "UPDATE generations SET lease_worker = NULL, lease_until = ?1 - 1, next_run_at = ?1 - 1 "
                        "WHERE lease_worker IS NOT NULL AND NOT EXISTS (SELECT 1 FROM worker_beats b "
                        "WHERE b.name = generations.lease_worker)",
    /* A job held under its worker's heartbeat keeps that lease. */
    [SQ_JOB_RUNNING] = "UPDATE generations SET lease_until = CASE WHEN lease_worker IS NULL THEN ?3 + ?4 "
                       "ELSE lease_until END, next_run_at = CASE WHEN lease_worker IS NULL THEN ?3 + ?4 "
                       "ELSE next_run_at END, progress = CASE WHEN ?5 < 0 THEN progress ELSE ?5 END, phase = "
                       "coalesce(?6, phase), provider_job_id = coalesce(?7, provider_job_id), "
                       "webhook_hash = coalesce(?8, webhook_hash), "
                       "updated_at = ?3 WHERE id = ?1 AND lease_owner = ?2 AND status = 'processing' "
                       "RETURNING " GENERATION_COLS,
    [SQ_JOB_RETRY] =
        "UPDATE generations SET lease_owner = NULL, lease_worker = NULL, lease_until = NULL, next_run_at = ?4, "
        "error_message = ?5, phase = coalesce(?6, phase), attempts = attempts + 1, "
        "updated_at = ?3 WHERE id = ?1 "
        "AND lease_owner = ?2 AND status = 'processing' RETURNING " GENERATION_COLS,
    /* A callback that came while the job was held makes it due at once (SQ_WEBHOOK_WAKE). */
    [SQ_JOB_WAIT] =
        "UPDATE generations SET lease_owner = NULL, lease_worker = NULL, lease_until = NULL, "
        "next_run_at = CASE WHEN webhook_woken THEN min(?4, ?3) ELSE ?4 END, webhook_woken = 0, "
        "phase = coalesce(?5, phase), progress = CASE WHEN ?6 < 0 THEN progress ELSE ?6 END, "
        "provider_job_id = coalesce(?7, provider_job_id), updated_at = ?3 WHERE id = ?1 AND lease_owner = ?2 "
        "AND status = 'processing' RETURNING " GENERATION_COLS,
    [SQ_JOB_COMPLETE] =
        "UPDATE generations SET status = 'completed', phase = 'done', progress = 100, "
        "output_path = ?4, thumbnail_path = ?5, video_width = ?6, video_height = ?7, "
        "video_seconds = ?8, error_message = NULL, completed_at = ?3, updated_at = ?3, "
        "lease_owner = NULL, lease_worker = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2 "
        "AND status = 'processing' RETURNING " GENERATION_COLS,
    [SQ_JOB_END] = "UPDATE generations SET status = ?4, phase = 'done', error_message = coalesce(?5, error_message), "
                   "completed_at = ?3, updated_at = ?3, lease_owner = NULL, lease_worker = NULL, lease_until = NULL "
                   "WHERE id = ?1 AND lease_owner = ?2 AND status = 'processing' RETURNING " GENERATION_COLS,
    [SQ_JOB_LEASE] = "SELECT coalesce(lease_owner, ''), coalesce(lease_until, 0) FROM generations WHERE id = ?",
    /* A provider's callback for a job it holds (store.h, store_webhook_wake): a job nobody
     * holds is made due now; one a worker holds (lease not expired) is marked, and the
     * worker's release (SQ_JOB_WAIT) makes it due now. Nothing a user sees changes. */
    [SQ_WEBHOOK_WAKE] = "UPDATE generations SET "
                        "next_run_at = CASE WHEN lease_until >= ?4 THEN next_run_at ELSE min(next_run_at, ?4) END, "
                        "webhook_woken = CASE WHEN lease_until >= ?4 THEN 1 ELSE webhook_woken END "
                        "WHERE webhook_hash = ?1 AND provider = ?2 AND provider_job_id = ?3 "
                        "AND status IN ('pending', 'processing') RETURNING id",
    [SQ_WEBHOOK_KNOWN] = "SELECT 1 FROM generations WHERE webhook_hash = ?1 AND provider = ?2 "
                         "AND status IN ('pending', 'processing')",
    [SQ_UPLOAD_BY_SHA] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = ?1 AND sha256 = ?2",
    [SQ_UPLOAD_USAGE] = "SELECT coalesce(sum(size_bytes), 0) FROM uploads WHERE user_id = ?1",
    [SQ_UPLOAD_INSERT] = "INSERT INTO uploads (" UPLOAD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_UPLOAD_GET] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = ?1 AND id = ?2",
    [SQ_UPLOAD_BY_PATH] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = ?1 AND file_path = ?2",
    [SQ_UPLOAD_PAGE] = "SELECT " UPLOAD_COLS " FROM uploads WHERE user_id = ?1 AND id < coalesce(?2, '~') "
                       "ORDER BY id DESC LIMIT ?3",
    [SQ_UPLOAD_DELETE] = "DELETE FROM uploads WHERE user_id = ?1 AND id = ?2 RETURNING " UPLOAD_COLS,
    /* A generation that has not ended and uses the image: its upload may not go. */
    [SQ_IMAGE_BUSY] = "SELECT 1 FROM generations WHERE status IN ('pending', 'processing') "
                      "AND (start_image_path = ?1 OR end_image_path = ?1) LIMIT 1",
    [SQ_IMAGE_IN_USE] = "SELECT EXISTS (SELECT 1 FROM generations WHERE start_image_path = ?1) "
                        "OR EXISTS (SELECT 1 FROM generations WHERE end_image_path = ?1) "
                        "OR EXISTS (SELECT 1 FROM uploads WHERE file_path = ?1)",
    /* A new provider job, on the next route or the same one again (store.h, JOB_REROUTE):
     * nothing of the last one is kept but its attempt in the history. */
    [SQ_JOB_REROUTE] = "UPDATE generations SET provider = ?4, provider_job_id = NULL, webhook_hash = NULL, "
                       "webhook_woken = 0, phase = 'queued', progress = 0, error_message = NULL, "
                       "attempts = CASE WHEN provider = ?4 THEN attempts + 1 ELSE 0 END, "
                       "lease_owner = NULL, lease_worker = NULL, lease_until = NULL, next_run_at = ?3, updated_at = ?3 "
                       "WHERE id = ?1 AND lease_owner = ?2 AND status = 'processing' RETURNING " GENERATION_COLS,
    /* ?1 generation, ?2 provider, ?3 model, ?4 now. */
    [SQ_ATTEMPT_BEGIN] = "INSERT INTO generation_attempts (generation_id, n, provider, model, started_at) "
                         "SELECT ?1, coalesce(max(n), 0) + 1, ?2, ?3, ?4 FROM generation_attempts "
                         "WHERE generation_id = ?1",
    [SQ_ATTEMPT_JOB_ID] = "UPDATE generation_attempts SET provider_job_id = ?2 "
                          "WHERE generation_id = ?1 AND ended_at IS NULL",
    /* ?1 generation, ?2 now, ?3 outcome, ?4 error, ?5 HTTP status (0 none). */
    [SQ_ATTEMPT_END] = "UPDATE generation_attempts SET ended_at = ?2, outcome = ?3, error = ?4, "
                       "http_status = nullif(?5, 0) WHERE generation_id = ?1 AND ended_at IS NULL",
    [SQ_ATTEMPT_LIST] = "SELECT a.n, a.provider, a.model, a.provider_job_id, a.started_at, coalesce(a.ended_at, 0), "
                        "coalesce(a.outcome, ''), a.error, coalesce(a.http_status, 0), coalesce(a.cost_micros, -1), "
                        "coalesce(a.cost_unit, '') FROM generation_attempts a "
                        "JOIN generations g ON g.id = a.generation_id WHERE a.generation_id = ?1 "
                        "AND (?2 IS NULL OR g.user_id = ?2) ORDER BY a.n",
    [SQ_ATTEMPT_COST_GET] = "SELECT coalesce(cost_micros, -1), coalesce(cost_unit, '') FROM generation_attempts "
                            "WHERE generation_id = ?1 AND ended_at IS NULL",
    [SQ_ATTEMPT_COST_SET] = "UPDATE generation_attempts SET cost_micros = ?2, cost_unit = ?3 "
                            "WHERE generation_id = ?1 AND ended_at IS NULL",
    [SQ_PASSWORD_SET] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",
    [SQ_PASSWORD_GET] = "SELECT " USER_COLS ", coalesce(password_hash, '') FROM users WHERE name = ? "
                        "AND disabled_at IS NULL",
    [SQ_SESSION_INSERT] =
        "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    [SQ_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
    [SQ_SESSION_USER] = "SELECT u.id, u.name, u.is_admin, u.balance, u.created_at, s.expires_at FROM sessions s "
                        "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.revoked_at IS NULL "
                        "AND s.expires_at > ?2 AND u.disabled_at IS NULL",
    [SQ_SESSION_REVOKE] = "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL "
                          "AND expires_at > ?2",
    [SQ_SESSIONS_REVOKE_USER] = "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL "
                                "AND expires_at > ?2",
};

enum vg_err sq_fail(struct sqlite_store *s, int rc, struct vg_error *err)
{
    const char *msg = sqlite3_errmsg(s->db);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return vg_fail(err, VG_ERR_CONFLICT, "", "conflicts with existing data (%s)", msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return vg_fail(err, VG_ERR_UNAVAILABLE, "", "the database is busy; try again");
    default: log_error("sqlite: %s (code %d)", msg, rc); return vg_fail(err, VG_ERR_INTERNAL, "", "database error");
    }
}

sqlite3_stmt *sq_stmt(struct sqlite_store *s, enum sq_stmt which, struct vg_error *err)
{
    sqlite3_stmt *st = s->stmts[which];
    if (st == NULL) {
        int rc = sqlite3_prepare_v3(s->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            sq_fail(s, rc, err);
            return NULL;
        }
        s->stmts[which] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

enum vg_err sq_exec(struct sqlite_store *s, sqlite3_stmt *st, struct vg_error *err)
{
    int rc = sqlite3_step(st);
    enum vg_err e = rc == SQLITE_DONE ? VG_OK : sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

static enum vg_err run(struct sqlite_store *s, enum sq_stmt which, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    return st ? sq_exec(s, st, err) : err ? err->code : VG_ERR_INTERNAL;
}

enum vg_err sq_begin(struct sqlite_store *s, struct vg_error *err)
{
    return run(s, SQ_BEGIN, err);
}

enum vg_err sq_commit(struct sqlite_store *s, struct vg_error *err)
{
    enum vg_err e = run(s, SQ_COMMIT, err);
    if (e)
        sq_rollback(s);
    return e;
}

enum vg_err sq_end_with_generation(struct sqlite_store *s, enum vg_err e, struct generation *out, struct vg_error *err)
{
    if (e != VG_OK) {
        sq_rollback(s);
        return e;
    }
    if ((e = sq_commit(s, err)) != VG_OK && out)
        generation_free(out);
    return e;
}

void sq_rollback(struct sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        run(s, SQ_ROLLBACK, NULL);
}

char *sq_text_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

void sq_text_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

void sq_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

void *sq_grow(void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*items, ncap * size);
        if (p == NULL)
            return NULL;
        *items = p, *cap = ncap;
    }
    void *slot = (char *)*items + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

enum vg_err sq_read_all(struct sqlite_store *s, sqlite3_stmt *st, void **items, size_t *n, size_t size,
                        void (*read)(sqlite3_stmt *st, void *item), void (*free_item)(void *item), struct vg_error *err)
{
    size_t cap = 0;
    int rc;
    *items = NULL, *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *slot = sq_grow(items, n, &cap, size);
        if (slot == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        read(st, slot);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return VG_OK;
    for (size_t i = 0; free_item && i < *n; i++)
        free_item((char *)*items + i * size);
    free(*items);
    *items = NULL, *n = 0;
    return sq_fail(s, rc, err);
}

#define MIGRATION_PREFIX "src/store/migrations/sqlite/"

/* Applies one migration unless another process already has: the check and the apply share
 * one write transaction, so concurrent starts apply each migration exactly once. */
static enum vg_err apply_migration(struct sqlite_store *s, int version, const struct embedded_file *f, int *applied,
                                   struct vg_error *err)
{
    sqlite3_stmt *st = NULL;
    char *msg = NULL;
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    int rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_bind_int(st, 1, version);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return sq_commit(s, err);
    if ((rc = sqlite3_exec(s->db, f->data, NULL, NULL, &msg)) != SQLITE_OK)
        goto fail;
    if ((rc = sqlite3_prepare_v2(s->db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                 -1, &st, NULL)) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int(st, 1, version);
    sqlite3_bind_text(st, 2, f->path + strlen(MIGRATION_PREFIX), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, clock_now_ms());
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto fail;
    (*applied)++;
    log_info("store: applied migration %s", f->path + strlen(MIGRATION_PREFIX));
    return sq_commit(s, err);
fail:
    vg_fail(err, VG_ERR_INTERNAL, "", "migration %s failed: %s", f->path, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    sq_rollback(s);
    return VG_ERR_INTERNAL;
}

static enum vg_err sq_migrate(struct store *base, int *applied_out, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int applied = 0;
    if (sqlite3_exec(s->db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(s, sqlite3_errcode(s->db), err);
    /* Embedded in name order (tools/embed.sh is given a sorted list), so NNN_ order. Two
     * files with one number would apply only the first: a build error, refused here. */
    int last = 0;
    for (const struct embedded_file *f = embedded_files; f->path; f++) {
        if (strncmp(f->path, MIGRATION_PREFIX, strlen(MIGRATION_PREFIX)) != 0)
            continue;
        int version = 0;
        const char *name = f->path + strlen(MIGRATION_PREFIX);
        if (sscanf(name, "%d_", &version) != 1 || version <= last)
            return vg_fail(err, VG_ERR_INTERNAL, "", "migration %s does not follow number %d", name, last);
        last = version;
        enum vg_err e = apply_migration(s, version, f, &applied, err);
        if (e)
            return e;
    }
    if (applied_out)
        *applied_out = applied;
    return VG_OK;
}

static void sq_close(struct store *base)
{
    struct sqlite_store *s = sq(base);
    for (int i = 0; i < SQ_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s);
}

static const struct store_ops ops = {
    .close = sq_close,
    .migrate = sq_migrate,
    .user_create = sq_user_create,
    .user_by_name = sq_user_by_name,
    .user_by_id = sq_user_by_id,
    .user_count = sq_user_count,
    .credits_add = sq_credits_add,
    .ledger_sum = sq_ledger_sum,
    .token_create = sq_token_create,
    .token_user = sq_token_user,
    .token_revoke = sq_token_revoke,
    .tokens_live = sq_tokens_live,
    .password_set = sq_password_set,
    .password_get = sq_password_get,
    .session_create = sq_session_create,
    .session_user = sq_session_user,
    .session_revoke = sq_session_revoke,
    .sessions_revoke_user = sq_sessions_revoke_user,
    .project_create = sq_project_create,
    .project_get = sq_project_get,
    .project_list = sq_project_list,
    .project_update = sq_project_update,
    .project_delete = sq_project_delete,
    .generation_list = sq_generation_list,
    .generation_create = sq_generation_create,
    .generation_get = sq_generation_get,
    .generation_page = sq_generation_page,
    .generation_cancel = sq_generation_cancel,
    .generation_delete = sq_generation_delete,
    .generation_attempts = sq_generation_attempts,
    .attempt_cost = sq_attempt_cost,
    .ledger_page = sq_ledger_page,
    .job_claim = sq_job_claim,
    .provider_in_flight = sq_provider_in_flight,
    .provider_queued = sq_provider_queued,
    .summary = sq_summary,
    .admin = &sq_admin_ops,
    .provider_health_get = sq_provider_health_get,
    .provider_health_put = sq_provider_health_put,
    .job_next_due = sq_job_next_due,
    .worker_join = sq_worker_join,
    .worker_beat = sq_worker_beat,
    .workers_reap = sq_workers_reap,
    .job_lease = sq_job_lease,
    .job_update = sq_job_update,
    .webhook_wake = sq_webhook_wake,
    .webhook_known = sq_webhook_known,
    .upload_create = sq_upload_create,
    .upload_get = sq_upload_get,
    .upload_list = sq_upload_list,
    .upload_delete = sq_upload_delete,
    .upload_usage = sq_upload_usage,
    .image_in_use = sq_image_in_use,
};

struct store *sqlite_store_open(const char *path, char *err, size_t errlen)
{
    struct sqlite_store *s = calloc(1, sizeof *s);
    char *msg = NULL;
    if (s == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    s->base.ops = &ops;
    /* NOMUTEX: a connection belongs to one thread (store.h). */
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL lets readers run beside the one writer; synchronous=NORMAL in WAL mode survives a
     * process crash (kill -9) with every committed transaction intact. */
    rc = sqlite3_exec(s->db,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
                      "PRAGMA temp_store = MEMORY;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up database %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        goto fail;
    }
    return &s->base;
fail:
    sqlite3_close(s->db);
    free(s);
    return NULL;
}
