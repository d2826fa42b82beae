/* The worker's loop thread: claim, start, renew, finish. See worker.h for the lease
 * protocol. */
#include "worker/worker.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/registry.h"
#include "queue/queue.h"
#include "util/log.h"
#include "worker/job.h"
#include "worker/owner.h"
#include "worker/pool.h"
#include "worker/tmpfiles.h"

#define WORKER_MAX_WAIT_MS 5000      /* re-read the store at least this often (other processes) */
#define WORKER_IDLE_POLL_MS 1000     /* ... and this often when no queue wakes us */
#define WORKER_PROGRESS_EVERY_MS 250 /* progress writes per job, at most one per this */
#define WORKER_LOCAL_DEADLINE_MS (15 * 60 * 1000)

struct worker {
    struct worker_config wc;
    char owner[STORE_LEASE_OWNER_MAX + 1]; /* worker/owner.h */
    struct store *store;
    CURLM *multi; /* the loop's poller; remote providers' transfers join it */
    struct pool *pool;
    struct timers timers;
    pthread_t thread;
    atomic_bool stopping;
    pthread_mutex_t inbox_lock;
    struct job *inbox;    /* jobs whose CPU work is over, from pool threads */
    struct job **running; /* jobs this worker holds */
    int n_running;
};

const char *worker_data_dir(const struct worker *w)
{
    return w->wc.cfg->data_dir;
}

void worker_poke(struct worker *w)
{
    curl_multi_wakeup(w->multi);
}

static void on_queue_push(void *arg)
{
    worker_poke(arg);
}

void worker_finished(struct job *j)
{
    struct worker *w = j->w;
    pthread_mutex_lock(&w->inbox_lock);
    j->next = w->inbox;
    w->inbox = j;
    pthread_mutex_unlock(&w->inbox_lock);
    worker_poke(w);
}

/* Applies `u` to the job's generation and tells on_change. Returns the store's verdict. */
static enum vg_err update(struct worker *w, struct job *j, struct job_update *u)
{
    struct vg_error err;
    struct generation g;
    enum vg_err e = store_job_update(w->store, j->g.id, w->owner, u, &g, &err);
    if (e != VG_OK) {
        if (e == VG_ERR_CONFLICT)
            log_warn("worker: generation %s: lease lost; another worker has it", j->g.id);
        else
            log_error("worker: generation %s: %s", j->g.id, err.message);
        return e;
    }
    if (w->wc.on_change)
        w->wc.on_change(&g, w->wc.arg);
    j->g.cancel_requested = g.cancel_requested;
    generation_free(&g);
    return VG_OK;
}

static void forget(struct worker *w, struct job *j)
{
    for (int i = 0; i < w->n_running; i++)
        if (w->running[i] == j) {
            w->running[i] = w->running[--w->n_running];
            break;
        }
    timers_disarm(&w->timers, &j->renew);
    generation_free(&j->g);
    free(j);
}

/* Ends a job that never reached the pool, or whose result is in. */
static void end_job(struct worker *w, struct job *j, enum job_outcome outcome, const char *message)
{
    struct job_update u = {.outcome = outcome, .progress = -1, .message = message};
    if (outcome == JOB_COMPLETED) {
        u.output_path = j->output_rel, u.thumbnail_path = j->thumbnail_rel;
        u.video_width = j->info.width, u.video_height = j->info.height, u.video_seconds = j->info.seconds;
    }
    if (outcome == JOB_FAILED)
        log_warn("worker: generation %s failed: %s", j->g.id, message);
    update(w, j, &u);
    forget(w, j);
}

static void renew_soon(struct worker *w, struct job *j, int64_t now)
{
    timers_arm(&w->timers, &j->renew, now + w->wc.lease_ms / 3);
}

