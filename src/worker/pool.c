#include "worker/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct task {
    void (*fn)(void *arg);
    void *arg;
    struct task *next;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct task *head, *tail;
    bool stopping;
    int n;
    pthread_t threads[];
};

static void *pool_main(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->ready, &p->lock);
        struct task *t = p->head;
        if (t == NULL) { /* stopping and drained */
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        free(t);
    }
}

struct pool *pool_start(int threads)
{
    struct pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    for (; p->n < threads; p->n++)
        if (pthread_create(&p->threads[p->n], NULL, pool_main, p) != 0)
            break;
    if (p->n == 0) {
        pool_stop(p);
        return NULL;
    }
    return p;
}

void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg)
{
    struct task *t = malloc(sizeof *t);
    if (t == NULL)
        abort(); /* a lost task would lose a job's completion; nothing sane to do */
    t->fn = fn, t->arg = arg, t->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
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
