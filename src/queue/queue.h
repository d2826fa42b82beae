/* The job queue: it only wakes workers. The database stays the source of truth (a worker
 * claims due generations from the store), so a lost or duplicated wake-up costs at most a
 * short delay, never a job. In-process today (local.c); Redis for several hosts later,
 * behind the same operations. */
#ifndef VIDGEN_QUEUE_QUEUE_H
#define VIDGEN_QUEUE_QUEUE_H

#include <stddef.h>

struct queue;

struct queue_ops {
    /* Announces a new or newly due generation. Any thread. */
    void (*push)(struct queue *q, const char *generation_id);
    /* Registers a wake-up callback (a worker); called from any thread on push. */
    int (*subscribe)(struct queue *q, void (*wake)(void *arg), void *arg);
    void (*unsubscribe)(struct queue *q, void (*wake)(void *arg), void *arg);
    void (*close)(struct queue *q);
};

struct queue {
    const struct queue_ops *ops;
};

/* Opens the queue for `redis_url` ("" = in-process). NULL with a message on failure. */
struct queue *queue_open(const char *redis_url, char *err, size_t errlen);

static inline void queue_push(struct queue *q, const char *generation_id)
{
    q->ops->push(q, generation_id);
}
static inline int queue_subscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    return q->ops->subscribe(q, wake, arg);
}
static inline void queue_unsubscribe(struct queue *q, void (*wake)(void *arg), void *arg)
{
    q->ops->unsubscribe(q, wake, arg);
}
static inline void queue_close(struct queue *q)
{
    if (q)
        q->ops->close(q);
}

#endif
