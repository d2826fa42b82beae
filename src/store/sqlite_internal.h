/* Shared by the files of the SQLite backend only. */
#ifndef VIDGEN_STORE_SQLITE_INTERNAL_H
#define VIDGEN_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* The columns read_generation() reads, in order. */
#define GENERATION_COLS                                                                                                \
    "id, project_id, user_id, provider, model_id, model_name, prompt, negative_prompt, start_image_path, "             \
    "end_image_path, resolution, duration, aspect_ratio, generate_audio, enhance_prompt, credit_used, "                \
    "status, progress, error_message, output_path, thumbnail_path, created_at, updated_at, completed_at, "             \
    "phase, provider_job_id, video_width, video_height, video_seconds, attempts, cancel_requested"

/* The columns read_upload() reads, in order. */
#define UPLOAD_COLS "id, user_id, sha256, file_path, file_name, mime_type, width, height, size_bytes, created_at"

/* Every statement the backend runs, prepared once per connection on first use. */
enum sq_stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_USER_INSERT,
    SQ_USER_BY_NAME,
    SQ_USER_BY_ID,
    SQ_USER_COUNT,
    SQ_USER_BALANCE_ADD,
    SQ_LEDGER_INSERT,
    SQ_LEDGER_SUM,
    SQ_TOKEN_INSERT,
    SQ_TOKEN_USER,
    SQ_TOKEN_REVOKE,
    SQ_TOKENS_LIVE,
    SQ_PROJECT_INSERT,
    SQ_PROJECT_GET,
    SQ_PROJECT_UPDATE,
    SQ_PROJECT_DELETE,
    SQ_GENERATION_LIST_PROJECT,
    SQ_GENERATION_INSERT,
    SQ_GENERATION_GET,
    SQ_GENERATION_PAGE_USER,
    SQ_GENERATION_PAGE_PROJECT,
    SQ_GENERATION_CANCEL_PENDING,
    SQ_GENERATION_CANCEL_FLAG,
    SQ_GENERATION_DELETE,
    SQ_IDEMPOTENCY_GET,
    SQ_IDEMPOTENCY_INSERT,
    SQ_PROJECT_OWNED,
    SQ_PROJECT_BUSY,
    SQ_LEDGER_PAGE,
    SQ_REFUND_EXISTS,
    SQ_JOB_CLAIM,
    SQ_JOB_NEXT_DUE,
    SQ_WORKER_JOIN,
    SQ_WORKER_BEAT,
    SQ_WORKER_NEWS,
    SQ_WORKERS_LAPSED,
    SQ_WORKERS_REAP,
    SQ_JOB_RUNNING,
    SQ_JOB_RETRY,
    SQ_USER_CLAIMED,
    SQ_CLAIM_USER,
    SQ_PROVIDER_IN_FLIGHT,
    SQ_PROVIDER_QUEUED,
    SQ_HEALTH_GET,
    SQ_HEALTH_PUT,
    SQ_JOB_WAIT,
    SQ_JOB_COMPLETE,
    SQ_JOB_END,
    SQ_JOB_LEASE,
    SQ_WEBHOOK_WAKE,
    SQ_WEBHOOK_KNOWN,
    SQ_UPLOAD_BY_SHA,
    SQ_UPLOAD_USAGE,
    SQ_UPLOAD_INSERT,
    SQ_UPLOAD_GET,
    SQ_UPLOAD_BY_PATH,
    SQ_UPLOAD_PAGE,
    SQ_UPLOAD_DELETE,
    SQ_IMAGE_BUSY,
    SQ_IMAGE_IN_USE,
    SQ_JOB_REROUTE,
    SQ_ATTEMPT_BEGIN,
    SQ_ATTEMPT_JOB_ID,
    SQ_ATTEMPT_END,
    SQ_ATTEMPT_LIST,
    SQ_ATTEMPT_COST_GET,
    SQ_ATTEMPT_COST_SET,
    SQ_PASSWORD_SET,
    SQ_PASSWORD_GET,
    SQ_SESSION_INSERT,
    SQ_SESSION_PURGE,
    SQ_SESSION_USER,
    SQ_SESSION_REVOKE,
    SQ_SESSIONS_REVOKE_USER,
    SQ_COUNT
};

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    sqlite3_stmt *stmts[SQ_COUNT];
};

