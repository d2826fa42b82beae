#include "worker/limits.h"

#include <stdio.h>

/* The circuit's first pause, doubled by each failed probe up to CIRCUIT_MAX_PAUSE_MS. */
#define CIRCUIT_PAUSE_MS 30000
#define CIRCUIT_MAX_PAUSE_MS (5 * 60000)
/* A success is written to the store at most this often (a failure every time). */
#define HEALTH_WRITE_EVERY_MS 10000

/* A bucket holds this many seconds of requests, at least one: short bursts pass at once. */
#define BURST_SECONDS 5.0

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
