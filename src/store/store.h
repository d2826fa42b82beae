/* The store: every read and write of durable state, behind one interface.
 *
 * A backend (sqlite.c today, postgres.c beside it later) fills a `struct store_ops`; callers
 * use the store_* functions below and never see SQL or the database. One `struct store` is
 * one connection and is not thread-safe: each thread (HTTP loop, worker, CLI) opens its own.
 *
 * Ownership: every struct a function fills is the caller's. Strings in it that are `char *`
 * are heap copies freed by the matching *_free / *_list_free function; fixed arrays need no
 * freeing. Every function returns VG_OK or an error with a message in `err` (which may be
 * NULL); "not found" covers rows owned by another user, so callers cannot tell them apart. */
#ifndef VIDGEN_STORE_STORE_H
#define VIDGEN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "util/id.h"

#define STORE_NAME_MAX 64      /* user names, bytes */
#define STORE_PASSWORD_MAX 255 /* a stored password hash (crypto_pwhash_str's string), bytes */

struct user {
    char id[ID_LEN + 1];
    char name[STORE_NAME_MAX + 1];
    bool is_admin;
    long balance; /* credits */
    int64_t created_at;
};

struct api_token {
    char id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char label[65];
    int64_t created_at, revoked_at; /* revoked_at 0 = live */
};

struct project {
    char id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char *name;
    char *description; /* NULL when none */
    int64_t created_at, updated_at;
};

/* A generation as the API shows it (the worker's fields come with the pipeline). */
struct generation {
    char id[ID_LEN + 1];
    char project_id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char provider[32], model_id[48], resolution[8], aspect_ratio[8], status[16];
    char *model_name, *prompt, *negative_prompt, *start_image, *end_image; /* NULL when none */
    char *error_message, *output_path, *thumbnail_path;                    /* NULL when none */
    char phase[16];        /* internal: queued, submitting, polling, rendering, downloading, finalizing, done */
    char *provider_job_id; /* NULL until submitted */
    int duration, progress;
    int video_width, video_height;
    double video_seconds;
    int attempts;
    bool audio, enhance_prompt, cancel_requested;
    long credit_used;
    int64_t created_at, updated_at, completed_at; /* completed_at 0 = not yet */
};

/* What POST /generate writes: the generation and its charge, in one transaction. */
struct generation_new {
    const char *user_id, *project_id;
    const char *provider, *model_id, *model_name;
    const char *prompt, *negative_prompt, *start_image, *end_image; /* NULL when none */
    const char *resolution, *aspect_ratio;
    int duration;
    bool audio, enhance_prompt;
    long credits;
    /* Idempotency-Key and a hash of the request body; key NULL = none. */
    const char *idempotency_key, *request_hash;
};

/* A page of a user's generations, newest first. */
struct generation_query {
    const char *user_id;
    const char *project_id; /* NULL = any */
    const char *status;     /* NULL = any */
    const char *before_id;  /* cursor: only ids older than this; NULL = from the newest */
    int limit;              /* 1..100 */
};

/* A credit ledger row. */
struct ledger_entry {
    long id;
    char kind[8];
    long amount, balance_after;
    char generation_id[ID_LEN + 1]; /* "" when none */
    char note[128];
    int64_t created_at;
};

struct ledger_list {
    struct ledger_entry *items;
    size_t n;
};

struct generation_list {
    struct generation *items;
    size_t n;
};

/* A project with a bounded view of its generations, as GET /projects shows it. */
struct project_summary {
    struct project project;
    long generation_count;         /* all of its generations */
    struct generation_list recent; /* the newest of them, newest first */
};

/* An uploaded image (POST /upload-image), owned by one user; core/upload.h names its file. */
struct upload {
    char id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char sha256[65];
    char *file_path; /* the seed's filePath, core/upload.h: unique per user and content */
    char *file_name; /* the client's name for it, shown back only */
    char mime_type[16];
    int width, height;
    int64_t size_bytes, created_at;
};

struct upload_list {
    struct upload *items;
    size_t n;
    bool more; /* another page follows: pass the last item's id as before_id */
};

struct project_list {
    struct project_summary *items;
    size_t n;
    bool more; /* another page follows: pass the last item's id as before_id */
};

/* Which of a user's projects project_list returns, newest first. */
struct project_query {
    const char *user_id;
    const char *id;        /* only this project (none when it is not the user's); NULL = any */
    const char *before_id; /* cursor: only ids older than this; NULL = from the newest */
    int limit;             /* at most this many projects, >= 1 */
    int recent;            /* with the newest this many generations of each, >= 1 */
};