static inline struct sqlite_store *sq(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* The statement, reset and with its bindings cleared; NULL (with err filled) on failure. */
sqlite3_stmt *sq_stmt(struct sqlite_store *s, enum sq_stmt which, struct vg_error *err);

/* BEGIN IMMEDIATE: takes the write lock at once, so a transaction never fails on a
 * read-to-write upgrade (busy_timeout then makes writers queue instead of erroring). */
enum vg_err sq_begin(struct sqlite_store *s, struct vg_error *err);
enum vg_err sq_commit(struct sqlite_store *s, struct vg_error *err);
void sq_rollback(struct sqlite_store *s);
/* Ends a transaction that hands a generation back: commits when `e` is VG_OK, else rolls
 * back; when the commit fails, frees *out (may be NULL). Returns the final verdict. */
enum vg_err sq_end_with_generation(struct sqlite_store *s, enum vg_err e, struct generation *out, struct vg_error *err);

/* Maps an sqlite3 result code to an error (constraint → conflict, busy → unavailable). */
enum vg_err sq_fail(struct sqlite_store *s, int rc, struct vg_error *err);

/* Steps a statement that returns no rows; VG_OK on SQLITE_DONE. */
enum vg_err sq_exec(struct sqlite_store *s, sqlite3_stmt *st, struct vg_error *err);

/* A heap copy of a text column, NULL for SQL NULL. */
char *sq_text_dup(sqlite3_stmt *st, int col);
/* Copies a text column into a fixed buffer ("" for NULL), truncating. */
void sq_text_copy(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* Appends a zeroed slot to a growing array of `size`-byte items (*items realloc'd, *n
 * and *cap updated); NULL when out of memory. */
void *sq_grow(void **items, size_t *n, size_t *cap, size_t size);

/* Steps `st` to its end, reading each row with read(st, item) into a growing array of
 * `size`-byte items (*items, *n: the caller's, free()). On failure frees what was read
 * (free_item on each, may be NULL) and returns the error. */
enum vg_err sq_read_all(struct sqlite_store *s, sqlite3_stmt *st, void **items, size_t *n, size_t size,
                        void (*read)(sqlite3_stmt *st, void *item), void (*free_item)(void *item),
                        struct vg_error *err);

/* Binds text, or NULL when `v` is NULL. */
void sq_bind_text(sqlite3_stmt *st, int idx, const char *v);

/* Fills `u` from a row whose first columns are id, name, is_admin, balance, created_at. */
void sq_read_user(sqlite3_stmt *st, struct user *u);

/* Fills `g` from a row of GENERATION_COLS (heap strings: generation_free). */
void sq_read_generation(sqlite3_stmt *st, struct generation *g);

/* Steps a statement returning GENERATION_COLS rows into a list (VG_OK also when empty). */
enum vg_err sq_read_generations(struct sqlite_store *s, sqlite3_stmt *st, struct generation_list *out,
                                struct vg_error *err);

/* Moves a user's balance by `amount` and appends the ledger row (generation_id may be NULL);
 * the caller holds the transaction. VG_ERR_NO_CREDITS when the balance would go negative. */
enum vg_err sq_ledger_append(struct sqlite_store *s, const char *user_id, enum ledger_kind kind, long amount,
                             const char *generation_id, const char *note, long *balance_after, struct vg_error *err);

/* Refunds a generation's credits unless it was refunded already; in the caller's transaction. */
enum vg_err sq_refund(struct sqlite_store *s, const struct generation *g, const char *note, struct vg_error *err);

/* The ops of each file, gathered by sqlite.c into one table. */
enum vg_err sq_user_create(struct store *s, const char *name, bool is_admin, long credits, struct user *out,
                           struct vg_error *err);
enum vg_err sq_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err);
enum vg_err sq_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err);
enum vg_err sq_user_count(struct store *s, long *out, struct vg_error *err);
enum vg_err sq_credits_add(struct store *s, const char *user_id, enum ledger_kind kind, long amount, const char *note,
                           long *balance_after, struct vg_error *err);
enum vg_err sq_ledger_sum(struct store *s, const char *user_id, long *sum, struct vg_error *err);
enum vg_err sq_token_create(struct store *s, const char *user_id, const char *token_hash, const char *label,
                            struct api_token *out, struct vg_error *err);
enum vg_err sq_token_user(struct store *s, const char *token_hash, struct user *out, struct vg_error *err);
enum vg_err sq_token_revoke(struct store *s, const char *id_or_hash, struct vg_error *err);
enum vg_err sq_tokens_live(struct store *s, const char *const *hashes, size_t n, bool *live, struct vg_error *err);

enum vg_err sq_project_create(struct store *s, const char *user_id, const char *name, const char *description,
                              struct project *out, struct vg_error *err);
enum vg_err sq_project_get(struct store *s, const char *user_id, const char *id, struct project *out,
                           struct vg_error *err);
enum vg_err sq_project_list(struct store *s, const struct project_query *q, struct project_list *out,
                            struct vg_error *err);
