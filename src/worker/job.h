/* One generation being worked on by this worker: the part every job has (the claim, its
 * lease, progress, the video it ends with, how it ends), and the state of its kind: a remote
 * provider's HTTP exchange. Shared by worker.c (the loop thread), remote_job.c (the loop
 * thread) and local_job.c / finalize.c (pool threads). */
#ifndef VIDGEN_WORKER_JOB_H
#define VIDGEN_WORKER_JOB_H

#include <stdatomic.h>
#include <stdbool.h>

#include "media/probe.h"
#include "store/store.h"
#include "worker/remote_job.h"
#include "worker/timers.h"

struct worker;

/* The video a job ends with, and how its CPU work went. Written by the pool thread before
 * the job enters the inbox. */
struct job_output {
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
    struct timer poll;                     /* a held remote job's next poll (worker_hold) */
    bool held;                             /* claimed, between two polls: no transfer */
    bool waiting;                      /* held, its poll due while every transfer is taken: on the worker's wait list */
    struct job *wait_prev, *wait_next; /* that list's links */
    int slot, local_slot;              /* in the worker's arrays */
    int64_t deadline_ms;               /* fails as timed out after this */
    int64_t last_write_ms;             /* last progress write, for throttling */
    int written_progress;              /* last progress written to the store */
    atomic_int progress;               /* 0..100, written by the pool thread */
    atomic_bool cancel;                /* set by the loop thread: stop at the next frame */
    /* How the job ends, once known; kept until the store has it (end_retry). */
    bool ending;
    bool on_pool; /* a pool thread has it (render, finalize) until it comes back by the inbox */
    struct job_update end;
    char end_message[512];
    char end_provider_job_id[128];
    struct job_output out;
    struct remote_task remote; /* kind JOBS_REMOTE */
    struct job *next;          /* inbox link */
};

/* The local provider's task, run on a pool thread: renders the clip, probes it, makes the
 * thumbnail and moves both into place; then hands the job to the loop (worker_finished). */
void local_job_run(void *job);
/* About how many bytes local_job_run needs at its peak for `j` (for the pool's budget). */
size_t local_job_memory(const struct job *j);

/* The last step of a remote job, on a pool thread: probes the downloaded file (it must be a
 * video), makes the thumbnail and moves both into place, like a local render. */
void finalize_run(void *job);

/* Loop thread, for the kinds of job (worker.c). worker_update applies `u` under the job's
 * lease (VG_ERR_CONFLICT: the lease is lost). worker_end ends the job's claim with `u`
 * (completed, failed, cancelled, or released until u->next_run_at by JOB_WAIT / JOB_RETRY;
 * u->message is copied) and frees the job once the store has it. worker_finalize hands the
 * job's downloaded video to the pool (finalize_run). */
enum vg_err worker_update(struct worker *w, struct job *j, struct job_update *u);
/* worker_update that also takes the row written as j->g: only for a job no other thread
 * reads (a remote job on the loop thread). */
enum vg_err worker_update_row(struct worker *w, struct job *j, struct job_update *u);
/* Holding a remote job between polls instead of releasing it (the change to DESIGN §6 that
 * keeps the store out of each poll): worker_may_hold says whether a wait until `at` may be
 * spent holding the job (the worker is not stopping, the wait is at most half a lease, and
 * there is room); worker_hold then keeps it claimed until `at`, when remote_job_start runs
 * it again, its lease renewed with the others' in one write (or ends it at once when a
 * cancel was asked for). */
bool worker_may_hold(struct worker *w, const struct job *j, int64_t at);
void worker_hold(struct worker *w, struct job *j, int64_t at);
void worker_end(struct worker *w, struct job *j, const struct job_update *u);
void worker_finalize(struct worker *w, struct job *j);
CURLM *worker_multi(struct worker *w);
/* An easy handle with every option at its default (a spare one reset, or a new one); owned by
 * the caller until given back to worker_easy_done (taken out of the multi handle first),
 * which keeps it for the next or cleans it up. NULL when out of memory. For an `exchange`
 * (a submit or a poll, given back with exchange true), a handle an exchange left is taken
 * as it is, options and all (*ready set: the caller sets only what differs per request, as
 * curl's own idiom reuses handles), which saves the reset and the options every exchange
 * shares. */
CURL *worker_easy(struct worker *w, bool exchange, bool *ready);
void worker_easy_done(struct worker *w, CURL *e, bool exchange);
struct store *worker_store(struct worker *w);
/* The limits of remote provider `name` in this worker (never NULL for a remote provider
 * this build has). */
struct limit *worker_limit(struct worker *w, const char *name);
const struct config *worker_config(const struct worker *w);
struct image_link_key;
/* The key of the links providers fetch a generation's images by (core/image_link.h). */
const struct image_link_key *worker_link_key(const struct worker *w);
const struct catalog *worker_catalog(const struct worker *w);
/* The catalog route by which the job's model is served by its provider (j->g.provider);
 * NULL when the catalog no longer has it. Borrowed from the catalog. */
const struct catalog_route *worker_route(struct worker *w, const struct job *j);
/* The route's provider model string for the job: the image-to-video one when it has images. */
const char *worker_route_model(const struct catalog_route *r, const struct job *j);
/* How many attempts a generation gets on one route before it fails. */
int worker_max_attempts(const struct worker *w);

/* Pool thread → loop thread: the job's CPU work is over (see job->out.result). */
void worker_finished(struct job *j);
/* Pool thread → loop thread: progress changed. */
void worker_poke(struct worker *w);
/* The data directory (borrowed, lives as long as the worker). */
const char *worker_data_dir(const struct worker *w);

#endif
