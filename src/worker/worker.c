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

#include "core/image_link.h"
#include "metrics/metrics.h"
#include "providers/registry.h"
#include "queue/queue.h"
#include "util/log.h"
#include "worker/cluster_limits.h"
#include "worker/job.h"
#include "worker/limits.h"
#include "worker/owner.h"
#include "worker/pool.h"
#include "worker/tmpfiles.h"

#define WORKER_MAX_WAIT_MS 5000      /* re-read the store at least this often (other processes) */
#define WORKER_IDLE_POLL_MS 1000     /* ... and this often when no queue wakes us */
#define WORKER_PROGRESS_EVERY_MS 250 /* progress writes per job, at most one per this */
#define WORKER_LOCAL_DEADLINE_MS (15 * 60 * 1000)

/* Remote jobs in an exchange at once (waiting on a provider costs no thread; the cap bounds
 * transfers and the store's work per loop turn). */
#define WORKER_MAX_REMOTE 1000
/* Easy handles kept for the next exchange (a new one costs an allocation of several KB,
 * zeroed, and its set-up). */
#define WORKER_EASY_SPARE WORKER_MAX_REMOTE
/* Remote jobs claimed at once, those held between polls included (about 6 KB each). */
#define WORKER_MAX_HELD 10000
#define WORKER_MAX_PROVIDERS 8 /* registered providers (providers/registry.c) */
/* A queue wake-up (a new job, a cancel, a callback) re-reads the held jobs' flags at most
 * this often. */
#define WORKER_LOOK_MS 200
/* A claim round that found nothing although the store said a job was due waits this long. */
#define WORKER_CLAIM_BACKOFF_MS 50
/* A final write the store could not take is tried again after this long. */
#define WORKER_END_RETRY_MS 1000
/* How long a stop waits for jobs under way to be handed back or ended. */
#define WORKER_STOP_MS 10000

struct worker {
    struct worker_config wc;
    char owner[STORE_LEASE_OWNER_MAX + 1]; /* worker/owner.h */
    uint64_t claims;                       /* claims made: each gets its own lease token */
    struct store *store;
    struct catalog catalog;                    /* the models' routes, for remote jobs */
    struct image_link_key link_key;            /* signs the links providers fetch images by */
    CURLM *multi;                              /* the loop's poller and every remote provider's transfer */
    struct limit limits[WORKER_MAX_PROVIDERS]; /* each remote provider's, by its index in the registry */
    struct cluster_limits *cluster;            /* with REDIS_URL: the limits shared by every worker */
    struct pool *pool;
    struct timers timers;
    pthread_t thread;
    atomic_bool stopping;
    pthread_mutex_t inbox_lock;
    struct job *inbox;    /* jobs whose CPU work is over, from pool threads */
    struct job **running; /* jobs this worker holds */
    int n_running, cap_running;
    struct job **locals; /* the local ones among them (progress to write) */
    int n_locals;
    int n_kind[2]; /* running jobs per enum job_kind */
    int n_held;    /* remote jobs held between polls (worker_hold) */
    /* Held jobs whose poll came due while every transfer was taken, oldest first: they start
     * as transfers end (start_waiting), after the claims of the same turn, and cost no store
     * write. */
    struct job *wait_head, *wait_tail;
    int64_t due_at;          /* when a claim may next find a job: the store's word, or our releases */
    struct timer beat_timer; /* this worker's heartbeat, which holds every remote job it claimed */
    int64_t beat_at;
    bool joined;                         /* its name is in the store's heartbeats: it may claim remote jobs */
    atomic_bool woken;                   /* a queue push came: jobs may be due, held ones flagged */
    CURL *easy_spare[WORKER_EASY_SPARE]; /* ended transfers' handles, for reuse (reset first) */
    int n_easy_spare;
    CURL *exchange_spare[WORKER_EASY_SPARE]; /* ended submits' and polls' handles, their options kept */
    int n_exchange_spare;
};

const char *worker_data_dir(const struct worker *w)
{
    return w->wc.cfg->data_dir;
}

CURLM *worker_multi(struct worker *w)
{
    return w->multi;
}

struct store *worker_store(struct worker *w)
{
    return w->store;
}

struct limit *worker_limit(struct worker *w, const char *name)
{
    for (size_t i = 0; i < provider_count(); i++)
        if (strcmp(provider_at(i)->name, name) == 0)
            return &w->limits[i];
    return &w->limits[0]; /* not reached: a remote job's provider is a registered one */
}