enum vg_err sq_project_update(struct store *s, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out, struct vg_error *err);
enum vg_err sq_project_delete(struct store *s, const char *user_id, const char *id, struct vg_error *err);
enum vg_err sq_generation_list(struct store *s, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err);
enum vg_err sq_generation_create(struct store *s, const struct generation_new *in, struct generation *out,
                                 bool *replayed, struct vg_error *err);
enum vg_err sq_generation_get(struct store *s, const char *user_id, const char *id, struct generation *out,
                              struct vg_error *err);
enum vg_err sq_generation_page(struct store *s, const struct generation_query *q, struct generation_list *out,
                               struct vg_error *err);
enum vg_err sq_generation_cancel(struct store *s, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err);
enum vg_err sq_generation_delete(struct store *s, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err);
enum vg_err sq_generation_attempts(struct store *s, const char *user_id, const char *id, struct attempt_list *out,
                                   struct vg_error *err);
enum vg_err sq_attempt_cost(struct store *s, const char *id, int64_t micros, const char *unit, int64_t *added,
                            struct vg_error *err);
/* Records in the attempt history what the job update `u`, just applied to `g` (the row as it
 * is now), says of the attempt under way (store.h, struct job_update); in the caller's
 * transaction. */
enum vg_err sq_attempt_record(struct sqlite_store *s, const struct generation *g, const struct job_update *u,
                              int64_t now, struct vg_error *err);
enum vg_err sq_ledger_page(struct store *s, const char *user_id, long before_id, int limit, struct ledger_list *out,
                           struct vg_error *err);
enum vg_err sq_provider_in_flight(struct store *s, const char *provider, long *n, struct vg_error *err);
enum vg_err sq_provider_queued(struct store *s, const char *provider, long *n, struct vg_error *err);
enum vg_err sq_summary(struct store *s, struct store_summary *io, struct vg_error *err);
extern const struct store_admin_ops sq_admin_ops; /* sqlite_admin.c */
enum vg_err sq_provider_health_get(struct store *s, const char *provider, struct provider_health *out,
                                   struct vg_error *err);
enum vg_err sq_provider_health_put(struct store *s, const char *provider, const struct provider_health *h,
                                   struct vg_error *err);
enum vg_err sq_job_claim(struct store *s, const char *owner, const char *worker, int64_t lease_ms, enum job_kind kind,
                         struct generation *out, struct vg_error *err);
enum vg_err sq_job_next_due(struct store *s, unsigned kinds, int64_t *at_ms, struct vg_error *err);
enum vg_err sq_worker_join(struct store *s, const char *worker, int64_t lease_ms, struct vg_error *err);
enum vg_err sq_worker_beat(struct store *s, const char *worker, int64_t lease_ms, struct job_news_list *news,
                           struct vg_error *err);
enum vg_err sq_workers_reap(struct store *s, long *jobs, struct vg_error *err);
enum vg_err sq_job_lease(struct store *s, const char *id, struct job_lease *out, struct vg_error *err);
enum vg_err sq_job_update(struct store *s, const char *id, const char *owner, const struct job_update *u,
                          struct generation *out, struct vg_error *err);
enum vg_err sq_upload_create(struct store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err);
enum vg_err sq_upload_get(struct store *s, const char *user_id, const char *id, const char *file_path,
                          const char *sha256, struct upload *out, struct vg_error *err);
enum vg_err sq_upload_list(struct store *s, const char *user_id, const char *before_id, int limit,
                           struct upload_list *out, struct vg_error *err);
enum vg_err sq_upload_delete(struct store *s, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err);
enum vg_err sq_upload_usage(struct store *s, const char *user_id, int64_t *used, struct vg_error *err);
enum vg_err sq_image_in_use(struct store *s, const char *file_path, bool *in_use, struct vg_error *err);
enum vg_err sq_password_set(struct store *s, const char *user_id, const char *hash, struct vg_error *err);
enum vg_err sq_password_get(struct store *s, const char *name, struct user *out, char hash[STORE_PASSWORD_MAX + 1],
                            struct vg_error *err);
enum vg_err sq_session_create(struct store *s, const char *user_id, const char *token_hash, int64_t expires_at,
                              struct vg_error *err);
enum vg_err sq_session_user(struct store *s, const char *token_hash, struct user *out, int64_t *expires_at,
                            struct vg_error *err);
enum vg_err sq_session_revoke(struct store *s, const char *token_hash, struct vg_error *err);
enum vg_err sq_sessions_revoke_user(struct store *s, const char *user_id, long *ended, struct vg_error *err);
enum vg_err sq_webhook_known(struct store *s, const char *provider, const char *token_hash, struct vg_error *err);
enum vg_err sq_webhook_wake(struct store *s, const char *provider, const char *token_hash, const char *provider_job_id,
                            char id[ID_LEN + 1], struct vg_error *err);

#endif
