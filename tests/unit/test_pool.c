/* The CPU pool's admission by memory: the rule, and real threads held to it. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "media/render.h"
#include "worker/pool.h"

#define MB (1024u * 1024u)

Test(pool, the_admission_rule)
{
    const struct {
        size_t budget;
        int running;
        size_t admitted, memory;
        bool admits;
    } cases[] = {
        {100, 0, 0, 60, true},   /* fits */
        {100, 1, 60, 40, true},  /* fits exactly */
        {100, 1, 60, 41, false}, /* would pass the budget */
        {100, 0, 0, 500, true},  /* larger than the whole budget, but nothing runs */
        {100, 1, 500, 1, false}, /* ... and then nothing more starts beside it */
        {100, 1, 0, 101, false}, /* something runs (an estimate of 0): no exception */
        {100, 2, 100, 0, true},  /* a task that needs nothing always fits */
        {SIZE_MAX, 3, SIZE_MAX - 1, 1, true},
        {SIZE_MAX, 3, SIZE_MAX - 1, 2, false}, /* no overflow */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(pool_admits(cases[i].budget, cases[i].running, cases[i].admitted, cases[i].memory),
                     cases[i].admits, "case %zu", i);
}

Test(pool, a_4k_render_is_estimated_near_what_it_was_measured_at)
{
    size_t k4 = media_render_memory(3840, 2160, 2), hd = media_render_memory(1280, 720, 2);
    cr_expect(k4 > 780 * MB && k4 < 900 * MB, "4K on 2 cores: %zu MB (measured 828 MB)", k4 / MB);
    cr_expect(hd > 90 * MB && hd < 140 * MB, "720p on 2 cores: %zu MB (measured 109 MB)", hd / MB);
    cr_expect(media_render_memory(3840, 2160, 8) > k4, "more cores, more frames in flight");
}

/* Tasks that hold until the gate opens, counting how many run at once. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int running, most, done;
    bool open;
};

static void held_task(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    if (++g->running > g->most)
        g->most = g->running;
    pthread_cond_broadcast(&g->changed);
    while (!g->open)
        pthread_cond_wait(&g->changed, &g->lock);
    g->running--, g->done++;
    pthread_mutex_unlock(&g->lock);
}

/* Waits up to `ms` for `n` tasks to run at once; returns how many do. */
static int wait_running(struct gate *g, int n, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&g->lock);
    while (g->running < n && pthread_cond_timedwait(&g->changed, &g->lock, &until) == 0)
        ;
    int running = g->running;
    pthread_mutex_unlock(&g->lock);
    return running;
}

static void open_gate(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

/* Four threads, a budget of 100, five held tasks of `memory` each: `fit` of them start,
 * no more, until they end. Returns how many ran at once. */
static int most_at_once(size_t memory, int fit)
{
    struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    struct pool *p = pool_start(4, 100);
    cr_assert_not_null(p);
    for (int i = 0; i < 5; i++)
        pool_submit(p, held_task, &g, memory);
    cr_expect_eq(wait_running(&g, fit, 2000), fit, "%zu bytes each", memory);
    cr_expect_eq(wait_running(&g, fit + 1, 200), fit, "%zu bytes each: more started than fit", memory);
    cr_expect_eq(pool_waits_for_memory(p), fit < 4, "%zu bytes each", memory);
    open_gate(&g);
    pool_stop(p); /* runs what is queued */
    cr_expect_eq(g.done, 5);
    return g.most;
}

Test(pool, renders_start_only_while_their_estimates_fit_the_budget)
{
    cr_expect_eq(most_at_once(60, 1), 1, "two of 60 do not fit in 100");
    cr_expect_eq(most_at_once(30, 3), 3, "three of 30 do");
    cr_expect_eq(most_at_once(250, 1), 1, "one larger than the budget still runs, alone");
    cr_expect_eq(most_at_once(10, 4), 4, "then the threads are the bound");
}