enum ledger_kind { LEDGER_GRANT, LEDGER_CHARGE, LEDGER_REFUND, LEDGER_ADJUST };

/* A worker's change to a generation it holds the lease on (job_update). */
/* What GET /metrics shows of the store (metrics/summary.h), read in one call. */
struct store_summary {
    long queued;              /* out: generations waiting at vidgen (phase queued, not at a provider) */
    int64_t oldest_queued_at; /* out: created_at of the oldest of them; 0 when none */
    long ledger_after;        /* in: sum only ledger rows past this id; out: the last id summed */
    long credits[4];          /* out: the amounts of those rows, by enum ledger_kind */
};

/* A remote provider's health as its workers saw it last (provider_health table). */
struct provider_health {
    int64_t last_success_at, last_failure_at; /* 0 = never */
    char last_failure[256];                   /* "" = none */
    int failures;                             /* passing faults in a row */
    int64_t open_until;                       /* the circuit is open until then; 0 = closed */
};

/* Which jobs a claim takes: the local provider's (CPU work on this machine) or the remote
 * providers' (network waits), so that a worker bounds the two separately. */
enum job_kind {
    JOBS_LOCAL,
    JOBS_REMOTE,
};
#define JOB_KIND_BIT(k) (1u << (k))

enum job_outcome {
    JOB_RUNNING,   /* still going: renew the lease, record progress/phase/provider job id */
    JOB_RETRY,     /* a transient fault: release the lease, run again at next_run_at; counts an attempt */
    JOB_WAIT,      /* nothing wrong: release the lease until next_run_at (a wait between polls, or a
                    * clean hand-back at shutdown with next_run_at = now); no attempt, no message */
    JOB_COMPLETED, /* done: output and thumbnail in place */
    JOB_FAILED,    /* failed for good: refunded in the same transaction */
    JOB_CANCELLED, /* stopped on request: refunded when nothing was submitted to a provider */
    JOB_REROUTE,   /* the provider's job is gone or was never made (nothing runs there): submit anew on
                    * route u->provider, due at once, phase queued, no provider job id. The model's next
                    * route (a fallback) starts its attempt count afresh; the same route again counts an
                    * attempt. Never charged again. */
};

/* News for a generation a worker holds under its heartbeat (worker_beat). */
struct job_news {
    char id[ID_LEN + 1];
    bool cancel_requested;
    bool webhook_woken; /* a provider's callback came for it */
};

struct job_news_list {
    struct job_news *items; /* owned */
    size_t n;
};

struct job_update {
    enum job_outcome outcome;
    int64_t lease_ms;                         /* JOB_RUNNING: new lease length */
    int64_t next_run_at;                      /* JOB_RETRY, JOB_WAIT */
    int progress;                             /* -1 = unchanged */
    const char *phase;                        /* JOB_RUNNING, JOB_WAIT, JOB_RETRY: NULL = unchanged */
    const char *provider_job_id;              /* JOB_RUNNING, JOB_WAIT: NULL = unchanged */
    const char *webhook_hash;                 /* JOB_RUNNING: this submit's callback token, hashed; NULL = unchanged */
    const char *message;                      /* JOB_RETRY / JOB_FAILED: readable reason */
    const char *output_path, *thumbnail_path; /* JOB_COMPLETED */
    int video_width, video_height;
    double video_seconds;
    const char *provider; /* JOB_REROUTE: the provider of the route that submits next */
    /* The attempt history (store_generation_attempts). attempt_model (JOB_RUNNING): an attempt
     * begins on the job's provider with this model string (one still open ends as interrupted:
     * its worker stopped). attempt_end (JOB_RETRY, JOB_WAIT, JOB_REROUTE): the open attempt ends
     * so ("retried"; JOB_REROUTE's default is "fell_back"); the other outcomes end it always, by
     * their name. A provider_job_id written is
     * also the open attempt's. http_status: the provider's last reply, kept with an attempt
     * that ends (0 = none). */
    const char *attempt_model;
    const char *attempt_end;
    int http_status;
};

