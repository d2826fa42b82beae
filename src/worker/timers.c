#include "worker/timers.h"

#include <stdlib.h>

void timers_init(struct timers *t)
{
    t->heap = NULL, t->n = t->cap = 0;
}

void timers_dispose(struct timers *t)
{
    for (size_t i = 0; i < t->n; i++)
        t->heap[i].tm->index = SIZE_MAX;
    free(t->heap);
    timers_init(t);
}

static void place(struct timers *t, size_t i, struct timer_slot slot)
{
    t->heap[i] = slot;
    slot.tm->index = i;
}

/* A 4-ary heap: half the depth of a binary one. Each level moved writes the index into a
 * timer that lives in its job, a cache miss with 10,000 jobs held; the four children
 * compared at each level share one cache line of the array. */
#define ARITY 4

static void sift_up(struct timers *t, size_t i)
{
    struct timer_slot slot = t->heap[i];
    while (i > 0 && t->heap[(i - 1) / ARITY].at_ms > slot.at_ms) {
        place(t, i, t->heap[(i - 1) / ARITY]);
        i = (i - 1) / ARITY;
    }
    place(t, i, slot);
}

static void sift_down(struct timers *t, size_t i)
{
    struct timer_slot slot = t->heap[i];
    for (;;) {
        size_t first = ARITY * i + 1, c = first;
        if (first >= t->n)
            break;
        for (size_t k = first + 1; k < first + ARITY && k < t->n; k++)
            if (t->heap[k].at_ms < t->heap[c].at_ms)
                c = k;
        if (t->heap[c].at_ms >= slot.at_ms)
            break;
        place(t, i, t->heap[c]);
        i = c;
    }
    place(t, i, slot);
}

void timers_disarm(struct timers *t, struct timer *tm)
{
    size_t i = tm->index;
    if (i >= t->n || t->heap[i].tm != tm)
        return;
    tm->index = SIZE_MAX;
    struct timer_slot last = t->heap[--t->n];
    if (i == t->n)
        return;
    place(t, i, last);
    sift_up(t, i);
    sift_down(t, last.tm->index);
}

int timers_arm(struct timers *t, struct timer *tm, int64_t at_ms)
{
    timers_disarm(t, tm);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct timer_slot *h = realloc(t->heap, cap * sizeof *h);
        if (h == NULL)
            return -1;
        t->heap = h, t->cap = cap;
    }
    tm->at_ms = at_ms;
    place(t, t->n++, (struct timer_slot){at_ms, tm});
    sift_up(t, t->n - 1);
    return 0;
}

struct timer *timers_peek(const struct timers *t)
{
    return t->n ? t->heap[0].tm : NULL;
}

struct timer *timers_pop_due(struct timers *t, int64_t now_ms)
{
    if (t->n == 0 || t->heap[0].at_ms > now_ms)
        return NULL;
    struct timer *tm = t->heap[0].tm;
    timers_disarm(t, tm);
    return tm;
}

void timers_run(struct timers *t, int64_t now_ms)
{
    struct timer *tm;
    while ((tm = timers_pop_due(t, now_ms)) != NULL)
        tm->fire(tm, now_ms);
}
