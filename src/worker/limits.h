/* What the worker sends each remote provider at most: a token bucket on requests (submits
 * and polls), tightened for as long as a 429 asks, the cap on jobs in flight there (read
 * from the store, so it holds across a restart), and a circuit breaker: after
 * LIMIT_CIRCUIT_FAILURES passing faults in a row (no answer, 5xx, garbage) nothing is sent for
 * a pause that doubles with each failed probe; then one request probes, and a success closes
 * it. One set per provider, used by the loop thread only.
 *
 * With REDIS_URL (limit_share) the same limits hold for the whole cluster: limit_admit,
 * limit_report and limit_pause go to Redis first (worker/cluster_limits.h), and the health
 * kept here mirrors the shared one; while Redis does not answer they fall back to this
 * process's own, as without Redis. */
#ifndef VIDGEN_WORKER_LIMITS_H
#define VIDGEN_WORKER_LIMITS_H

#include <stdint.h>

#include "config.h"
#include "store/store.h"
#include "worker/cluster_limits.h"

#define LIMIT_CIRCUIT_FAILURES 5

struct limit {
    double tokens;         /* requests that may go now */
    double burst;          /* the bucket's size */
    double per_ms;         /* refill rate */
    int64_t refilled_at;   /* ms */
    int64_t blocked_until; /* a 429's wait; 0 = none */
    int max_in_flight;
    int submitting;                /* submits of this worker under way (not in the store's count yet) */
    struct provider_health health; /* as this worker saw it (with Redis: as the cluster has it); written to
                                    * the store for the API, never read back by workers */
    int64_t health_written_at;
    bool probing; /* the circuit's probe is under way */
    /* Shared limits (limit_share); NULL: this process's own only. */
    struct cluster_limits *cluster; /* borrowed; outlives the limit */
    const char *provider;           /* borrowed, static: the provider's name in Redis's keys */
    int64_t lease_ms;               /* a slot's life without a renewal */
};

void limit_init(struct limit *l, const struct provider_limits *cfg, int64_t now_ms);

/* Takes a token when one is there and returns 0; else returns when the next one will be
 * (and takes nothing). */
int64_t limit_take(struct limit *l, int64_t now_ms);

/* The provider asked to wait until `until_ms` (429). */
void limit_block(struct limit *l, int64_t until_ms);

/* 0 when the circuit lets a request go now (then a probe, if it is half-open, is under way
 * until limit_record), else when to look again. */
int64_t limit_circuit(struct limit *l, int64_t now_ms);

/* Whether the circuit is open now (no probe allowed yet); unlike limit_circuit, changes nothing. */
static inline bool limit_circuit_open(const struct limit *l, int64_t now_ms)
{
    return l->health.open_until > now_ms;
}

/* Records how an exchange went: answered as the contract says (ok), or a passing fault
 * (`failure` says what). Returns true when the health changed enough to be written to the
 * store (a change of state, or a success not written for a while). */
bool limit_record(struct limit *l, bool ok, const char *failure, int64_t now_ms);

/* Shares this provider's limits through `cl` (worker/cluster_limits.h). */
void limit_share(struct limit *l, struct cluster_limits *cl, const char *provider, int64_t lease_ms);

enum limit_verdict {
    LIMIT_GO,      /* send it (a token is taken; a submit's slot is held) */
    LIMIT_CIRCUIT, /* the provider is failing: not before *at */
    LIMIT_FULL,    /* a submit, with as many jobs at the provider as it may have */
    LIMIT_WAIT,    /* no token yet, or a 429's pause: not before *at */
};

/* Whether generation `gen_id` may send its next request (a submit, else a poll or a
 * look-up) now: the circuit, for a submit the cap on jobs in flight (`in_flight`: the
 * store's count, the reference whatever else holds; -1 when unknown), and a token. Shared,
 * it is one atomic step in Redis that also holds the job's slot. */
enum limit_verdict limit_admit(struct limit *l, const char *gen_id, bool submit, long in_flight, int64_t now,
                               int64_t *at);

/* limit_record, in the shared circuit when there is one (l->health then mirrors it). */
bool limit_report(struct limit *l, bool ok, const char *failure, int64_t now);

/* limit_block, for every worker when shared. */
void limit_pause(struct limit *l, int64_t until_ms, int64_t now);

#endif