/* Decides what to do with a freshly claimed generation. */
static void start_job(struct worker *w, struct job *j)
{
    const struct provider *p = provider_find(j->g.provider);
    char why[300];
    int64_t now = clock_now_ms();
    if (j->g.cancel_requested)
        return end_job(w, j, JOB_CANCELLED, "cancelled");
    if (j->g.attempts > w->wc.max_attempts) {
        snprintf(why, sizeof why, "gave up after %d attempts", w->wc.max_attempts);
        return end_job(w, j, JOB_FAILED, why);
    }
    if (p == NULL || p->kind != PROVIDER_LOCAL) {
        snprintf(why, sizeof why, "the %s provider cannot run generations in this build", j->g.provider);
        return end_job(w, j, JOB_FAILED, why);
    }
    struct job_update u = {.outcome = JOB_RUNNING, .lease_ms = w->wc.lease_ms, .progress = 0, .phase = "rendering"};
    if (update(w, j, &u) != VG_OK)
        return forget(w, j);
    j->deadline_ms = now + WORKER_LOCAL_DEADLINE_MS;
    j->last_write_ms = now;
    renew_soon(w, j, now);
    pool_submit(w->pool, local_job_run, j, local_job_memory(j));
}

/* Whether there is room on the pool for another job: a thread, and no job already waiting
 * for memory (one claimed now would only wait too, holding a lease another worker could use). */
static bool can_claim(struct worker *w)
{
    return w->n_running < w->wc.cpu_threads && !pool_waits_for_memory(w->pool);
}

/* Claims due generations while there is room on the pool. */
static void claim_jobs(struct worker *w)
{
    struct vg_error err;
    while (can_claim(w) && !atomic_load(&w->stopping)) {
        struct job *j = calloc(1, sizeof *j);
        if (j == NULL)
            return;
        enum vg_err e = store_job_claim(w->store, w->owner, w->wc.lease_ms, &j->g, &err);
        if (e != VG_OK) {
            if (e != VG_ERR_NOT_FOUND)
                log_warn("worker: claim: %s", err.message);
            free(j);
            return;
        }
        j->w = w;
        j->renew.index = SIZE_MAX;
        w->running[w->n_running++] = j;
        log_info("worker: generation %s (%s, attempt %d) claimed", j->g.id, j->g.model_id, j->g.attempts);
        start_job(w, j);
    }
}

/* Writes progress and renews the lease; asks the render to stop when the user cancelled
 * or the deadline passed. */
static void heartbeat(struct worker *w, struct job *j, int64_t now)
{
    int progress = atomic_load(&j->progress);
    struct job_update u = {.outcome = JOB_RUNNING, .lease_ms = w->wc.lease_ms, .progress = progress};
    if (update(w, j, &u) != VG_OK) {
        atomic_store(&j->cancel, true); /* the lease is gone: stop working on it */
        return;
    }
    j->written_progress = progress;
    j->last_write_ms = now;
    if (j->g.cancel_requested || now > j->deadline_ms)
        atomic_store(&j->cancel, true);
    renew_soon(w, j, now);
}

static void run_timers(struct worker *w, int64_t now)
{
    struct timer *t;
    while ((t = timers_pop_due(&w->timers, now)) != NULL) {
        struct job *j = (struct job *)((char *)t - offsetof(struct job, renew));
        heartbeat(w, j, now);
    }
    for (int i = 0; i < w->n_running; i++) {
        struct job *j = w->running[i];
        if (atomic_load(&j->progress) != j->written_progress && now - j->last_write_ms >= WORKER_PROGRESS_EVERY_MS)
            heartbeat(w, j, now);
    }
}

static void finish(struct worker *w, struct job *j)
{
    if (j->result == 0)
        end_job(w, j, JOB_COMPLETED, NULL);
    else if (j->result < 0)
        end_job(w, j, JOB_FAILED, j->error);
    else if (j->g.cancel_requested)
        end_job(w, j, JOB_CANCELLED, "cancelled by the user");
    else if (clock_now_ms() > j->deadline_ms)
        end_job(w, j, JOB_FAILED, "timed out");
    else /* stopped because this worker is stopping: hand it back for the next one */
        end_job(w, j, JOB_RETRY, NULL);
}

static void drain_inbox(struct worker *w)
{
    pthread_mutex_lock(&w->inbox_lock);
    struct job *j = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->inbox_lock);
    while (j) {
        struct job *next = j->next;
        finish(w, j);
        j = next;
    }
}

