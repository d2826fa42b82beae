/* The worker: takes generations from the store and drives each to a terminal state.
 *
 * One thread runs the event loop: a libcurl multi handle (remote providers' requests,
 * added as those providers land) and a timer heap, waking on queue pushes and on results
 * from the CPU pool. CPU work (the local renderer, probing, thumbnails) runs on a small
 * pool bounded by the cores and by memory (pool.h). The loop thread alone writes job state
 * to the store.
 *
 * The lease protocol: a worker claims a due generation with a lease (owner, expiry); every
 * write is conditional on still holding the lease. A local job's lease is renewed every third
 * of its length while it renders. Remote jobs are held under the worker's heartbeat instead
 * (store.h, worker_beat): one write every third of a lease keeps all of them, also while held
 * between polls. A worker that dies stops renewing and beating, its leases expire (a lapsed
 * beat's jobs are reaped into expired leases), and any worker claims those generations again
 * — so a kill -9 at any moment loses no job.
 * Charging happened when the generation was created; refunds are at most once per generation (the store enforces it),
 * so a retried job is never charged or refunded twice. */
#ifndef VIDGEN_WORKER_WORKER_H
#define VIDGEN_WORKER_WORKER_H

#include <stdint.h>

#include "config.h"
#include "store/store.h"

struct queue;

struct worker_config {
    const struct config *cfg; /* borrowed; outlives the worker */
    struct queue *queue;      /* wakes the worker; may be NULL (then it polls the store) */
    int cpu_threads;          /* pool size for rendering; >= 1 */
    int64_t lease_ms;         /* lease length; renewed every lease_ms / 3 */
    int max_attempts;         /* claims before a generation fails for good */
    /* Called on the worker thread after every change of a generation's status or
     * progress (live status fan-out). May be NULL. `g` is valid during the call only. */
    void (*on_change)(const struct generation *g, void *arg);
    void *arg;
};

struct worker;

/* Starts the loop thread and the pool. NULL with a message on failure. */
struct worker *worker_start(const struct worker_config *wc, char *err, size_t errlen);

/* Stops claiming, stops running jobs and hands their leases back (so the next start takes
 * them up at once), joins the threads and frees the worker. */
void worker_stop(struct worker *w);

#endif