/* Every remote provider's limits from the configuration, shared by all of its jobs. */
static int init_limits(struct worker *w, char *err, size_t errlen)
{
    if (provider_count() > WORKER_MAX_PROVIDERS)
        return snprintf(err, errlen, "this build registers more providers than the worker has limits for"), -1;
    if (w->wc.cfg->redis_url[0] != '\0' &&
        (w->cluster = cluster_limits_open(w->wc.cfg->redis_url, err, errlen)) == NULL)
        return -1;
    for (size_t i = 0; i < provider_count(); i++) {
        const struct provider_limits *pl = provider_limits_of(provider_at(i), w->wc.cfg);
        if (pl != NULL)
            limit_init(&w->limits[i], pl, clock_now_ms());
        if (pl != NULL && w->cluster != NULL)
            limit_share(&w->limits[i], w->cluster, provider_at(i)->name, w->wc.lease_ms);
    }
    return 0;
}

/* With shared limits, a remote job's claim ends: a job still at its provider keeps its slot
 * until a lease past its next turn (whoever claims it then renews it); one that left (ended,
 * moved to another provider, or back to waiting at vidgen, "queued") frees it. */
static void share_end(struct worker *w, const struct job *j, const struct job_update *u)
{
    int64_t now = clock_now_ms();
    if (w->cluster == NULL || j->kind != JOBS_REMOTE)
        return;
    bool waits = (u->outcome == JOB_WAIT || u->outcome == JOB_RETRY) && !(u->phase && strcmp(u->phase, "queued") == 0);
    const char *provider = j->g.provider, *id = j->g.id;
    if (waits)
        cluster_limits_extend(w->cluster, 1, &provider, &id,
                              (u->next_run_at > now ? u->next_run_at - now : 0) + w->wc.lease_ms, now);
    else
        cluster_limits_release(w->cluster, j->g.provider, j->g.id, now);
}

/* With shared limits: the slots of this worker's remote jobs at their providers are kept
 * for another lease, with the beat that holds the jobs. */
static void share_renew(struct worker *w, int64_t now)
{
    int n = w->n_kind[JOBS_REMOTE], k = 0;
    const char **providers = w->cluster && n > 0 ? calloc((size_t)n, sizeof *providers) : NULL;
    const char **ids = providers ? calloc((size_t)n, sizeof *ids) : NULL;
    for (int i = 0; ids && i < w->n_running; i++)
        if (w->running[i]->kind == JOBS_REMOTE) {
            const struct job *j = w->running[i];
            providers[k] = j->g.provider, ids[k++] = j->g.id;
        }
    if (k > 0)
        cluster_limits_extend(w->cluster, k, providers, ids, w->wc.lease_ms, now);
    free(ids);
    free(providers);
}

const struct config *worker_config(const struct worker *w)
{
    return w->wc.cfg;
}

int worker_max_attempts(const struct worker *w)
{
    return w->wc.max_attempts;
}

const struct catalog_route *worker_route(struct worker *w, const struct job *j)
{
    const struct catalog_model *m = catalog_find(worker_catalog(w), j->g.model_id);
    for (int i = 0; m != NULL && i < m->n_routes; i++)
        if (strcmp(m->routes[i].provider, j->g.provider) == 0)
            return &m->routes[i];
    return NULL;
}

const char *worker_route_model(const struct catalog_route *r, const struct job *j)
{
    bool images = j->g.start_image != NULL || j->g.end_image != NULL;
    return images && r->image_model[0] ? r->image_model : r->model;
}

const struct image_link_key *worker_link_key(const struct worker *w)
{
    return &w->link_key;
}

const struct catalog *worker_catalog(const struct worker *w)
{
    return &w->catalog;
}

CURL *worker_easy(struct worker *w, bool exchange, bool *ready)
{
    *ready = false;
    if (exchange && w->n_exchange_spare > 0) {
        *ready = true; /* as an exchange left it: its next exchange sets what differs */
        return w->exchange_spare[--w->n_exchange_spare];
    }
    if (w->n_easy_spare == 0 && w->n_exchange_spare > 0) /* a download takes an exchange's spare */
        w->easy_spare[w->n_easy_spare++] = w->exchange_spare[--w->n_exchange_spare];
    if (w->n_easy_spare == 0)
        return curl_easy_init();
    CURL *e = w->easy_spare[--w->n_easy_spare];
    curl_easy_reset(e); /* every option back to its default; connections stay with the multi handle */
    return e;
}

void worker_easy_done(struct worker *w, CURL *e, bool exchange)
{
    if (exchange && w->n_exchange_spare < WORKER_EASY_SPARE)
        w->exchange_spare[w->n_exchange_spare++] = e;
    else if (!exchange && w->n_easy_spare < WORKER_EASY_SPARE)
        w->easy_spare[w->n_easy_spare++] = e;
    else
        curl_easy_cleanup(e);
}

void worker_poke(struct worker *w)
{
    curl_multi_wakeup(w->multi);
}

