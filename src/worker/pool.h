/* A small fixed pool of threads for CPU work (rendering, probing, thumbnailing), bounded
 * by the cores so CPU jobs never starve the event loops. */
#ifndef VIDGEN_WORKER_POOL_H
#define VIDGEN_WORKER_POOL_H

struct pool;

/* Starts `threads` threads. NULL on failure. */
struct pool *pool_start(int threads);

/* Queues fn(arg) to run on a pool thread. The pool does not own `arg`. */
void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg);

/* Runs every queued task, then joins the threads and frees the pool. */
void pool_stop(struct pool *p);

#endif
