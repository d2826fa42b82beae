#include "util/heap_trim.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct heap_trim {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC */
    bool stopping;       /* under lock */
};

static void *trim_main(void *arg)
{
    struct heap_trim *t = arg;
    pthread_setname_np(pthread_self(), "heap-trim"); /* bench/remote.py tells threads apart */
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_sec += HEAP_TRIM_EVERY_MS / 1000;
        at.tv_nsec += (long)(HEAP_TRIM_EVERY_MS % 1000) * 1000000L;
        if (at.tv_nsec >= 1000000000L)
            at.tv_sec++, at.tv_nsec -= 1000000000L;
        if (pthread_cond_timedwait(&t->wake, &t->lock, &at) != ETIMEDOUT)
            continue;
        pthread_mutex_unlock(&t->lock);
        if (mallinfo2().fordblks > HEAP_TRIM_FREE_BYTES)
            malloc_trim(0);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

struct heap_trim *heap_trim_start(void)
{
    struct heap_trim *t = calloc(1, sizeof *t);
    pthread_condattr_t ca;
    if (t == NULL)
        return NULL;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->lock, NULL);
    if (pthread_create(&t->thread, NULL, trim_main, t) != 0) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    return t;
}

void heap_trim_stop(struct heap_trim *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
