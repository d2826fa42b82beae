/* Shared by the files of the PostgreSQL backend only.
 *
 * Statements: each file keeps its own SQL as static strings next to the code that runs
 * them (no shared enum, so files never conflict over one table). pg_run() prepares a text
 * on a connection the first time it sees that string's ADDRESS there (as "s<n>", in the
 * order of first use) and runs the prepared statement from then on: pass the same static
 * array every time, never a string built at run time (that would prepare a new statement
 * per call and soon exhaust PG_STMT_MAX).
 *
 * Parameters are text (NULL = SQL NULL; pg_i64() formats numbers), results are text; the
 * small readers below parse them. Booleans in the schema are integer 0/1, as in SQLite, so
 * `col = 1` and `col <> 0` read the same in both backends.
 *
 * Concurrency: SQLite's BEGIN IMMEDIATE serialises every writer; here transactions run at
 * READ COMMITTED, and each one that reads before it writes first locks the row it depends
 * on (SELECT … FOR UPDATE / FOR SHARE), or writes with a conditional UPDATE whose WHERE
 * PostgreSQL re-checks against the newest row version. Each file's comments say which. */
#ifndef VIDGEN_STORE_POSTGRES_INTERNAL_H
#define VIDGEN_STORE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_admin.h"

/* The columns pg_read_generation() reads, in order (the same as the SQLite backend's). */
#define GENERATION_COLS                                                                                                \
    "id, project_id, user_id, provider, model_id, model_name, prompt, negative_prompt, start_image_path, "             \
    "end_image_path, resolution, duration, aspect_ratio, generate_audio, enhance_prompt, credit_used, "                \
    "status, progress, error_message, output_path, thumbnail_path, created_at, updated_at, completed_at, "             \
    "phase, provider_job_id, video_width, video_height, video_seconds, attempts, cancel_requested"

/* The columns of an upload row, in order (the same as the SQLite backend's). */
#define UPLOAD_COLS "id, user_id, sha256, file_path, file_name, mime_type, width, height, size_bytes, created_at"

/* The columns pg_read_user() reads first, in order. */
#define USER_COLS "id, name, is_admin, balance, created_at"

#define PG_STMT_MAX 192 /* distinct statements one connection prepares, both halves together */
#define PG_NUM 24       /* bytes of a buffer for pg_i64() */

struct pg_store {
    struct store base;
    PGconn *conn;
    char *url;                         /* as given to postgres_store_open (malloc'd), for reconnects */
    const char *prepared[PG_STMT_MAX]; /* statement "s<i>" on this connection is prepared[i]'s text */
    int nprepared;
    bool in_tx;         /* between pg_begin and pg_commit/pg_rollback */
    enum vg_err failed; /* the code of the last failure pg_run reported (err may be NULL) */
    int64_t retry_at;   /* connection lost: no reconnect attempt before then (ms) */
    int64_t retry_ms;   /* the wait after the next failed attempt (doubling, capped) */
};

static inline struct pg_store *pg(struct store *s)
{
    return (struct pg_store *)s;
}

/* Runs the static statement `sql` with `nparams` text parameters (NULL = SQL NULL),
 * preparing it on this connection on first use. Returns the result (the caller's:
 * PQclear) when it succeeded, with rows or not; else NULL with err filled and the code
 * in s->failed (pg_fail). A
 * connection found lost is reset here before the statement, outside a transaction (the
 * statements already prepared on it are prepared again as they are used). */
PGresult *pg_run(struct pg_store *s, const char *sql, int nparams, const char *const *params, struct vg_error *err);

/* pg_run for a statement whose rows are not read; *changed (may be NULL) receives how
 * many rows it changed (PQcmdTuples). */
enum vg_err pg_exec(struct pg_store *s, const char *sql, int nparams, const char *const *params, long *changed,
                    struct vg_error *err);

/* Maps a failed result (NULL: none came back) to an error: a constraint (SQLSTATE 23…) is
 * VG_ERR_CONFLICT; a serialization failure, deadlock or lock timeout is VG_ERR_UNAVAILABLE
 * "busy; try again"; a lost connection is VG_ERR_UNAVAILABLE "unreachable"; anything else
 * is logged and VG_ERR_INTERNAL. Does not clear `r`. */
enum vg_err pg_fail(struct pg_store *s, const PGresult *r, struct vg_error *err);

/* Transactions (READ COMMITTED; see the top of this file for how writers are ordered).
 * pg_commit rolls back when the commit fails; pg_rollback is a no-op outside one. */
enum vg_err pg_begin(struct pg_store *s, struct vg_error *err);
enum vg_err pg_commit(struct pg_store *s, struct vg_error *err);
void pg_rollback(struct pg_store *s);
/* Ends a transaction that hands a generation back: commits when `e` is VG_OK, else rolls
 * back; when the commit fails, frees *out (may be NULL). Returns the final verdict. */
