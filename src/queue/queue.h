/* The job queue: it only wakes workers. The database stays the source of truth (a worker
 * claims due generations from the store, and sweeps it on a timer), so a lost or duplicated
 * wake-up costs at most a short delay, never a job. In-process (local.c), or a Redis stream
 * shared by every process of several hosts (redis.c), behind the same operations. */
#ifndef VIDGEN_QUEUE_QUEUE_H
#define VIDGEN_QUEUE_QUEUE_H

#include <stddef.h>

struct queue;

enum queue_health { QUEUE_LOCAL, QUEUE_UP, QUEUE_DOWN };

struct queue_ops {
    /* Announces a new or newly due generation. Any thread. */
    void (*push)(struct queue *q, const char *generation_id);
    /* Registers a wake-up callback (a worker); called from any thread on push. */
    int (*subscribe)(struct queue *q, void (*wake)(void *arg), void *arg);
    void (*unsubscribe)(struct queue *q, void (*wake)(void *arg), void *arg);
    /* Any thread, never waits on the network: QUEUE_LOCAL, or whether Redis answered last
     * time (with the reason when it did not, in why[0..len)). */
    enum queue_health (*health)(struct queue *q, char *why, size_t len);
    /* Every subscriber has unsubscribed. */
    void (*close)(struct queue *q);
};

struct queue {
    const struct queue_ops *ops;
};

/* Opens the queue for `redis_url` ("" = in-process). NULL with a message on failure (a
 * malformed URL, out of memory); Redis being down is not a failure: the queue connects in
 * the background and says so in the log. The caller owns the queue (queue_close). */
struct queue *queue_open(const char *redis_url, char *err, size_t errlen);
/* The backends (queue.c dispatches). */
struct queue *queue_local_open(char *err, size_t errlen);
struct queue *queue_redis_open(const char *redis_url, char *err, size_t errlen);

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
static inline enum queue_health queue_health(struct queue *q, char *why, size_t len)
{
    return q->ops->health(q, why, len);
}
static inline void queue_close(struct queue *q)
{
    if (q)
        q->ops->close(q);
}

#endif