/* One attempt of a generation at a provider: a submit (and what followed it), or a render. */
struct generation_attempt {
    int n; /* 1, 2, … in order */
    char provider[32];
    char model[96];        /* the provider's model string */
    char *provider_job_id; /* NULL when none */
    int64_t started_at;    /* ms */
    int64_t ended_at;      /* 0 = under way */
    char outcome[16];      /* "" under way; completed, failed, cancelled, retried, fell_back, interrupted */
    char *error;           /* NULL when none */
    int http_status;       /* the provider's last reply; 0 = none */
    int64_t cost_micros;   /* what the provider said it cost, in millionths of cost_unit; -1 = not said */
    char cost_unit[16];    /* "usd", "credits", "units" (providers/remote.h); "" when not said */
};

struct attempt_list {
    struct generation_attempt *items;
    size_t n;
};

#define STORE_LEASE_OWNER_MAX 127 /* bytes of a worker's name (worker/owner.h) */

/* Who holds a generation's lease (job_lease). */
struct job_lease {
    char owner[STORE_LEASE_OWNER_MAX + 1]; /* "" = nobody: not running, or finished */
    int64_t until;                         /* expiry, ms since the epoch; 0 when no owner; STORE_HELD_UNTIL while
                                            * held under its worker's heartbeat */
};

/* lease_until (and next_run_at) of a generation claimed under a worker's heartbeat: held for
 * as long as the worker beats (worker_beat), whatever the time. */
#define STORE_HELD_UNTIL INT64_MAX
#define STORE_HELD_UNTIL_SQL "9223372036854775807" /* the same, in a statement's text */

struct store;

struct store_ops {
    void (*close)(struct store *s);
    enum vg_err (*migrate)(struct store *s, int *applied, struct vg_error *err);

    enum vg_err (*user_create)(struct store *s, const char *name, bool is_admin, long credits, struct user *out,
                               struct vg_error *err);
    enum vg_err (*user_by_name)(struct store *s, const char *name, struct user *out, struct vg_error *err);
    enum vg_err (*user_by_id)(struct store *s, const char *id, struct user *out, struct vg_error *err);
    enum vg_err (*user_count)(struct store *s, long *out, struct vg_error *err);

    enum vg_err (*credits_add)(struct store *s, const char *user_id, enum ledger_kind kind, long amount,
                               const char *note, long *balance_after, struct vg_error *err);
    enum vg_err (*ledger_sum)(struct store *s, const char *user_id, long *sum, struct vg_error *err);

    enum vg_err (*token_create)(struct store *s, const char *user_id, const char *token_hash, const char *label,
                                struct api_token *out, struct vg_error *err);
    enum vg_err (*token_user)(struct store *s, const char *token_hash, struct user *out, struct vg_error *err);
    enum vg_err (*token_revoke)(struct store *s, const char *id_or_hash, struct vg_error *err);
    enum vg_err (*tokens_live)(struct store *s, const char *const *hashes, size_t n, bool *live, struct vg_error *err);

    enum vg_err (*password_set)(struct store *s, const char *user_id, const char *hash, struct vg_error *err);
    enum vg_err (*password_get)(struct store *s, const char *name, struct user *out, char hash[STORE_PASSWORD_MAX + 1],
                                struct vg_error *err);
    enum vg_err (*session_create)(struct store *s, const char *user_id, const char *token_hash, int64_t expires_at,
                                  struct vg_error *err);
    enum vg_err (*session_user)(struct store *s, const char *token_hash, struct user *out, int64_t *expires_at,
                                struct vg_error *err);
    enum vg_err (*session_revoke)(struct store *s, const char *token_hash, struct vg_error *err);
    enum vg_err (*sessions_revoke_user)(struct store *s, const char *user_id, long *ended, struct vg_error *err);

    enum vg_err (*project_create)(struct store *s, const char *user_id, const char *name, const char *description,
                                  struct project *out, struct vg_error *err);
    enum vg_err (*project_get)(struct store *s, const char *user_id, const char *id, struct project *out,
                               struct vg_error *err);
    enum vg_err (*project_list)(struct store *s, const struct project_query *q, struct project_list *out,
                                struct vg_error *err);
    enum vg_err (*project_update)(struct store *s, const char *user_id, const char *id, const char *name,
                                  const char *description, bool set_description, struct project *out,
                                  struct vg_error *err);
    enum vg_err (*project_delete)(struct store *s, const char *user_id, const char *id, struct vg_error *err);