enum vg_err pg_end_with_generation(struct pg_store *s, enum vg_err e, struct generation *out, struct vg_error *err);

/* `v` as decimal text in `buf` (PG_NUM bytes); returns buf, for a parameter list. */
const char *pg_i64(char buf[PG_NUM], int64_t v);

/* Readers of one cell of `r`. */
char *pg_text_dup(const PGresult *r, int row, int col);                        /* heap copy; NULL for NULL */
void pg_text_copy(const PGresult *r, int row, int col, char *dst, size_t cap); /* "" for NULL, truncating */
int64_t pg_int(const PGresult *r, int row, int col);                           /* 0 for NULL */
double pg_double(const PGresult *r, int row, int col);                         /* 0 for NULL */
bool pg_bool(const PGresult *r, int row, int col); /* "t", or a nonzero integer; false for NULL */

/* Appends a zeroed slot to a growing array of `size`-byte items (*items realloc'd, *n
 * and *cap updated); NULL when out of memory. */
void *pg_grow(void **items, size_t *n, size_t *cap, size_t size);

/* Reads every row of `r` (borrowed) with read(r, row, item) into a new array of
 * `size`-byte items (*items, *n: the caller's, free(); NULL and 0 when no rows).
 * VG_ERR_INTERNAL when out of memory, with nothing allocated. */
enum vg_err pg_read_all(const PGresult *r, void **items, size_t *n, size_t size,
                        void (*read)(const PGresult *r, int row, void *item), struct vg_error *err);

/* Fills `u` from row `row` whose first columns are USER_COLS. */
void pg_read_user(const PGresult *r, int row, struct user *u);

/* Fills `g` from row `row` of GENERATION_COLS (heap strings: generation_free). */
void pg_read_generation(const PGresult *r, int row, struct generation *g);

/* Runs `sql` (GENERATION_COLS rows) into a list (VG_OK also when empty; out->items NULL
 * then). */
enum vg_err pg_read_generations(struct pg_store *s, const char *sql, int nparams, const char *const *params,
                                struct generation_list *out, struct vg_error *err);

/* Runs `sql`, expected to return at most one GENERATION_COLS row, into *out. No row:
 * `missing` (VG_ERR_NOT_FOUND is filled in as "no such generation"; another code is
 * returned without touching err). */
enum vg_err pg_one_generation(struct pg_store *s, const char *sql, int nparams, const char *const *params,
                              struct generation *out, enum vg_err missing, struct vg_error *err);

/* Moves a user's balance by `amount` and appends the ledger row (generation_id may be NULL);
 * the caller holds the transaction. The balance UPDATE locks the user's row until the
 * transaction ends, so a user's ledger rows are written one transaction at a time.
 * VG_ERR_NO_CREDITS when the balance would go negative. */
enum vg_err pg_ledger_append(struct pg_store *s, const char *user_id, enum ledger_kind kind, long amount,
                             const char *generation_id, const char *note, long *balance_after, struct vg_error *err);

/* Refunds a generation's credits unless it was refunded already; in the caller's
 * transaction, which holds the generation's row locked (it changed it). */
enum vg_err pg_refund(struct pg_store *s, const struct generation *g, const char *note, struct vg_error *err);

/* ---- The ops, gathered by postgres.c into one table. ----
 * Part 1 (postgres_users.c, postgres_sessions.c, postgres_projects.c,
 * postgres_generations.c): */
enum vg_err pg_user_create(struct store *s, const char *name, bool is_admin, long credits, struct user *out,
                           struct vg_error *err);
enum vg_err pg_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err);
enum vg_err pg_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err);
enum vg_err pg_user_count(struct store *s, long *out, struct vg_error *err);
enum vg_err pg_credits_add(struct store *s, const char *user_id, enum ledger_kind kind, long amount, const char *note,
                           long *balance_after, struct vg_error *err);
enum vg_err pg_ledger_sum(struct store *s, const char *user_id, long *sum, struct vg_error *err);
enum vg_err pg_ledger_page(struct store *s, const char *user_id, long before_id, int limit, struct ledger_list *out,
                           struct vg_error *err);
enum vg_err pg_token_create(struct store *s, const char *user_id, const char *token_hash, const char *label,
                            struct api_token *out, struct vg_error *err);
enum vg_err pg_token_user(struct store *s, const char *token_hash, struct user *out, struct vg_error *err);
enum vg_err pg_token_revoke(struct store *s, const char *id_or_hash, struct vg_error *err);
enum vg_err pg_tokens_live(struct store *s, const char *const *hashes, size_t n, bool *live, struct vg_error *err);
enum vg_err pg_password_set(struct store *s, const char *user_id, const char *hash, struct vg_error *err);
enum vg_err pg_password_get(struct store *s, const char *name, struct user *out, char hash[STORE_PASSWORD_MAX + 1],
                            struct vg_error *err);