static void on_queue_push(void *arg)
{
    struct worker *w = arg;
    atomic_store(&w->woken, true);
    worker_poke(w);
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

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether `g`, as a wait between polls left it, shows nothing new: a job already at its
 * provider was processing before this claim, and its phase and progress did not move. */
static bool unseen_wait(const struct job *j, const struct job_update *u, const struct generation *g)
{
    return u->outcome == JOB_WAIT && j->g.provider_job_id != NULL && same_text(g->status, j->g.status) &&
           same_text(g->phase, j->g.phase) && g->progress == j->g.progress &&
           g->cancel_requested == j->g.cancel_requested;
}

/* Applies `u` to the job's generation under its lease and tells on_change. Returns the
 * store's verdict: VG_ERR_CONFLICT when the lease is lost, another error when the store
 * could not take the write (it may take it later). */
static enum vg_err update(struct worker *w, struct job *j, struct job_update *u, bool take_row)
{
    struct vg_error err;
    struct generation g;
    if (u->outcome == JOB_RUNNING)
        u->lease_ms = w->wc.lease_ms; /* every write under the lease renews it */
    enum vg_err e = store_job_update(w->store, j->g.id, j->lease, u, &g, &err);
    if (e != VG_OK) {
        if (e == VG_ERR_CONFLICT)
            log_gen(LOG_WARN, j->g.id, "worker: generation %s: lease lost; another worker has it", j->g.id);
        else
            log_gen(LOG_ERROR, j->g.id, "worker: generation %s: %s", j->g.id, err.message);
        return e;
    }
    if (u->outcome == JOB_COMPLETED || u->outcome == JOB_FAILED || u->outcome == JOB_CANCELLED)
        metrics_generation_ended(g.model_id, g.provider, g.status);
    else if (u->outcome == JOB_RETRY || u->outcome == JOB_REROUTE)
        metrics_provider_retry(j->g.provider, u->outcome == JOB_REROUTE);
    if (w->wc.on_change && !unseen_wait(j, u, &g))
        w->wc.on_change(&g, w->wc.arg);
    j->g.cancel_requested = g.cancel_requested;
    if (take_row) {
        generation_free(&j->g);
        j->g = g;
    } else
        generation_free(&g);
    return VG_OK;
}

enum vg_err worker_update(struct worker *w, struct job *j, struct job_update *u)
{
    return update(w, j, u, false);
}

enum vg_err worker_update_row(struct worker *w, struct job *j, struct job_update *u)
{
    return update(w, j, u, true);
}

static void wait_remove(struct worker *w, struct job *j)
{
    *(j->wait_prev ? &j->wait_prev->wait_next : &w->wait_head) = j->wait_next;
    *(j->wait_next ? &j->wait_next->wait_prev : &w->wait_tail) = j->wait_prev;
    j->wait_prev = j->wait_next = NULL;
    j->waiting = false;
}

static void unhold(struct worker *w, struct job *j)
{
    if (!j->held)
        return;
    if (j->waiting)
        wait_remove(w, j);
    else
        timers_disarm(&w->timers, &j->poll);
    j->held = false;
    w->n_held--;
}

static bool can_claim(struct worker *w, enum job_kind kind);

/* The next due time was asked for the kinds with room only (refresh_due): a remote kind
 * that was full and has room again must ask again. A local job's end may also free the
 * pool's memory, so it always asks. */
static void room_made(struct worker *w, enum job_kind kind, bool was_full)
{
    if (kind == JOBS_LOCAL || (was_full && can_claim(w, kind)))
        w->due_at = 0;
}

/* Drops the job from this worker (its end written, or its lease lost). */
static void forget(struct worker *w, struct job *j)
{
    bool was_full = !can_claim(w, j->kind);
    w->running[j->slot] = w->running[--w->n_running];
    w->running[j->slot]->slot = j->slot;
    if (j->kind == JOBS_LOCAL) {
        w->locals[j->local_slot] = w->locals[--w->n_locals];
        w->locals[j->local_slot]->local_slot = j->local_slot;
    }
    w->n_kind[j->kind]--;
    unhold(w, j);
    room_made(w, j->kind, was_full);
    remote_task_release(w, j);
    timers_disarm(&w->timers, &j->renew);
    timers_disarm(&w->timers, &j->end_retry);
    generation_free(&j->g);
    free(j);
}

/* Writes the job's end. A store that cannot take it now (busy, a passing error) gets it
 * again later, the lease still renewed: the job is over and must not run again. */
static void write_end(struct worker *w, struct job *j, int64_t now)
{
    enum vg_err e = worker_update(w, j, &j->end);
    if (e == VG_OK || e == VG_ERR_CONFLICT)
        return forget(w, j);
    timers_arm(&w->timers, &j->end_retry, now + WORKER_END_RETRY_MS);
}

static void on_end_retry(struct timer *t, int64_t now)
{
    struct job *j = (struct job *)((char *)t - offsetof(struct job, end_retry));
    write_end(j->w, j, now);
}

void worker_end(struct worker *w, struct job *j, const struct job_update *u)
{
    j->ending = true;
    j->end = *u;
    j->end.progress = u->outcome == JOB_WAIT ? u->progress : -1;
    if (u->message) { /* copied: the write may be retried after the caller's strings are gone */
        snprintf(j->end_message, sizeof j->end_message, "%s", u->message);
        j->end.message = j->end_message;
    }
    if (u->provider_job_id) {
        snprintf(j->end_provider_job_id, sizeof j->end_provider_job_id, "%s", u->provider_job_id);
        j->end.provider_job_id = j->end_provider_job_id;
    }
    if (u->outcome == JOB_FAILED)
        log_gen(LOG_WARN, j->g.id, "worker: generation %s failed: %s", j->g.id, u->message);
    if ((u->outcome == JOB_WAIT || u->outcome == JOB_RETRY || u->outcome == JOB_REROUTE) && u->next_run_at < w->due_at)
        w->due_at = u->next_run_at; /* ours: no need to ask the store when it is due (a reroute: now) */
    share_end(w, j, u);
    write_end(w, j, clock_now_ms());
}

/* Ends a job that never reached the pool, or whose result is in. */
static void end_job(struct worker *w, struct job *j, enum job_outcome outcome, const char *message)
{
    struct job_output *t = &j->out;
    struct job_update u = {
        .outcome = outcome, .progress = -1, .message = message, .http_status = (int)j->remote.status};
    if (outcome == JOB_COMPLETED) {
        u.output_path = t->output_rel, u.thumbnail_path = t->thumbnail_rel;
        u.video_width = t->info.width, u.video_height = t->info.height;
        u.video_seconds = t->info.seconds;
    }
    if (outcome == JOB_WAIT)
        u.next_run_at = clock_now_ms(); /* handed back: due at once for the next worker */
    worker_end(w, j, &u);
}

/* Ends a job the user cancelled that is on no pool thread and not held. */
static void cancel_job(struct worker *w, struct job *j)
{
    if (j->kind == JOBS_REMOTE)
        return remote_job_cancel(w, j);
    end_job(w, j, JOB_CANCELLED, "cancelled");
}

void worker_finalize(struct worker *w, struct job *j)
{
    j->on_pool = true;
    pool_submit(w->pool, finalize_run, j, 0);
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
        return cancel_job(w, j);
    if (j->g.attempts >= w->wc.max_attempts) {
        snprintf(why, sizeof why, "gave up after %d attempts", w->wc.max_attempts);
        return end_job(w, j, JOB_FAILED, why);
    }
    if (p == NULL) {
        snprintf(why, sizeof why, "the %s provider cannot run generations in this build", j->g.provider);
        return end_job(w, j, JOB_FAILED, why);
    }
    if (p->kind == PROVIDER_HTTP) /* held under the worker's heartbeat (beat_worker) */
        return remote_job_start(w, j);
    renew_soon(w, j, now);
    const struct catalog_route *route = worker_route(w, j);
    struct job_update u = {.outcome = JOB_RUNNING,
                           .lease_ms = w->wc.lease_ms,
                           .progress = 0,
                           .phase = "rendering",
                           .attempt_model = route ? worker_route_model(route, j) : "?"};
    if (worker_update(w, j, &u) != VG_OK)
        return forget(w, j); /* lost, or the store is failing: the lease runs out and it comes back */
    j->deadline_ms = now + WORKER_LOCAL_DEADLINE_MS;
    j->last_write_ms = now;
    j->on_pool = true;
    pool_submit(w->pool, local_job_run, j, local_job_memory(j));
}

/* Whether a transfer is free: the jobs claimed and not held are the ones in a transfer (or
 * ending, or on the pool). */
static bool transfer_free(const struct worker *w)
{
    return w->n_kind[JOBS_REMOTE] - w->n_held < WORKER_MAX_REMOTE;
}

/* Whether there is room for another job of `kind`: for local ones a pool thread, and no job
 * already waiting for memory (one claimed now would only wait too, holding a lease another
 * worker could use). */
static bool can_claim(struct worker *w, enum job_kind kind)
{
    if (atomic_load(&w->stopping))
        return false;
    if (kind == JOBS_LOCAL)
        return w->n_kind[JOBS_LOCAL] < w->wc.cpu_threads && !pool_waits_for_memory(w->pool);
    return w->joined && w->n_kind[JOBS_REMOTE] - w->n_held < WORKER_MAX_REMOTE &&
           w->n_kind[JOBS_REMOTE] < WORKER_MAX_HELD;
}

static void heartbeat(struct timer *t, int64_t now);
static void on_poll_due(struct timer *t, int64_t now);

/* Claims one due generation of `kind` and starts it; false when there was none. */
static bool claim_one(struct worker *w, enum job_kind kind)
{
    struct vg_error err;
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return false;
    /* The owner name leaves room for the count (worker/owner.h); a cut token would still be
     * this claim's alone, but keep it whole. */
    if (snprintf(j->lease, sizeof j->lease, "%s:%llu", w->owner, (unsigned long long)++w->claims) >=
        (int)sizeof j->lease) {
        free(j);
        return false;
    }
    const char *holder = kind == JOBS_REMOTE ? w->owner : NULL; /* held while this worker beats */
    enum vg_err e = store_job_claim(w->store, j->lease, holder, w->wc.lease_ms, kind, &j->g, &err);
    if (e != VG_OK) {
        if (e != VG_ERR_NOT_FOUND)
            log_warn("worker: claim: %s", err.message);
        free(j);
        return false;
    }
    j->w = w;
    j->kind = kind;
    j->remote.fd = -1;
    j->renew = TIMER_INIT(heartbeat);
    j->end_retry = TIMER_INIT(on_end_retry);
    j->poll = TIMER_INIT(on_poll_due);
    j->slot = w->n_running;
    w->running[w->n_running++] = j;
    if (kind == JOBS_LOCAL) {
        j->local_slot = w->n_locals;
        w->locals[w->n_locals++] = j;
    }
    w->n_kind[kind]++;
    if (j->g.provider_job_id == NULL) /* a poll's claim is routine: thousands a minute */
        log_gen(LOG_INFO, j->g.id, "worker: generation %s (%s, attempt %d) claimed", j->g.id, j->g.model_id,
                j->g.attempts + 1);
    else
        log_gen(LOG_DEBUG, j->g.id, "worker: generation %s (%s) claimed to poll", j->g.id, j->g.model_id);
    start_job(w, j);
    return true;
}

/* The kinds there is room for, as a mask of JOB_KIND_BIT. */
static unsigned kinds_with_room(struct worker *w)
{
    unsigned kinds = 0;
    for (enum job_kind k = JOBS_LOCAL; k <= JOBS_REMOTE; k++)
        if (can_claim(w, k))
            kinds |= JOB_KIND_BIT(k);
    return kinds;
}

/* Asks the store when the next job of a kind there is room for is due; at the latest the
 * bound on a wait, so that other processes' work is seen. Only the kinds with room: a full
 * kind's due rows would make the loop spin. */
static void refresh_due(struct worker *w, int64_t now)
{
    struct vg_error err;
    unsigned kinds = kinds_with_room(w);
    int64_t due = 0;
    w->due_at = now + (w->wc.queue ? WORKER_MAX_WAIT_MS : WORKER_IDLE_POLL_MS);
    if (kinds && store_job_next_due(w->store, kinds, &due, &err) == VG_OK && due > 0 && due < w->due_at)
        w->due_at = due > now ? due : now + WORKER_CLAIM_BACKOFF_MS; /* due, yet not claimed: the store is busy */
}

/* Claims due generations of each kind while there is room for them; the store is asked
 * only when a job may be due (due_at), not on every turn of the loop. */
static void claim_jobs(struct worker *w, int64_t now)
{
    if (now < w->due_at)
        return;
    for (enum job_kind k = JOBS_LOCAL; k <= JOBS_REMOTE; k++)
        while (can_claim(w, k) && claim_one(w, k))
            ;
    refresh_due(w, clock_now_ms());
}

/* Writes progress and renews the lease; asks the render to stop when the user cancelled,
 * the deadline passed or the lease is lost. A store that cannot take the write now is asked
 * again at the next beat: the lease has two more before it runs out. */
static void beat(struct worker *w, struct job *j, int64_t now)
{
    int progress = j->ending ? -1 : atomic_load(&j->progress);
    struct job_update u = {.outcome = JOB_RUNNING, .lease_ms = w->wc.lease_ms, .progress = progress};
    enum vg_err e = worker_update(w, j, &u);
    if (e == VG_ERR_CONFLICT) {
        atomic_store(&j->cancel, true); /* the lease is gone: stop working on it */
        return;
    }
    if (e == VG_OK && progress >= 0)
        j->written_progress = progress;
    j->last_write_ms = now;
    if (j->g.cancel_requested || now > j->deadline_ms)
        atomic_store(&j->cancel, true);
    renew_soon(w, j, now);
}

static void heartbeat(struct timer *t, int64_t now)
{
    struct job *j = (struct job *)((char *)t - offsetof(struct job, renew));
    beat(j->w, j, now);
}

/* Progress writes between lease renewals, at most one per WORKER_PROGRESS_EVERY_MS. */
static void write_progress(struct worker *w, int64_t now)
{
    for (int i = 0; i < w->n_locals; i++) {
        struct job *j = w->locals[i];
        if (!j->ending && atomic_load(&j->progress) != j->written_progress &&
            now - j->last_write_ms >= WORKER_PROGRESS_EVERY_MS)
            beat(w, j, now);
    }
}

static void finish(struct worker *w, struct job *j)
{
    struct job_output *t = &j->out;
    if (t->result == 0)
        end_job(w, j, JOB_COMPLETED, NULL);
    else if (t->result < 0)
        end_job(w, j, JOB_FAILED, t->error);
    else if (j->g.cancel_requested)
        end_job(w, j, JOB_CANCELLED, "cancelled by the user");
    else if (clock_now_ms() > j->deadline_ms)
        end_job(w, j, JOB_FAILED, "timed out");
    else /* stopped because this worker is stopping: hand it back, no attempt spent */
        end_job(w, j, JOB_WAIT, NULL);
}

static void drain_inbox(struct worker *w)
{
    pthread_mutex_lock(&w->inbox_lock);
    struct job *j = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->inbox_lock);
    while (j) {
        struct job *next = j->next;
        j->on_pool = false;
        finish(w, j);
        j = next;
    }
}

