/* A timer heap: the worker loop's schedule (lease renewals, retried store writes; provider
 * polls and retries with backoff as remote providers land). One thread only. O(log n)
 * add/pop, so thousands of waiting jobs cost no thread each. */
#ifndef VIDGEN_WORKER_TIMERS_H
#define VIDGEN_WORKER_TIMERS_H

#include <stddef.h>
#include <stdint.h>

struct timer;
/* What a timer does when it is due; `t` is no longer armed during the call. */
typedef void (*timer_fn)(struct timer *t, int64_t now_ms);

struct timer {
    int64_t at_ms; /* when it is due */
    size_t index;  /* position in the heap, maintained by the heap; SIZE_MAX when not armed */
    timer_fn fire; /* called by timers_run */
};

/* A timer not armed yet, calling `fn`. */
#define TIMER_INIT(fn) ((struct timer){.index = SIZE_MAX, .fire = (fn)})

/* A heap entry: the due time is kept beside the timer, so that ordering the heap reads
 * only the array (10,000 held jobs' timers, each in its own job, would otherwise cost a
 * cache miss per comparison). */
struct timer_slot {
    int64_t at_ms;
    struct timer *tm;
};

struct timers {
    struct timer_slot *heap; /* owned array of borrowed timers */
    size_t n, cap;
};

void timers_init(struct timers *t);
void timers_dispose(struct timers *t);

/* Arms `tm` for at_ms (re-arming moves it). The timer's memory is the caller's and must
 * stay valid while armed. Returns -1 when out of memory. */
int timers_arm(struct timers *t, struct timer *tm, int64_t at_ms);
void timers_disarm(struct timers *t, struct timer *tm);

/* The earliest armed timer, or NULL. */
struct timer *timers_peek(const struct timers *t);
/* Removes and returns the earliest timer due at `now_ms`, or NULL. */
struct timer *timers_pop_due(struct timers *t, int64_t now_ms);
/* Fires every timer due at `now_ms`, earliest first (a timer re-armed by its own call for
 * a later time waits for then). */
void timers_run(struct timers *t, int64_t now_ms);

#endif