    enum vg_err (*generation_list)(struct store *s, const char *user_id, const char *project_id,
                                   struct generation_list *out, struct vg_error *err);
    enum vg_err (*generation_create)(struct store *s, const struct generation_new *in, struct generation *out,
                                     bool *replayed, struct vg_error *err);
    enum vg_err (*generation_get)(struct store *s, const char *user_id, const char *id, struct generation *out,
                                  struct vg_error *err);
    enum vg_err (*generation_page)(struct store *s, const struct generation_query *q, struct generation_list *out,
                                   struct vg_error *err);
    enum vg_err (*generation_cancel)(struct store *s, const char *user_id, const char *id, struct generation *out,
                                     struct vg_error *err);
    enum vg_err (*generation_delete)(struct store *s, const char *user_id, const char *id, struct generation *out,
                                     struct vg_error *err);
    enum vg_err (*generation_attempts)(struct store *s, const char *user_id, const char *id, struct attempt_list *out,
                                       struct vg_error *err);
    enum vg_err (*attempt_cost)(struct store *s, const char *id, int64_t micros, const char *unit, int64_t *added,
                                struct vg_error *err);
    enum vg_err (*ledger_page)(struct store *s, const char *user_id, long before_id, int limit, struct ledger_list *out,
                               struct vg_error *err);

    enum vg_err (*job_claim)(struct store *s, const char *owner, const char *worker, int64_t lease_ms,
                             enum job_kind kind, struct generation *out, struct vg_error *err);
    enum vg_err (*job_next_due)(struct store *s, unsigned kinds, int64_t *at_ms, struct vg_error *err);
    enum vg_err (*worker_join)(struct store *s, const char *worker, int64_t lease_ms, struct vg_error *err);
    enum vg_err (*worker_beat)(struct store *s, const char *worker, int64_t lease_ms, struct job_news_list *news,
                               struct vg_error *err);
    enum vg_err (*workers_reap)(struct store *s, long *jobs, struct vg_error *err);
    enum vg_err (*provider_in_flight)(struct store *s, const char *provider, long *n, struct vg_error *err);
    enum vg_err (*provider_queued)(struct store *s, const char *provider, long *n, struct vg_error *err);
    enum vg_err (*summary)(struct store *s, struct store_summary *io, struct vg_error *err);
    const struct store_admin_ops *admin; /* store/store_admin.h */
    enum vg_err (*provider_health_get)(struct store *s, const char *provider, struct provider_health *out,
                                       struct vg_error *err);
    enum vg_err (*provider_health_put)(struct store *s, const char *provider, const struct provider_health *h,
                                       struct vg_error *err);
    enum vg_err (*job_lease)(struct store *s, const char *id, struct job_lease *out, struct vg_error *err);
    enum vg_err (*job_update)(struct store *s, const char *id, const char *owner, const struct job_update *u,
                              struct generation *out, struct vg_error *err);
    enum vg_err (*webhook_wake)(struct store *s, const char *provider, const char *token_hash,
                                const char *provider_job_id, char id[ID_LEN + 1], struct vg_error *err);
    enum vg_err (*webhook_known)(struct store *s, const char *provider, const char *token_hash, struct vg_error *err);

    enum vg_err (*upload_create)(struct store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                                 bool *existing, int64_t *used, struct vg_error *err);
    enum vg_err (*upload_get)(struct store *s, const char *user_id, const char *id, const char *file_path,
                              const char *sha256, struct upload *out, struct vg_error *err);
    enum vg_err (*upload_list)(struct store *s, const char *user_id, const char *before_id, int limit,
                               struct upload_list *out, struct vg_error *err);
    enum vg_err (*upload_delete)(struct store *s, const char *user_id, const char *id, struct upload *out,
                                 bool *file_in_use, struct vg_error *err);
    enum vg_err (*upload_usage)(struct store *s, const char *user_id, int64_t *used, struct vg_error *err);
    enum vg_err (*image_in_use)(struct store *s, const char *file_path, bool *in_use, struct vg_error *err);
};

struct store {
    const struct store_ops *ops;
};

/* Opens a connection for `url` ("sqlite:PATH", or "postgres://…" / "postgresql://…").
 * A database server that is down or starting is waited for (a process started before its
 * database keeps trying: store/postgres.h) until SIGINT or SIGTERM is pending. Returns NULL
 * with a message in `err`. store_close() releases it. */
struct store *store_open(const char *url, char *err, size_t errlen);
/* The same, trying once: for a connection opened while the process serves (a request
 * answered 503 meanwhile beats one that waits). */
struct store *store_try_open(const char *url, char *err, size_t errlen);

/* Applies the numbered migrations not applied yet, each in its own transaction.
 * `applied` (may be NULL) receives how many ran. */
static inline enum vg_err store_migrate(struct store *s, int *applied, struct vg_error *err)
{
    return s->ops->migrate(s, applied, err);
}

