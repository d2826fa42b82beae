#include "worker/limits.h"

#include <stdio.h>

/* The circuit's first pause, doubled by each failed probe up to CIRCUIT_MAX_PAUSE_MS. */
#define CIRCUIT_PAUSE_MS 30000
#define CIRCUIT_MAX_PAUSE_MS (5 * 60000)
/* A success is written to the store at most this often (a failure every time). */
#define HEALTH_WRITE_EVERY_MS 10000

/* A bucket holds this many seconds of requests, at least one: short bursts pass at once. */
#define BURST_SECONDS 5.0

static struct cluster_rules rules_of(const struct limit *l)
{
    return (struct cluster_rules){.max_in_flight = l->max_in_flight,
                                  .per_ms = l->per_ms,
                                  .burst = l->burst,
                                  .circuit_failures = LIMIT_CIRCUIT_FAILURES,
                                  .lease_ms = l->lease_ms};
}

void limit_init(struct limit *l, const struct provider_limits *cfg, int64_t now_ms)
{
    *l = (struct limit){0};
    l->per_ms = cfg->requests_per_minute / 60000.0;
    l->burst = l->per_ms * BURST_SECONDS * 1000.0;
    if (l->burst < 1.0)
        l->burst = 1.0;
    l->tokens = l->burst;
    l->refilled_at = now_ms;
    l->blocked_until = 0;
    l->max_in_flight = cfg->max_in_flight;
}

int64_t limit_take(struct limit *l, int64_t now_ms)
{
    if (now_ms < l->blocked_until)
        return l->blocked_until;
    l->tokens += (double)(now_ms - l->refilled_at) * l->per_ms;
    if (l->tokens > l->burst)
        l->tokens = l->burst;
    l->refilled_at = now_ms;
    if (l->tokens >= 1.0) {
        l->tokens -= 1.0;
        return 0;
    }
    return now_ms + (int64_t)((1.0 - l->tokens) / l->per_ms) + 1;
}

void limit_block(struct limit *l, int64_t until_ms)
{
    if (until_ms > l->blocked_until)
        l->blocked_until = until_ms;
    l->tokens = 0.0;
}

int64_t limit_circuit(struct limit *l, int64_t now_ms)
{
    if (l->health.failures < LIMIT_CIRCUIT_FAILURES)
        return 0;
    if (now_ms < l->health.open_until)
        return l->health.open_until;
    if (l->probing)
        return now_ms + 1000;
    l->probing = true; /* half-open: this request probes */
    return 0;
}

bool limit_record(struct limit *l, bool ok, const char *failure, int64_t now_ms)
{
    struct provider_health *h = &l->health;
    bool changed;
    l->probing = false;
    if (ok) {
        changed = h->failures > 0 || now_ms - l->health_written_at >= HEALTH_WRITE_EVERY_MS;
        h->failures = 0;
        h->open_until = 0;
        h->last_success_at = now_ms;
    } else {
        changed = true;
        h->failures++;
        h->last_failure_at = now_ms;
        snprintf(h->last_failure, sizeof h->last_failure, "%s", failure);
        if (h->failures >= LIMIT_CIRCUIT_FAILURES) {
            int doublings = h->failures - LIMIT_CIRCUIT_FAILURES;
            int64_t pause = (int64_t)CIRCUIT_PAUSE_MS << (doublings < 4 ? doublings : 4);
            h->open_until = now_ms + (pause < CIRCUIT_MAX_PAUSE_MS ? pause : CIRCUIT_MAX_PAUSE_MS);
        }
    }
    if (changed)
        l->health_written_at = now_ms;
    return changed;
}

void limit_share(struct limit *l, struct cluster_limits *cl, const char *provider, int64_t lease_ms)
{
    l->cluster = cl;
    l->provider = provider;
    l->lease_ms = lease_ms;
}

static bool full(const struct limit *l, bool submit, long in_flight)
{
    return submit && in_flight >= 0 && in_flight + l->submitting >= l->max_in_flight;
}

/* This process's own limits: the circuit, the cap, the bucket, in that order. */
static enum limit_verdict admit_here(struct limit *l, bool submit, long in_flight, int64_t now, int64_t *at)
{
    if ((*at = limit_circuit(l, now)) != 0)
        return LIMIT_CIRCUIT;
    if (full(l, submit, in_flight))
        return LIMIT_FULL;
    if ((*at = limit_take(l, now)) != 0)
        return LIMIT_WAIT;
    return LIMIT_GO;
}

enum limit_verdict limit_admit(struct limit *l, const char *gen_id, bool submit, long in_flight, int64_t now,
                               int64_t *at)
{
    struct cluster_rules rules = rules_of(l);
    struct cluster_admission a;
    if (l->cluster == NULL)
        return admit_here(l, submit, in_flight, now, at);
    /* What this worker knows already needs no round trip: an open circuit as last seen, and
     * the store's count (which also covers slots lost with a Redis restarted empty). */
    if (limit_circuit_open(l, now))
        return *at = l->health.open_until, LIMIT_CIRCUIT;
    if (full(l, submit, in_flight))
        return LIMIT_FULL;
    if (cluster_limits_admit(l->cluster, l->provider, gen_id, submit, &rules, now, &a) != 0)
        return admit_here(l, submit, in_flight, now, at);
    l->health.failures = a.failures;
    l->health.open_until = a.open_until;
    if (a.last_failure[0] != '\0')
        snprintf(l->health.last_failure, sizeof l->health.last_failure, "%s", a.last_failure);
    *at = a.at;
    switch (a.verdict) {
    case CLUSTER_GO: return LIMIT_GO;
    case CLUSTER_CIRCUIT: return LIMIT_CIRCUIT;
    case CLUSTER_FULL: return LIMIT_FULL;
    case CLUSTER_WAIT: break;
    }
    return LIMIT_WAIT;
}

bool limit_report(struct limit *l, bool ok, const char *failure, int64_t now)
{
    struct cluster_rules rules = rules_of(l);
    struct provider_health h = l->health;
    int before = 0;
    if (l->cluster == NULL || cluster_limits_record(l->cluster, l->provider, ok, failure, &rules, CIRCUIT_PAUSE_MS,
                                                    CIRCUIT_MAX_PAUSE_MS, now, &h, &before) != 0)
        return limit_record(l, ok, failure, now);
    bool changed = !ok || before > 0 || now - l->health_written_at >= HEALTH_WRITE_EVERY_MS;
    l->health = h;
    l->probing = false;
    if (changed)
        l->health_written_at = now;
    return changed;
}

void limit_pause(struct limit *l, int64_t until_ms, int64_t now)
{
    limit_block(l, until_ms); /* here too: it holds if Redis goes away meanwhile */
    if (l->cluster != NULL)
        cluster_limits_block(l->cluster, l->provider, until_ms - now, now);
}
