/* The worker's timer heap: timers come out in time order, whatever order they went in,
 * and re-arming or disarming keeps the order. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "worker/timers.h"

Test(timers, pop_in_time_order_with_rearm_and_disarm)
{
    enum { N = 500 };
    static struct timer t[N];
    struct timers heap;
    timers_init(&heap);
    srand(7);
    for (int i = 0; i < N; i++) {
        t[i].index = SIZE_MAX;
        cr_assert_eq(timers_arm(&heap, &t[i], rand() % 10000), 0);
    }
    for (int i = 0; i < N; i += 3) /* move some, drop some */
        timers_arm(&heap, &t[i], rand() % 10000);
    for (int i = 1; i < N; i += 5)
        timers_disarm(&heap, &t[i]);
    int64_t last = -1;
    size_t popped = 0;
    struct timer *x;
    while ((x = timers_pop_due(&heap, 10000)) != NULL) {
        cr_assert_geq(x->at_ms, last, "out of order: %lld after %lld", (long long)x->at_ms, (long long)last);
        last = x->at_ms;
        popped++;
        for (int i = 1; i < N; i += 5)
            cr_assert_neq(x, &t[i], "a disarmed timer fired");
    }
    cr_expect_eq(popped, N - N / 5);
    timers_dispose(&heap);
}

Test(timers, nothing_fires_early)
{
    struct timers heap;
    struct timer a = {.index = SIZE_MAX}, b = {.index = SIZE_MAX};
    timers_init(&heap);
    timers_arm(&heap, &a, 100);
    timers_arm(&heap, &b, 50);
    cr_expect_null(timers_pop_due(&heap, 49));
    cr_expect_eq(timers_peek(&heap), &b);
    cr_expect_eq(timers_pop_due(&heap, 50), &b);
    cr_expect_null(timers_pop_due(&heap, 99));
    cr_expect_eq(timers_pop_due(&heap, 1000), &a);
    cr_expect_null(timers_peek(&heap));
    timers_dispose(&heap);
}

/* Many timers, as 10,000 held jobs arm (a poll and a lease renewal each), moved and dropped
 * at random positions: every armed one fires once, in time order, and each knows its place. */
Test(timers, a_large_heap_keeps_order_through_random_moves)
{
    enum { N = 20000 };
    static struct timer t[N];
    static bool armed[N];
    struct timers heap;
    timers_init(&heap);
    srand(11);
    for (int i = 0; i < N; i++) {
        t[i].index = SIZE_MAX;
        cr_assert_eq(timers_arm(&heap, &t[i], rand() % 100000), 0);
        armed[i] = true;
    }
    for (int k = 0; k < 3 * N; k++) {
        int i = rand() % N;
        if (rand() % 4 == 0) {
            timers_disarm(&heap, &t[i]);
            armed[i] = false;
        } else {
            cr_assert_eq(timers_arm(&heap, &t[i], rand() % 100000), 0);
            armed[i] = true;
        }
    }
    size_t expected = 0;
    for (int i = 0; i < N; i++) {
        expected += armed[i];
        if (armed[i])
            cr_assert_eq(heap.heap[t[i].index].tm, &t[i], "timer %d lost its place", i);
    }
    cr_assert_eq(heap.n, expected);
    int64_t last = -1;
    struct timer *x;
    size_t popped = 0;
    while ((x = timers_pop_due(&heap, 100000)) != NULL) {
        cr_assert_geq(x->at_ms, last, "out of order: %lld after %lld", (long long)x->at_ms, (long long)last);
        cr_assert(armed[x - t], "a disarmed timer fired");
        armed[x - t] = false;
        last = x->at_ms;
        popped++;
    }
    cr_expect_eq(popped, expected);
    timers_dispose(&heap);
}