static inline void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

/* Users. user_create writes the user and, when credits > 0, its opening grant in the
 * ledger, in one transaction; a taken name is VG_ERR_CONFLICT. */
static inline enum vg_err store_user_create(struct store *s, const char *name, bool is_admin, long credits,
                                            struct user *out, struct vg_error *err)
{
    return s->ops->user_create(s, name, is_admin, credits, out, err);
}
static inline enum vg_err store_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err)
{
    return s->ops->user_by_name(s, name, out, err);
}
static inline enum vg_err store_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err)
{
    return s->ops->user_by_id(s, id, out, err);
}
static inline enum vg_err store_user_count(struct store *s, long *out, struct vg_error *err)
{
    return s->ops->user_count(s, out, err);
}

/* Credits: appends one ledger row and moves the balance by `amount` (signed) in the same
 * transaction. A change that would leave the balance negative is VG_ERR_NO_CREDITS and
 * writes nothing. */
static inline enum vg_err store_credits_add(struct store *s, const char *user_id, enum ledger_kind kind, long amount,
                                            const char *note, long *balance_after, struct vg_error *err)
{
    return s->ops->credits_add(s, user_id, kind, amount, note, balance_after, err);
}
/* The sum of a user's ledger rows; always equal to the balance (the ledger invariant). */
static inline enum vg_err store_ledger_sum(struct store *s, const char *user_id, long *sum, struct vg_error *err)
{
    return s->ops->ledger_sum(s, user_id, sum, err);
}

/* API tokens are stored only as a hash (auth/token.h makes both). token_user finds the
 * owner of a live token; a revoked or unknown one is VG_ERR_UNAUTHORIZED. */
static inline enum vg_err store_token_create(struct store *s, const char *user_id, const char *token_hash,
                                             const char *label, struct api_token *out, struct vg_error *err)
{
    return s->ops->token_create(s, user_id, token_hash, label, out, err);
}
static inline enum vg_err store_token_user(struct store *s, const char *token_hash, struct user *out,
                                           struct vg_error *err)
{
    return s->ops->token_user(s, token_hash, out, err);
}
static inline enum vg_err store_token_revoke(struct store *s, const char *id_or_hash, struct vg_error *err)
{
    return s->ops->token_revoke(s, id_or_hash, err);
}
/* Which of `n` token hashes still authenticate, in one query: live[i] (the caller's array)
 * is set to whether hashes[i] is a token that is not revoked and whose user still exists, or
 * a live login session (below). */
static inline enum vg_err store_tokens_live(struct store *s, const char *const *hashes, size_t n, bool *live,
                                            struct vg_error *err)
{
    return s->ops->tokens_live(s, hashes, n, live, err);
}

/* Passwords and login sessions (core/password.h, core/session.h make what is stored).
 * password_set replaces the user's password hash. password_get finds the user by name with
 * the hash ("" when the user has no password); VG_ERR_NOT_FOUND when there is no such user.
 * A session is stored as the hash of its cookie value: session_create records one lasting
 * until expires_at (ms), and drops sessions that ended long ago; session_user finds the
 * owner of a live one (not revoked, not expired: otherwise VG_ERR_UNAUTHORIZED) and when it
 * ends (may be NULL); session_revoke ends one (VG_ERR_NOT_FOUND when it was not live);
 * sessions_revoke_user ends all of a user's (*ended: how many, may be NULL). */
static inline enum vg_err store_password_set(struct store *s, const char *user_id, const char *hash,
                                             struct vg_error *err)
{
    return s->ops->password_set(s, user_id, hash, err);
}
static inline enum vg_err store_password_get(struct store *s, const char *name, struct user *out,
                                             char hash[STORE_PASSWORD_MAX + 1], struct vg_error *err)
{
    return s->ops->password_get(s, name, out, hash, err);
}
static inline enum vg_err store_session_create(struct store *s, const char *user_id, const char *token_hash,
                                               int64_t expires_at, struct vg_error *err)
{
    return s->ops->session_create(s, user_id, token_hash, expires_at, err);
}
static inline enum vg_err store_session_user(struct store *s, const char *token_hash, struct user *out,
                                             int64_t *expires_at, struct vg_error *err)
{
    return s->ops->session_user(s, token_hash, out, expires_at, err);
}
static inline enum vg_err store_session_revoke(struct store *s, const char *token_hash, struct vg_error *err)
{
    return s->ops->session_revoke(s, token_hash, err);
}
static inline enum vg_err store_sessions_revoke_user(struct store *s, const char *user_id, long *ended,
                                                     struct vg_error *err)
{
    return s->ops->sessions_revoke_user(s, user_id, ended, err);
}

