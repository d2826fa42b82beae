/* What the worker sends each remote provider at most: a token bucket on requests (submits
 * and polls), tightened for as long as a 429 asks, and the cap on jobs in flight there (read
 * from the store, so it holds across a restart). One set per provider, used by the loop
 * thread only. */
#ifndef VIDGEN_WORKER_LIMITS_H
#define VIDGEN_WORKER_LIMITS_H

#include <stdint.h>

#include "config.h"

struct limit {
    double tokens;         /* requests that may go now */
    double burst;          /* the bucket's size */
    double per_ms;         /* refill rate */
    int64_t refilled_at;   /* ms */
    int64_t blocked_until; /* a 429's wait; 0 = none */
    int max_in_flight;
    int submitting; /* submits of this worker under way (not in the store's count yet) */
};

void limit_init(struct limit *l, const struct provider_limits *cfg, int64_t now_ms);

/* Takes a token when one is there and returns 0; else returns when the next one will be
 * (and takes nothing). */
int64_t limit_take(struct limit *l, int64_t now_ms);

/* The provider asked to wait until `until_ms` (429). */
void limit_block(struct limit *l, int64_t until_ms);

#endif