/* Moves the remote transfers on and hands each one that ended to its job. */
static void run_transfers(struct worker *w)
{
    int running, left;
    CURLMsg *m;
    curl_multi_perform(w->multi, &running);
    while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        struct job *j = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        remote_job_done(w, j, m->data.result);
    }
}

/* How long the loop may sleep: until the next timer, the next due generation, or a
 * throttled progress write, bounded so other processes' work is seen. */
static int wait_ms(struct worker *w, int64_t now)
{
    int64_t until = now + (w->wc.queue ? WORKER_MAX_WAIT_MS : WORKER_IDLE_POLL_MS);
    struct timer *t = timers_peek(&w->timers);
    if (t && t->at_ms < until)
        until = t->at_ms;
    if (w->due_at < until)
        until = w->due_at;
    if (w->wait_head != NULL && transfer_free(w))
        until = now; /* a transfer ended: a waiting poll starts */
    for (int i = 0; i < w->n_locals; i++) {
        struct job *j = w->locals[i];
        if (!j->ending && atomic_load(&j->progress) != j->written_progress &&
            j->last_write_ms + WORKER_PROGRESS_EVERY_MS < until)
            until = j->last_write_ms + WORKER_PROGRESS_EVERY_MS;
    }
    return until <= now ? 0 : (int)(until - now);
}