/* Projects, always scoped to their owner. project_update changes `name` when not NULL and
 * the description when `set_description` (NULL clears it). */
static inline enum vg_err store_project_create(struct store *s, const char *user_id, const char *name,
                                               const char *description, struct project *out, struct vg_error *err)
{
    return s->ops->project_create(s, user_id, name, description, out, err);
}
static inline enum vg_err store_project_get(struct store *s, const char *user_id, const char *id, struct project *out,
                                            struct vg_error *err)
{
    return s->ops->project_get(s, user_id, id, out, err);
}
/* The projects of `q` with their generation counts and newest generations: at most
 * q->limit projects and q->recent generations of each are read, however many the projects
 * hold. project_list_free releases *out, generations included. */
static inline enum vg_err store_project_list(struct store *s, const struct project_query *q, struct project_list *out,
                                             struct vg_error *err)
{
    return s->ops->project_list(s, q, out, err);
}
static inline enum vg_err store_project_update(struct store *s, const char *user_id, const char *id, const char *name,
                                               const char *description, bool set_description, struct project *out,
                                               struct vg_error *err)
{
    return s->ops->project_update(s, user_id, id, name, description, set_description, out, err);
}
static inline enum vg_err store_project_delete(struct store *s, const char *user_id, const char *id,
                                               struct vg_error *err)
{
    return s->ops->project_delete(s, user_id, id, err);
}

/* Every generation of the user's project `project_id` (not NULL), newest first: for a
 * bounded view, see store_project_list and store_generation_page. */
static inline enum vg_err store_generation_list(struct store *s, const char *user_id, const char *project_id,
                                                struct generation_list *out, struct vg_error *err)
{
    return s->ops->generation_list(s, user_id, project_id, out, err);
}

/* Generations. generation_create charges the user and writes the row in one transaction
 * (VG_ERR_NO_CREDITS when short, VG_ERR_NOT_FOUND when the project is not the user's).
 * With an idempotency key already used by this user: the same request_hash returns the
 * first generation with *replayed set and no second charge; another hash is VG_ERR_CONFLICT. */
static inline enum vg_err store_generation_create(struct store *s, const struct generation_new *in,
                                                  struct generation *out, bool *replayed, struct vg_error *err)
{
    return s->ops->generation_create(s, in, out, replayed, err);
}
static inline enum vg_err store_generation_get(struct store *s, const char *user_id, const char *id,
                                               struct generation *out, struct vg_error *err)
{
    return s->ops->generation_get(s, user_id, id, out, err);
}
static inline enum vg_err store_generation_page(struct store *s, const struct generation_query *q,
                                                struct generation_list *out, struct vg_error *err)
{
    return s->ops->generation_page(s, q, out, err);
}
/* Cancels: a pending generation nobody holds is cancelled and refunded at once; a running
 * one is flagged (cancel_requested) for its worker to stop. A finished one is VG_ERR_CONFLICT. */
static inline enum vg_err store_generation_cancel(struct store *s, const char *user_id, const char *id,
                                                  struct generation *out, struct vg_error *err)
{
    return s->ops->generation_cancel(s, user_id, id, out, err);
}
/* Deletes a finished generation (VG_ERR_CONFLICT while it runs); *out receives the row as
 * it was, so the caller can remove its files. Ledger rows stay. */
static inline enum vg_err store_generation_delete(struct store *s, const char *user_id, const char *id,
                                                  struct generation *out, struct vg_error *err)
{
    return s->ops->generation_delete(s, user_id, id, out, err);
}
/* The attempts of generation `id` of `user_id` (NULL: of anyone, for admins), in order; an
 * unknown generation has none. */
static inline enum vg_err store_generation_attempts(struct store *s, const char *user_id, const char *id,
                                                    struct attempt_list *out, struct vg_error *err)
{
    return s->ops->generation_attempts(s, user_id, id, out, err);
}
/* Records on generation `id`'s attempt under way what its provider said it cost (`micros`
 * millionths of `unit`), in place of what an earlier reply said. *added: how much that adds
 * to what was recorded: the difference when the figure grew in the same unit, all of it
 * when none was recorded or the unit changed, 0 when it shrank, was the same, or no attempt
 * is under way (then nothing is written). */
