/* A small fixed pool of threads for CPU work (rendering, probing, thumbnailing), bounded
 * by the cores so CPU jobs never starve the event loops, and by memory: a 4K render holds
 * most of a gigabyte, so as many of them as there are cores could exhaust the machine.
 * Each task comes with an estimate of the memory it needs, and tasks start in the order
 * they were queued only while the estimates of those running stay within a budget; the
 * first task always starts, however large, so that no task waits forever. */
#ifndef VIDGEN_WORKER_POOL_H
#define VIDGEN_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct pool;

/* Starts `threads` threads sharing `memory_budget` bytes. NULL on failure. */
struct pool *pool_start(int threads, size_t memory_budget);

/* Queues fn(arg), which needs about `memory` bytes while it runs, to run on a pool thread.
 * The pool does not own `arg`. */
void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg, size_t memory);

/* Whether the next queued task waits for memory to be released: a caller deciding whether
 * to take on more work had better not while this holds. */
bool pool_waits_for_memory(struct pool *p);

/* Runs every queued task, then joins the threads and frees the pool. */
void pool_stop(struct pool *p);

/* The admission rule: whether a task needing `memory` bytes may start while `running`
 * tasks needing `admitted` bytes in all run, under `budget`. True when it fits, and always
 * when nothing runs. */
bool pool_admits(size_t budget, int running, size_t admitted, size_t memory);

#endif
