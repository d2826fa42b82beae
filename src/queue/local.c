/* The in-process queue: a push calls every subscribed worker's wake-up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "queue/queue.h"

#define LOCAL_MAX_SUBSCRIBERS 16

struct local_queue {
    struct queue base;
    pthread_mutex_t lock;
    struct {
        void (*wake)(void *arg);
        void *arg;
    } subs[LOCAL_MAX_SUBSCRIBERS];
    int n;
};

static void local_push(struct queue *q, const char *generation_id)
{
    struct local_queue *lq = (struct local_queue *)q;
    (void)generation_id; /* workers claim from the store; the id is only a hint */
    pthread_mutex_lock(&lq->lock);
    for (int i = 0; i < lq->n; i++)
        lq->subs[i].wake(lq->subs[i].arg);
    pthread_mutex_unlock(&lq->lock);
}

static int local_subscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    struct local_queue *lq = (struct local_queue *)q;
    int rc = -1;
    pthread_mutex_lock(&lq->lock);
    if (lq->n < LOCAL_MAX_SUBSCRIBERS) {
        lq->subs[lq->n].wake = wake, lq->subs[lq->n].arg = arg, lq->n++;
        rc = 0;
    }
    pthread_mutex_unlock(&lq->lock);
    return rc;
}

static void local_unsubscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    struct local_queue *lq = (struct local_queue *)q;
    pthread_mutex_lock(&lq->lock);
    for (int i = 0; i < lq->n; i++)
        if (lq->subs[i].wake == wake && lq->subs[i].arg == arg) {
            lq->subs[i] = lq->subs[--lq->n];
            break;
        }
    pthread_mutex_unlock(&lq->lock);
}

static void local_close(struct queue *q)
{
    struct local_queue *lq = (struct local_queue *)q;
    pthread_mutex_destroy(&lq->lock);
    free(lq);
}

static enum queue_health local_health(struct queue *q, char *why, size_t len)
{
    (void)q, (void)why, (void)len;
    return QUEUE_LOCAL;
}

static const struct queue_ops local_ops = {local_push, local_subscribe, local_unsubscribe, local_health, local_close};

struct queue *queue_local_open(char *err, size_t errlen)
{
    struct local_queue *lq = calloc(1, sizeof *lq);
    if (lq == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    lq->base.ops = &local_ops;
    pthread_mutex_init(&lq->lock, NULL);
    return &lq->base;
}