/* --- remote jobs held between polls ------------------------------------------------------
 *
 * DESIGN §6 had a job waiting on a provider release its lease, which made every poll a
 * claim and a release (two transactions). A remote job whose next poll falls within half a
 * lease now stays claimed on the loop's timer. Every remote job this worker claims is held
 * under its heartbeat (store.h, worker_beat): one write every third of a lease keeps them
 * all, however many, and brings their cancels and callbacks. It used to renew each job's
 * lease, one statement rewriting every held row (57 ms for 10,000 jobs). A longer wait
 * releases the job as before. A killed worker's beat lapses; the next worker's round reaps
 * its jobs, which come back as expired leases do. */

bool worker_may_hold(struct worker *w, const struct job *j, int64_t at)
{
    (void)j;
    return !atomic_load(&w->stopping) && at - clock_now_ms() <= w->wc.lease_ms / 2 &&
           w->n_kind[JOBS_REMOTE] <= WORKER_MAX_HELD;
}

void worker_hold(struct worker *w, struct job *j, int64_t at)
{
    if (j->g.cancel_requested)
        return cancel_job(w, j);
    if (timers_arm(&w->timers, &j->poll, at) != 0) { /* out of memory: released until then, as before */
        struct job_update u = {.outcome = JOB_WAIT, .next_run_at = at, .progress = -1};
        return worker_end(w, j, &u);
    }
    bool was_full = !can_claim(w, JOBS_REMOTE);
    j->held = true;
    w->n_held++;
    room_made(w, JOBS_REMOTE, was_full); /* a transfer's room */
}

