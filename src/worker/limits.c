#include "worker/limits.h"

/* A bucket holds this many seconds of requests, at least one: short bursts pass at once. */
#define BURST_SECONDS 5.0

void limit_init(struct limit *l, const struct provider_limits *cfg, int64_t now_ms)
{
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