static inline enum vg_err store_attempt_cost(struct store *s, const char *id, int64_t micros, const char *unit,
                                             int64_t *added, struct vg_error *err)
{
    return s->ops->attempt_cost(s, id, micros, unit, added, err);
}
/* A page of the user's ledger, newest first; before_id 0 = from the newest. */
static inline enum vg_err store_ledger_page(struct store *s, const char *user_id, long before_id, int limit,
                                            struct ledger_list *out, struct vg_error *err)
{
    return s->ops->ledger_page(s, user_id, before_id, limit, out, err);
}

/* The worker's side (the lease protocol, see worker/worker.c). job_claim takes, of the user
 * served least recently, the oldest due generation of `kind` whose lease is free or expired,
 * and leases it to `owner` (a token for this one claim): with `worker` NULL for lease_ms, renewed
 * by each JOB_RUNNING write; with `worker` (a name that joined, worker_join) for as long as that
 * worker beats (worker_beat), which no write of the job's renews or needs to. A claim under a
 * worker whose beat lapsed takes nothing. Taking over an expired lease counts an attempt,
 * claiming a released one does not; VG_ERR_NOT_FOUND when none is due. job_next_due gives the
 * earliest time a generation of one of `kinds` (a mask of JOB_KIND_BIT) becomes due (0 = none).
 * job_lease tells who holds a generation's lease, expired or not (VG_ERR_NOT_FOUND when there
 * is no such generation). job_update applies a change only while `owner` still holds the lease
 * (else VG_ERR_CONFLICT: another worker took it over). */
/* How many generations `provider` holds now: submitted to it and not ended. */
static inline enum vg_err store_provider_in_flight(struct store *s, const char *provider, long *n, struct vg_error *err)
{
    return s->ops->provider_in_flight(s, provider, n, err);
}

/* How many generations wait at vidgen for `provider`: due or not, not yet submitted. */
static inline enum vg_err store_provider_queued(struct store *s, const char *provider, long *n, struct vg_error *err)
{
    return s->ops->provider_queued(s, provider, n, err);
}
/* The queue and the ledger's new rows (store_summary); the ledger is append-only, so the
 * caller keeps running totals by adding each call's sums and passing back ledger_after. */
static inline enum vg_err store_summary(struct store *s, struct store_summary *io, struct vg_error *err)
{
    return s->ops->summary(s, io, err);
}

/* A provider's health: _get reads it (all zero when nothing was recorded), _put replaces it. */
static inline enum vg_err store_provider_health_get(struct store *s, const char *provider, struct provider_health *out,
                                                    struct vg_error *err)
{
    return s->ops->provider_health_get(s, provider, out, err);
}
static inline enum vg_err store_provider_health_put(struct store *s, const char *provider,
                                                    const struct provider_health *h, struct vg_error *err)
{
    return s->ops->provider_health_put(s, provider, h, err);
}

static inline enum vg_err store_job_claim(struct store *s, const char *owner, const char *worker, int64_t lease_ms,
                                          enum job_kind kind, struct generation *out, struct vg_error *err)
{
    return s->ops->job_claim(s, owner, worker, lease_ms, kind, out, err);
}
static inline enum vg_err store_job_next_due(struct store *s, unsigned kinds, int64_t *at_ms, struct vg_error *err)
{
    return s->ops->job_next_due(s, kinds, at_ms, err);
}
/* A worker's heartbeat, one row whatever the number of jobs it holds. worker_join enters a
 * new name, alive for lease_ms (VG_ERR_CONFLICT when the name is taken). worker_beat keeps it
 * alive for lease_ms more and fills *news (owned: job_news_list_free) with the jobs it holds
 * that were cancelled or called back; VG_ERR_CONFLICT when its beat had lapsed: every job it
 * held may be another worker's now, and the name is done (join under a new one). workers_reap
 * ends the beats that lapsed and turns their jobs into expired leases, due now, which the next
 * claim takes over (an attempt, as for any expired lease); *jobs tells how many. */
static inline enum vg_err store_worker_join(struct store *s, const char *worker, int64_t lease_ms, struct vg_error *err)
{
    return s->ops->worker_join(s, worker, lease_ms, err);
}
static inline enum vg_err store_worker_beat(struct store *s, const char *worker, int64_t lease_ms,
                                            struct job_news_list *news, struct vg_error *err)
{
    return s->ops->worker_beat(s, worker, lease_ms, news, err);
}
static inline enum vg_err store_workers_reap(struct store *s, long *jobs, struct vg_error *err)
{
    return s->ops->workers_reap(s, jobs, err);
}
static inline enum vg_err store_job_lease(struct store *s, const char *id, struct job_lease *out, struct vg_error *err)
{
    return s->ops->job_lease(s, id, out, err);
}
static inline enum vg_err store_job_update(struct store *s, const char *id, const char *owner,
                                           const struct job_update *u, struct generation *out, struct vg_error *err)
{
    return s->ops->job_update(s, id, owner, u, out, err);
}