/* A held job's next poll is due: the same start as a claim's, when a transfer may begin.
 * When every transfer is taken, the job stays held and waits on the wait list for a
 * transfer to end. It used to be handed back to the store, due at once, and claimed again:
 * two writes per poll, and after a burst of submits a cycle in which the claims of
 * handed-back jobs kept the transfers full, so that the next due polls were handed back in
 * turn. Claims still go first (start_waiting runs after claim_jobs), as the store's order
 * put them before a handed-back job: a generation not yet submitted was due before it. A
 * steady flood of new jobs cannot hold the polls back for long: claims stop once
 * WORKER_MAX_HELD remote jobs are claimed. */
static void on_poll_due(struct timer *t, int64_t now)
{
    struct job *j = (struct job *)((char *)t - offsetof(struct job, poll));
    struct worker *w = j->w;
    (void)now;
    if (!transfer_free(w) && !j->g.cancel_requested) {
        j->waiting = true;
        j->wait_prev = w->wait_tail, j->wait_next = NULL;
        *(w->wait_tail ? &w->wait_tail->wait_next : &w->wait_head) = j;
        w->wait_tail = j;
        return;
    }
    j->held = false;
    w->n_held--;
    if (j->g.cancel_requested)
        return cancel_job(w, j);
    remote_job_start(w, j);
}

/* Starts the waiting held jobs' polls, oldest first, while transfers are free. */
static void start_waiting(struct worker *w)
{
    while (w->wait_head != NULL && transfer_free(w)) {
        struct job *j = w->wait_head;
        unhold(w, j);
        if (j->g.cancel_requested)
            cancel_job(w, j);
        else
            remote_job_start(w, j);
    }
}