enum vg_err pg_session_create(struct store *s, const char *user_id, const char *token_hash, int64_t expires_at,
                              struct vg_error *err);
enum vg_err pg_session_user(struct store *s, const char *token_hash, struct user *out, int64_t *expires_at,
                            struct vg_error *err);
enum vg_err pg_session_revoke(struct store *s, const char *token_hash, struct vg_error *err);
enum vg_err pg_sessions_revoke_user(struct store *s, const char *user_id, long *ended, struct vg_error *err);
enum vg_err pg_project_create(struct store *s, const char *user_id, const char *name, const char *description,
                              struct project *out, struct vg_error *err);
enum vg_err pg_project_get(struct store *s, const char *user_id, const char *id, struct project *out,
                           struct vg_error *err);
enum vg_err pg_project_list(struct store *s, const struct project_query *q, struct project_list *out,
                            struct vg_error *err);
enum vg_err pg_project_update(struct store *s, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out, struct vg_error *err);
enum vg_err pg_project_delete(struct store *s, const char *user_id, const char *id, struct vg_error *err);
enum vg_err pg_generation_list(struct store *s, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err);
enum vg_err pg_generation_create(struct store *s, const struct generation_new *in, struct generation *out,
                                 bool *replayed, struct vg_error *err);
enum vg_err pg_generation_get(struct store *s, const char *user_id, const char *id, struct generation *out,
                              struct vg_error *err);
enum vg_err pg_generation_page(struct store *s, const struct generation_query *q, struct generation_list *out,
                               struct vg_error *err);
enum vg_err pg_generation_cancel(struct store *s, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err);
enum vg_err pg_generation_delete(struct store *s, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err);

/* Part 2: jobs, attempts, uploads, admin, summary, health, webhooks (postgres_jobs.c and
 * the files beside it). */
enum vg_err pg_generation_attempts(struct store *s, const char *user_id, const char *id, struct attempt_list *out,
                                   struct vg_error *err);
enum vg_err pg_attempt_cost(struct store *s, const char *id, int64_t micros, const char *unit, int64_t *added,
                            struct vg_error *err);
/* Records in the attempt history what the job update `u`, just applied to `g` (the row as it
 * is now), says of the attempt under way (store.h, struct job_update); in the caller's
 * transaction. */
enum vg_err pg_attempt_record(struct pg_store *s, const struct generation *g, const struct job_update *u, int64_t now,
                              struct vg_error *err);
enum vg_err pg_provider_in_flight(struct store *s, const char *provider, long *n, struct vg_error *err);
enum vg_err pg_provider_queued(struct store *s, const char *provider, long *n, struct vg_error *err);
enum vg_err pg_summary(struct store *s, struct store_summary *io, struct vg_error *err);
extern const struct store_admin_ops pg_admin_ops;
enum vg_err pg_provider_health_get(struct store *s, const char *provider, struct provider_health *out,
                                   struct vg_error *err);
enum vg_err pg_provider_health_put(struct store *s, const char *provider, const struct provider_health *h,
                                   struct vg_error *err);
enum vg_err pg_job_claim(struct store *s, const char *owner, const char *worker, int64_t lease_ms, enum job_kind kind,
                         struct generation *out, struct vg_error *err);
enum vg_err pg_job_next_due(struct store *s, unsigned kinds, int64_t *at_ms, struct vg_error *err);
enum vg_err pg_worker_join(struct store *s, const char *worker, int64_t lease_ms, struct vg_error *err);
enum vg_err pg_worker_beat(struct store *s, const char *worker, int64_t lease_ms, struct job_news_list *news,
                           struct vg_error *err);
enum vg_err pg_workers_reap(struct store *s, long *jobs, struct vg_error *err);
enum vg_err pg_job_lease(struct store *s, const char *id, struct job_lease *out, struct vg_error *err);
enum vg_err pg_job_update(struct store *s, const char *id, const char *owner, const struct job_update *u,
                          struct generation *out, struct vg_error *err);
enum vg_err pg_webhook_wake(struct store *s, const char *provider, const char *token_hash, const char *provider_job_id,
                            char id[ID_LEN + 1], struct vg_error *err);
enum vg_err pg_webhook_known(struct store *s, const char *provider, const char *token_hash, struct vg_error *err);
enum vg_err pg_upload_create(struct store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err);
enum vg_err pg_upload_get(struct store *s, const char *user_id, const char *id, const char *file_path,
                          const char *sha256, struct upload *out, struct vg_error *err);
enum vg_err pg_upload_list(struct store *s, const char *user_id, const char *before_id, int limit,
                           struct upload_list *out, struct vg_error *err);
enum vg_err pg_upload_delete(struct store *s, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err);
enum vg_err pg_upload_usage(struct store *s, const char *user_id, int64_t *used, struct vg_error *err);
enum vg_err pg_image_in_use(struct store *s, const char *file_path, bool *in_use, struct vg_error *err);

#endif
