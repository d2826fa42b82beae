/* Per-provider limits kept in Redis, so that every worker of a cluster (REDIS_URL) is held
 * by the same ones: the token bucket, a 429's pause, the jobs in flight at the provider and
 * the circuit. Each operation is one Lua script (EVALSHA, loaded once per connection and
 * again on NOSCRIPT), so each check-and-take is atomic in Redis, and every time it keeps is
 * Redis's own (TIME), never a worker's clock. Times given or returned here are this
 * process's (clock_now_ms), converted by the distance to Redis's now.
 *
 * Keys, per provider P:
 *   vidgen:limit:P:bucket    hash: tokens, refilled_at, blocked_until (a 429's "wait until")
 *   vidgen:limit:P:inflight  sorted set: generation id → reservation expiry (ms). A submit
 *                            reserves a slot only while fewer than the cap are held, after
 *                            dropping expired ones (a dead worker's slots come back); a job's
 *                            polls and its worker's lease renewals keep its slot; its end frees it.
 *   vidgen:limit:P:circuit   hash: failures (in a row, cluster-wide), open_until, probe_until
 *                            (the one half-open probe under way), last_success_at,
 *                            last_failure_at, last_failure
 *
 * Never waits long: each command is bounded by CLUSTER_LIMITS_TIMEOUT_MS, and while Redis
 * does not answer every call returns -1 at once (a reconnect is tried after a capped
 * backoff), which the caller takes as "use this process's own limits" (worker/limits.h).
 * The change between shared and own limits is logged once each way.
 *
 * One per worker, used by its loop thread only. */
#ifndef VIDGEN_WORKER_CLUSTER_LIMITS_H
#define VIDGEN_WORKER_CLUSTER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define CLUSTER_LIMITS_TIMEOUT_MS 200

struct cluster_limits;

/* Reads the URL (nothing is sent yet: the first call connects). NULL with a message when
 * the URL is malformed. Freed by cluster_limits_close. */
struct cluster_limits *cluster_limits_open(const char *redis_url, char *err, size_t errlen);
void cluster_limits_close(struct cluster_limits *cl);

/* What a provider allows, as this worker is configured. */
struct cluster_rules {
    int max_in_flight;
    double per_ms, burst; /* the bucket's refill a millisecond and its size */
    int circuit_failures; /* failures in a row that open the circuit */
    int64_t lease_ms;     /* a slot's life without a renewal */
};

enum cluster_verdict {
    CLUSTER_GO,      /* a token taken (and the job's slot held) */
    CLUSTER_CIRCUIT, /* the circuit is open (or its probe is under way): look again at `at` */
    CLUSTER_FULL,    /* a submit, with every slot held: look again later */
    CLUSTER_WAIT,    /* no token (or a 429's pause): look again at `at` */
};

struct cluster_admission {
    enum cluster_verdict verdict;
    int64_t at;         /* CIRCUIT, WAIT */
    int failures;       /* the circuit as Redis has it */
    int64_t open_until; /* 0 = never opened since the last success */
    bool probe;         /* GO through a half-open circuit: this request is its probe */
    char last_failure[256];
};

/* Whether generation `gen_id` may send its next request to `provider` now, in one atomic
 * step: the circuit, a 429's pause, for a submit a free slot (or its own), and a token.
 * On GO the token is taken and the job's slot held until a lease from now (a poll holds its
 * slot too: the job is at the provider). 0, or -1 when Redis cannot be used now. */
int cluster_limits_admit(struct cluster_limits *cl, const char *provider, const char *gen_id, bool submit,
                         const struct cluster_rules *rules, int64_t now, struct cluster_admission *out);

/* Records how an exchange went (ok, or a passing fault: `failure`) in the shared circuit,
 * which opens after rules->circuit_failures in a row for `pause_ms` doubled by each failure
 * past them (at most `max_pause_ms`). The shared health after it in *h; *prev_failures the
 * count before. 0, or -1 when Redis cannot be used now. */
int cluster_limits_record(struct cluster_limits *cl, const char *provider, bool ok, const char *failure,
                          const struct cluster_rules *rules, int64_t pause_ms, int64_t max_pause_ms, int64_t now,
                          struct provider_health *h, int *prev_failures);

/* The provider asked to wait `wait_ms` (429): every worker waits. 0 or -1. */
int cluster_limits_block(struct cluster_limits *cl, const char *provider, int64_t wait_ms, int64_t now);

/* Keeps the slots of n jobs that are at their providers (providers[i], ids[i]) for `ms` from
 * now; a job that holds no slot is not given one. 0 or -1. */
int cluster_limits_extend(struct cluster_limits *cl, int n, const char *const *providers, const char *const *ids,
                          int64_t ms, int64_t now);

/* The job is no longer at the provider (ended, rerouted, or back to waiting at vidgen): its
 * slot is free. 0 or -1. */
int cluster_limits_release(struct cluster_limits *cl, const char *provider, const char *gen_id, int64_t now);

#endif