/* A remote job that may be another worker's now: dropped (a job on the pool is stopped, and
 * its end is refused). */
static void lost(struct worker *w, struct job *j)
{
    log_gen(LOG_WARN, j->g.id, "worker: generation %s: lease lost; another worker may have it", j->g.id);
    if (j->on_pool)
        atomic_store(&j->cancel, true); /* comes back by the inbox; its end is refused */
    else
        forget(w, j);
}

/* What the beat brought for one job: a cancel or a provider's callback. */
static void told(struct worker *w, struct job *j, const struct job_news *n)
{
    j->g.cancel_requested |= n->cancel_requested;
    if (j->held && j->g.cancel_requested) {
        unhold(w, j);
        cancel_job(w, j);
    } else if (j->held && n->webhook_woken) {
        unhold(w, j);
        end_job(w, j, JOB_WAIT, NULL); /* the release makes it due now and clears the mark */
    }
}

static int news_by_id(const void *a, const void *b)
{
    return strcmp(((const struct job_news *)a)->id, ((const struct job_news *)b)->id);
}

/* Hands each remote job its news, if it has some. */
static void hand_news(struct worker *w, struct job_news_list *news)
{
    if (news->n == 0) /* the usual beat: no news, and no array to sort */
        return;
    qsort(news->items, news->n, sizeof *news->items, news_by_id);
    for (int i = w->n_running - 1; i >= 0; i--) {
        struct job *j = w->running[i];
        struct job_news key, *n;
        if (j->kind != JOBS_REMOTE)
            continue;
        memcpy(key.id, j->g.id, sizeof key.id);
        if ((n = bsearch(&key, news->items, news->n, sizeof *news->items, news_by_id)) != NULL)
            told(w, j, n); /* may forget j: the scan goes down, so the slot it refills was seen */
    }
}

/* The beat lapsed (this worker stalled past a lease, or the store was away as long): every
 * remote job may be another worker's. They are dropped, and the worker joins anew under a
 * new name, which its next claims carry. */
static void lapsed(struct worker *w)
{
    log_warn("worker: the heartbeat of %s lapsed; its %d remote jobs are left to other workers", w->owner,
             w->n_kind[JOBS_REMOTE]);
    for (int i = w->n_running - 1; i >= 0; i--)
        if (w->running[i]->kind == JOBS_REMOTE)
            lost(w, w->running[i]);
    w->joined = false;
    owner_new(w->owner);
}

/* Keeps this worker's beat alive and hands out the news it brings. A store that cannot take
 * the beat now is asked again at the next one: the jobs have two more before their holder is
 * taken for dead. */
static void keep_alive(struct worker *w, int64_t now)
{
    struct vg_error err;
    struct job_news_list news = {0};
    enum vg_err e = store_worker_beat(w->store, w->owner, w->wc.lease_ms, &news, &err);
    if (e == VG_ERR_CONFLICT)
        lapsed(w);
    else if (e != VG_OK)
        log_warn("worker: cannot beat: %s", err.message);
    else {
        share_renew(w, now);
        hand_news(w, &news);
    }
    job_news_list_free(&news);
}

/* Enters this worker's name; remote claims wait until it is in. */
static void join(struct worker *w)
{
    struct vg_error err;
    if (store_worker_join(w->store, w->owner, w->wc.lease_ms, &err) != VG_OK)
        return log_warn("worker: cannot join as %s: %s", w->owner, err.message);
    w->joined = true;
    w->due_at = 0;
}

/* Hands the jobs of workers whose beats lapsed to the next claims. */
static void reap(struct worker *w)
{
    struct vg_error err;
    long reaped = 0;
    if (store_workers_reap(w->store, &reaped, &err) != VG_OK)
        return log_warn("worker: cannot reap lapsed workers: %s", err.message);
    if (reaped > 0) {
        log_info("worker: %ld generations of workers that stopped are due again", reaped);
        w->due_at = 0;
    }
}

/* Every third of a lease: beat (or join, first and after a lapse), then reap. */
static void beat_worker(struct worker *w, int64_t now)
{
    w->beat_at = now;
    timers_arm(&w->timers, &w->beat_timer, now + w->wc.lease_ms / 3);
    if (w->joined)
        keep_alive(w, now);
    if (!w->joined) /* never joined, or its beat just lapsed */
        join(w);
    reap(w);
}

static void on_beat(struct timer *t, int64_t now)
{
    beat_worker((struct worker *)((char *)t - offsetof(struct worker, beat_timer)), now);
}

/* A queue push: a job may be due, and a held one may have been cancelled or called back. */
static void on_woken(struct worker *w, int64_t now)
{
    if (!atomic_exchange(&w->woken, false))
        return;
    w->due_at = 0;
    int64_t at = w->beat_at + WORKER_LOOK_MS;
    if (w->n_held > 0 && at < w->beat_timer.at_ms)
        timers_arm(&w->timers, &w->beat_timer, at > now ? at : now);
}

