#include "worker/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/allocator.h"

struct task {
    void (*fn)(void *arg);
    void *arg;
    size_t memory;
    struct task *next;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t ready; /* a task was queued, memory was released, or the pool stops */
    struct task *head, *tail;
    size_t budget, admitted; /* bytes: the budget, and the estimates of the running tasks */
    int running;
    bool stopping;
    int n;
    pthread_t threads[];
};

bool pool_admits(size_t budget, int running, size_t admitted, size_t memory)
{
    return running == 0 || (memory <= budget && admitted <= budget - memory);
}

/* The next task that may start, taken off the queue and admitted; NULL once the pool is
 * stopping and drained. Called with the lock held; waits. */
static struct task *next_task(struct pool *p)
{
    for (;;) {
        struct task *t = p->head;
        if (t != NULL && pool_admits(p->budget, p->running, p->admitted, t->memory)) {
            p->head = t->next;
            if (p->head == NULL)
                p->tail = NULL;
            p->admitted += t->memory;
            p->running++;
            return t;
        }
        if (t == NULL && p->stopping)
            return NULL;
        pthread_cond_wait(&p->ready, &p->lock);
    }
}

static void *pool_main(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->lock);
    struct task *t;
    while ((t = next_task(p)) != NULL) {
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&p->lock);
        p->admitted -= t->memory;
        p->running--;
        pthread_cond_broadcast(&p->ready); /* the head may fit now */
        free(t);
        if (p->head == NULL) { /* about to sit idle: FFmpeg's buffers go back to the system */
            pthread_mutex_unlock(&p->lock);
            allocator_give_back();
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct pool *pool_start(int threads, size_t memory_budget)
{
    struct pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->budget = memory_budget;
    for (; p->n < threads; p->n++)
        if (pthread_create(&p->threads[p->n], NULL, pool_main, p) != 0)
            break;
    if (p->n == 0) {
        pool_stop(p);
        return NULL;
    }
    return p;
}

void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg, size_t memory)
{
    struct task *t = malloc(sizeof *t);
    if (t == NULL)
        abort(); /* a lost task would lose a job's completion; nothing sane to do */
    t->fn = fn, t->arg = arg, t->memory = memory, t->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_broadcast(&p->ready); /* a thread that cannot take it must not eat the wake-up */
    pthread_mutex_unlock(&p->lock);
}

bool pool_waits_for_memory(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool waits = p->head != NULL && !pool_admits(p->budget, p->running, p->admitted, p->head->memory);
    pthread_mutex_unlock(&p->lock);
    return waits;
}

void pool_stop(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