/* How long the loop may sleep: until the next timer, the next due generation, or a
 * throttled progress write, bounded so other processes' work is seen. */
static int wait_ms(struct worker *w, int64_t now)
{
    int64_t until = now + (w->wc.queue ? WORKER_MAX_WAIT_MS : WORKER_IDLE_POLL_MS), due = 0;
    struct timer *t = timers_peek(&w->timers);
    struct vg_error err;
    if (t && t->at_ms < until)
        until = t->at_ms;
    if (can_claim(w) && store_job_next_due(w->store, &due, &err) == VG_OK && due > 0 && due < until)
        until = due;
    for (int i = 0; i < w->n_running; i++)
        if (atomic_load(&w->running[i]->progress) != w->running[i]->written_progress &&
            w->running[i]->last_write_ms + WORKER_PROGRESS_EVERY_MS < until)
            until = w->running[i]->last_write_ms + WORKER_PROGRESS_EVERY_MS;
    return until <= now ? 0 : (int)(until - now);
}

/* Graceful stop: stop every render, wait for the pool to hand the jobs back, release them. */
static void wind_down(struct worker *w)
{
    for (int i = 0; i < w->n_running; i++)
        atomic_store(&w->running[i]->cancel, true);
    while (w->n_running > 0) {
        drain_inbox(w);
        if (w->n_running > 0)
            curl_multi_poll(w->multi, NULL, 0, 100, NULL);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(&w->stopping)) {
        drain_inbox(w);
        int64_t now = clock_now_ms();
        run_timers(w, now);
        claim_jobs(w);
        curl_multi_poll(w->multi, NULL, 0, wait_ms(w, clock_now_ms()), NULL);
    }
    wind_down(w);
    return NULL;
}

static int make_dir(const char *base, const char *sub, char *err, size_t errlen)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", base, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno)), -1;
    return 0;
}

/* Half the physical memory for renders running at once; the rest stays for the HTTP side,
 * the page cache and other processes. */
static size_t render_memory_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0)
        return SIZE_MAX; /* unknown: the cores alone bound renders */
    return (size_t)pages * (size_t)page_size / 2;
}

static void free_worker(struct worker *w)
{
    if (w->pool)
        pool_stop(w->pool);
    if (w->multi)
        curl_multi_cleanup(w->multi);
    store_close(w->store);
    timers_dispose(&w->timers);
    pthread_mutex_destroy(&w->inbox_lock);
    free(w->running);
    free(w);
}

struct worker *worker_start(const struct worker_config *wc, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    w->wc = *wc;
    owner_new(w->owner);
    pthread_mutex_init(&w->inbox_lock, NULL);
    timers_init(&w->timers);
    if (make_dir(wc->cfg->data_dir, "videos", err, errlen) || make_dir(wc->cfg->data_dir, "thumbnails", err, errlen) ||
        make_dir(wc->cfg->data_dir, "tmp", err, errlen))
        goto fail;
    if ((w->store = store_open(wc->cfg->database_url, err, errlen)) == NULL)
        goto fail;
    tmpfiles_clean(wc->cfg->data_dir, w->store);
    w->running = calloc(wc->cpu_threads, sizeof *w->running);
    w->multi = curl_multi_init();
    w->pool = pool_start(wc->cpu_threads, render_memory_budget());
    if (w->running == NULL || w->multi == NULL || w->pool == NULL) {
        snprintf(err, errlen, "cannot start the worker's threads");
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        goto fail;
    }
    if (wc->queue)
        queue_subscribe(wc->queue, on_queue_push, w);
    log_info("worker: started as %s with %d render thread%s and %zu MB for renders at once", w->owner, wc->cpu_threads,
             wc->cpu_threads == 1 ? "" : "s", render_memory_budget() >> 20);
    return w;
fail:
    free_worker(w);
    return NULL;
}

void worker_stop(struct worker *w)
{
    if (w->wc.queue)
        queue_unsubscribe(w->wc.queue, on_queue_push, w);
    atomic_store(&w->stopping, true);
    worker_poke(w);
    pthread_join(w->thread, NULL);
    free_worker(w);
    log_info("worker: stopped");
}