/* Hands back every held job until its next poll, so that the next worker takes it then. */
static void release_held(struct worker *w)
{
    for (int i = w->n_running - 1; i >= 0; i--) {
        struct job *j = w->running[i];
        if (!j->held)
            continue;
        struct job_update u = {.outcome = JOB_WAIT, .next_run_at = j->poll.at_ms, .progress = -1};
        unhold(w, j);
        worker_end(w, j, &u);
    }
}

/* Graceful stop: stop every render, let the exchanges with providers under way end (a
 * submit cut short would leave its job in doubt), wait for the pool to hand the jobs back and
 * for their ends to be written. What is still open after WORKER_STOP_MS is left to its lease's
 * expiry; the store keeps every job. */
static void wind_down(struct worker *w)
{
    int64_t give_up = clock_now_ms() + WORKER_STOP_MS;
    release_held(w);
    for (int i = 0; i < w->n_running; i++)
        atomic_store(&w->running[i]->cancel, true);
    while (w->n_running > 0 && clock_now_ms() < give_up) {
        drain_inbox(w);
        run_transfers(w);
        timers_run(&w->timers, clock_now_ms());
        if (w->n_running > 0)
            curl_multi_poll(w->multi, NULL, 0, 100, NULL);
    }
    /* Past the bound, what is not on the pool is let go unwritten (cut transfers, ends the
     * store would not take): the leases run out and the jobs come back. Work on the pool
     * stops at its next check and is waited for: its threads hold the jobs. */
    for (int i = w->n_running - 1; i >= 0; i--)
        if (!w->running[i]->on_pool)
            forget(w, w->running[i]);
    while (w->n_running > 0) {
        drain_inbox(w);
        for (int i = w->n_running - 1; i >= 0; i--)
            if (!w->running[i]->on_pool)
                forget(w, w->running[i]);
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
        on_woken(w, now);
        timers_run(&w->timers, now);
        write_progress(w, now);
        claim_jobs(w, clock_now_ms());
        start_waiting(w);
        /* After the steps that start transfers (a held job's poll, a claim's submit): curl
         * sends their requests in this turn, not in one more trip through curl_multi_poll. */
        run_transfers(w);
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
    while (w->n_easy_spare > 0)
        curl_easy_cleanup(w->easy_spare[--w->n_easy_spare]);
    while (w->n_exchange_spare > 0)
        curl_easy_cleanup(w->exchange_spare[--w->n_exchange_spare]);
    if (w->multi)
        curl_multi_cleanup(w->multi);
    store_close(w->store);
    cluster_limits_close(w->cluster);
    catalog_free(&w->catalog);
    timers_dispose(&w->timers);
    pthread_mutex_destroy(&w->inbox_lock);
    free(w->running);
    free(w->locals);
    free(w);
}

struct worker *worker_start(const struct worker_config *wc, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    w->wc = *wc;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread uses curl (idempotent) */
    owner_new(w->owner);
    pthread_mutex_init(&w->inbox_lock, NULL);
    timers_init(&w->timers);
    if (make_dir(wc->cfg->data_dir, "videos", err, errlen) || make_dir(wc->cfg->data_dir, "thumbnails", err, errlen) ||
        make_dir(wc->cfg->data_dir, "tmp", err, errlen))
        goto fail;
    if ((w->store = store_open(wc->cfg->database_url, err, errlen)) == NULL ||
        catalog_load(wc->cfg->catalog_path, &w->catalog, err, errlen) != 0 ||
        image_link_key_load(wc->cfg->data_dir, &w->link_key, err, errlen) != 0 || init_limits(w, err, errlen) != 0)
        goto fail;
    tmpfiles_clean(wc->cfg->data_dir, w->store);
    w->cap_running = wc->cpu_threads + WORKER_MAX_HELD + 1;
    w->running = calloc(w->cap_running, sizeof *w->running);
    w->locals = calloc(wc->cpu_threads + 1, sizeof *w->locals);
    w->beat_timer = TIMER_INIT(on_beat);
    beat_worker(w, clock_now_ms()); /* joins, on this thread before the loop's starts */
    w->multi = curl_multi_init();
    /* curl's connection cache holds by default 4 connections per transfer under way: after a
     * burst of submits, as the transfers end, it closed idle connections one per transfer
     * that ended, and polls opened new ones (a TCP and, with a real provider, a TLS handshake
     * each). It keeps as many as the transfers this loop allows at once; curl closes one
     * that stays idle for two minutes (CURLOPT_MAXAGE_CONN). */
    if (w->multi != NULL)
        curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)WORKER_MAX_REMOTE);
    w->pool = pool_start(wc->cpu_threads, render_memory_budget());
    if (w->running == NULL || w->locals == NULL || w->multi == NULL || w->pool == NULL) {
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