/* A provider's callback (POST /webhooks/:provider/:token, core/webhook.h): the generation
 * whose callback token hashes to `token_hash`, served by `provider`, whose provider job is
 * `provider_job_id` and which has not ended, is made due now so that a worker polls it at
 * once (or, while a worker holds it, as soon as that worker lets it go). Nothing else
 * changes: not its status, progress, updated_at or anything a user sees. Its id goes into
 * `id`; VG_ERR_NOT_FOUND when no generation is all of that. */
static inline enum vg_err store_webhook_wake(struct store *s, const char *provider, const char *token_hash,
                                             const char *provider_job_id, char id[ID_LEN + 1], struct vg_error *err)
{
    return s->ops->webhook_wake(s, provider, token_hash, provider_job_id, id, err);
}

/* VG_OK when a generation served by `provider` that has not ended holds the callback token
 * hashing to `token_hash`, else VG_ERR_NOT_FOUND: lets a callback's body be dropped unread
 * when its URL is not one vidgen gave out. */
static inline enum vg_err store_webhook_known(struct store *s, const char *provider, const char *token_hash,
                                              struct vg_error *err)
{
    return s->ops->webhook_known(s, provider, token_hash, err);
}

/* Records `in` (id and created_at are made here) unless the user already has an upload with
 * the same sha256: then *existing is set and *out is that one. A new upload that would take
 * the user's uploads past `quota_bytes` is VG_ERR_TOO_LARGE with *used = what they hold now.
 * *out is the caller's (upload_free). */
static inline enum vg_err store_upload_create(struct store *s, const struct upload *in, int64_t quota_bytes,
                                              struct upload *out, bool *existing, int64_t *used, struct vg_error *err)
{
    return s->ops->upload_create(s, in, quota_bytes, out, existing, used, err);
}
/* The user's upload with this id, filePath or sha256 (the one of the three that is not
 * NULL); VG_ERR_NOT_FOUND when there is none (another user's included). */
static inline enum vg_err store_upload_get(struct store *s, const char *user_id, const char *id, const char *file_path,
                                           const char *sha256, struct upload *out, struct vg_error *err)
{
    return s->ops->upload_get(s, user_id, id, file_path, sha256, out, err);
}
/* The user's uploads, newest first, `limit` (>= 1) after the cursor `before_id` (NULL: from
 * the newest). */
static inline enum vg_err store_upload_list(struct store *s, const char *user_id, const char *before_id, int limit,
                                            struct upload_list *out, struct vg_error *err)
{
    return s->ops->upload_list(s, user_id, before_id, limit, out, err);
}
/* Deletes the user's upload `id` (*out: what it was) unless a generation that has not
 * ended uses its image (VG_ERR_CONFLICT). *file_in_use tells whether an ended generation
 * still refers to the file (then it stays, for retries). */
static inline enum vg_err store_upload_delete(struct store *s, const char *user_id, const char *id, struct upload *out,
                                              bool *file_in_use, struct vg_error *err)
{
    return s->ops->upload_delete(s, user_id, id, out, file_in_use, err);
}
/* The bytes the user's uploads hold. */
static inline enum vg_err store_upload_usage(struct store *s, const char *user_id, int64_t *used, struct vg_error *err)
{
    return s->ops->upload_usage(s, user_id, used, err);
}
/* Whether an upload or a generation refers to the image at `file_path`. */
static inline enum vg_err store_image_in_use(struct store *s, const char *file_path, bool *in_use, struct vg_error *err)
{
    return s->ops->image_in_use(s, file_path, in_use, err);
}

void upload_free(struct upload *u);
void upload_list_free(struct upload_list *l);
void project_free(struct project *p);
void project_list_free(struct project_list *l);
void generation_free(struct generation *g);
void generation_list_free(struct generation_list *l);
void attempt_list_free(struct attempt_list *l);
void job_news_list_free(struct job_news_list *l);

void ledger_list_free(struct ledger_list *l);

const char *ledger_kind_name(enum ledger_kind k);

#endif
