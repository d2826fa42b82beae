/* One generation being worked on by this worker: the part every job has (the claim, its
 * lease, progress, how it ends), and the state of its kind — today the local provider's
 * render task. Shared by worker.c (the loop thread) and local_job.c (a pool thread). */
#ifndef VIDGEN_WORKER_JOB_H
#define VIDGEN_WORKER_JOB_H

#include <stdatomic.h>
#include <stdbool.h>

#include "media/probe.h"
#include "store/store.h"
#include "worker/timers.h"

struct worker;

/* The local provider's task. Written by the pool thread before the job enters the inbox. */
struct local_task {
    int result; /* 0 done, 1 stopped (cancel, deadline or shutdown), -1 failed */
    char error[512];
    struct media_info info;
    char output_rel[96], thumbnail_rel[96]; /* relative to the data dir */
};

struct job {
    struct generation g; /* as claimed; owned (generation_free) */
    struct worker *w;
    enum job_kind kind;
    char lease[STORE_LEASE_OWNER_MAX + 1]; /* this claim's token: every write names it */
    struct timer renew;                    /* lease renewal and progress */
    struct timer end_retry;                /* the final write, again, after a store error */
    int64_t deadline_ms;                   /* fails as timed out after this */
    int64_t last_write_ms;                 /* last progress write, for throttling */
    int written_progress;                  /* last progress written to the store */
    atomic_int progress;                   /* 0..100, written by the pool thread */
    atomic_bool cancel;                    /* set by the loop thread: stop at the next frame */
    /* How the job ends, once known; kept until the store has it (end_retry). */
    bool ending;
    struct job_update end;
    char end_message[512];
    union {
        struct local_task local;
    } task;
    struct job *next; /* inbox link */
};

/* The local provider's task, run on a pool thread: renders the clip, probes it, makes the
 * thumbnail and moves both into place; then hands the job to the loop (worker_finished). */
void local_job_run(void *job);
/* About how many bytes local_job_run needs at its peak for `j` (for the pool's budget). */
size_t local_job_memory(const struct job *j);

/* Pool thread → loop thread: the job's CPU work is over (see job->task.local.result). */
void worker_finished(struct job *j);
/* Pool thread → loop thread: progress changed. */
void worker_poke(struct worker *w);
/* The data directory (borrowed, lives as long as the worker). */
const char *worker_data_dir(const struct worker *w);

#endif
