/* The store conformance test: the rules every backend of store/store.h keeps, checked through
 * the store API alone against the database at VIDGEN_TEST_DATABASE_URL (`make
 * store-conformance` runs it on a fresh SQLite file and on a private PostgreSQL).
 *
 * The tests share that database and run one at a time (--jobs 1): each makes its own users,
 * and the ones that claim jobs first end every job still due (drain), so that what they claim
 * is theirs. Threads stand for workers and API servers: each has its own store, as each
 * process or thread of vidgen does. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_admin.h"

#define LEASE_MS 60000

static struct store *open_store(void)
{
    const char *url = getenv("VIDGEN_TEST_DATABASE_URL");
    if (url == NULL || url[0] == '\0')
        cr_skip_test("VIDGEN_TEST_DATABASE_URL is not set (make store-conformance sets it)");
    char err[512];
    struct vg_error e;
    struct store *s = store_open(url, err, sizeof err);
    cr_assert_not_null(s, "store_open(%s): %s", url, err);
    cr_assert_eq(store_migrate(s, NULL, &e), VG_OK, "migrate: %s", e.message);
    return s;
}

/* A new user with `credits` and a project of theirs; names are unique across runs. */
static void new_user(struct store *s, long credits, struct user *u, char project[ID_LEN + 1])
{
    static int n;
    char name[STORE_NAME_MAX + 1];
    struct vg_error e;
    struct project p;
    snprintf(name, sizeof name, "c%ld_%d_%d", (long)time(NULL) % 100000, (int)getpid(), n++);
    cr_assert_eq(store_user_create(s, name, false, credits, u, &e), VG_OK, "user_create: %s", e.message);
    cr_assert_eq(store_project_create(s, u->id, "conformance", NULL, &p, &e), VG_OK, "%s", e.message);
    memcpy(project, p.id, ID_LEN + 1);
    project_free(&p);
}

static struct generation_new gen_request(const char *user, const char *project, const char *provider, long credits)
{
    return (struct generation_new){
        .user_id = user,
        .project_id = project,
        .provider = provider,
        .model_id = strcmp(provider, "local") == 0 ? "local-preview" : "some-model",
        .model_name = "Conformance",
        .prompt = "a test",
        .resolution = "720p",
        .aspect_ratio = "16:9",
        .duration = 2,
        .credits = credits,
    };
}

/* A new generation (charged `credits`): its id in `id`. */
static void new_generation(struct store *s, const char *user, const char *project, const char *provider, long credits,
                           char id[ID_LEN + 1])
{
    struct generation_new in = gen_request(user, project, provider, credits);
    struct generation g;
    struct vg_error e;
    bool replayed;
    cr_assert_eq(store_generation_create(s, &in, &g, &replayed, &e), VG_OK, "generation_create: %s", e.message);
    memcpy(id, g.id, ID_LEN + 1);
    generation_free(&g);
}

static long balance(struct store *s, const char *user)
{
    struct user u;
    struct vg_error e;
    long sum;
    cr_assert_eq(store_user_by_id(s, user, &u, &e), VG_OK, "%s", e.message);
    cr_assert_eq(store_ledger_sum(s, user, &sum, &e), VG_OK, "%s", e.message);
    cr_assert_eq(u.balance, sum, "balance %ld != ledger sum %ld", u.balance, sum);
    cr_assert_geq(u.balance, 0);
    return u.balance;
}

static struct generation get(struct store *s, const char *user, const char *id)
{
    struct generation g;
    struct vg_error e;
    cr_assert_eq(store_generation_get(s, user, id, &g, &e), VG_OK, "%s", e.message);
    return g;
}

static enum vg_err update(struct store *s, const char *id, const char *owner, struct job_update u)
{
    struct generation g;
    struct vg_error e;
    enum vg_err r = store_job_update(s, id, owner, &u, &g, &e);
    if (r == VG_OK)
        generation_free(&g);
    return r;
}

/* Ends every job that is due now (left by earlier tests), so a test claims only its own. */
static void drain(struct store *s)
{
    for (enum job_kind k = JOBS_LOCAL; k <= JOBS_REMOTE; k++) {
        struct generation g;
        struct vg_error e;
        while (store_job_claim(s, "drain", NULL, LEASE_MS, k, &g, &e) == VG_OK) {
            char id[ID_LEN + 1];
            memcpy(id, g.id, sizeof id);
            generation_free(&g);
            cr_assert_eq(update(s, id, "drain", (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
        }
    }
}

static int ledger_rows(struct store *s, const char *user, const char *gen, const char *kind)
{
    struct ledger_list l;
    struct vg_error e;
    cr_assert_eq(store_ledger_page(s, user, 0, 100, &l, &e), VG_OK, "%s", e.message);
    int n = 0;
    for (size_t i = 0; i < l.n; i++)
        n += strcmp(l.items[i].generation_id, gen) == 0 && strcmp(l.items[i].kind, kind) == 0;
    ledger_list_free(&l);
    return n;
}

/* ---- the ledger ---------------------------------------------------------------------- */

Test(ledger, a_generation_is_charged_once_and_refunded_once)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    new_user(s, 100, &u, project);
    drain(s);
    new_generation(s, u.id, project, "local", 30, id);
    cr_assert_eq(balance(s, u.id), 70);
    cr_assert_eq(store_job_claim(s, "w1", NULL, LEASE_MS, JOBS_LOCAL, &g, &e), VG_OK, "%s", e.message);
    cr_assert_str_eq(g.id, id);
    generation_free(&g);
    cr_assert_eq(update(s, id, "w1", (struct job_update){.outcome = JOB_FAILED, .message = "broken"}), VG_OK);
    cr_assert_eq(balance(s, u.id), 100);
    /* the lease ended with the job: no second outcome, no second refund */
    cr_assert_eq(update(s, id, "w1", (struct job_update){.outcome = JOB_FAILED}), VG_ERR_CONFLICT);
    cr_assert_eq(store_admin_refund(s, id, "again", &g, &e), VG_ERR_CONFLICT);
    cr_assert_eq(ledger_rows(s, u.id, id, "charge"), 1);
    cr_assert_eq(ledger_rows(s, u.id, id, "refund"), 1);
    cr_assert_eq(balance(s, u.id), 100);
    store_close(s);
}

Test(ledger, a_balance_never_goes_negative)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    bool replayed;
    long after = -1;
    new_user(s, 10, &u, project);
    struct generation_new in = gen_request(u.id, project, "local", 11);
    cr_assert_eq(store_generation_create(s, &in, &g, &replayed, &e), VG_ERR_NO_CREDITS);
    cr_assert_eq(store_credits_add(s, u.id, LEDGER_ADJUST, -11, "too much", &after, &e), VG_ERR_NO_CREDITS);
    cr_assert_eq(balance(s, u.id), 10);
    struct generation_list l;
    struct generation_query q = {.user_id = u.id, .limit = 10};
    cr_assert_eq(store_generation_page(s, &q, &l, &e), VG_OK);
    cr_assert_eq(l.n, 0, "a refused request left a generation");
    generation_list_free(&l);
    cr_assert_eq(store_credits_add(s, u.id, LEDGER_ADJUST, -10, "all of it", &after, &e), VG_OK, "%s", e.message);
    cr_assert_eq(after, 0);
    cr_assert_eq(balance(s, u.id), 0);
    store_close(s);
}

Test(ledger, a_pending_generation_cancelled_is_refunded_once)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    new_user(s, 50, &u, project);
    new_generation(s, u.id, project, "modelslab", 20, id);
    cr_assert_eq(store_generation_cancel(s, u.id, id, &g, &e), VG_OK, "%s", e.message);
    cr_assert_str_eq(g.status, "cancelled");
    generation_free(&g);
    cr_assert_eq(store_generation_cancel(s, u.id, id, &g, &e), VG_ERR_CONFLICT);
    cr_assert_eq(ledger_rows(s, u.id, id, "refund"), 1);
    cr_assert_eq(balance(s, u.id), 50);
    store_close(s);
}

Test(ledger, an_idempotency_key_charges_once)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1];
    struct vg_error e;
    struct generation a, b;
    bool replayed;
    new_user(s, 100, &u, project);
    struct generation_new in = gen_request(u.id, project, "local", 25);
    in.idempotency_key = "key-1", in.request_hash = "hash-1";
    cr_assert_eq(store_generation_create(s, &in, &a, &replayed, &e), VG_OK, "%s", e.message);
    cr_assert(!replayed);
    cr_assert_eq(store_generation_create(s, &in, &b, &replayed, &e), VG_OK, "%s", e.message);
    cr_assert(replayed);
    cr_assert_str_eq(a.id, b.id);
    cr_assert_eq(balance(s, u.id), 75);
    in.request_hash = "hash-2"; /* another request under the same key */
    generation_free(&b);
    cr_assert_eq(store_generation_create(s, &in, &b, &replayed, &e), VG_ERR_CONFLICT);
    cr_assert_eq(balance(s, u.id), 75);
    generation_free(&a);
    store_close(s);
}

/* ---- many writers at once ------------------------------------------------------------- */

#define CHARGERS 4
#define CHARGES_EACH 60
#define CHARGE 7

struct charger {
    const char *user, *project;
    int charged, refused, other;
};

static void *charge_loop(void *arg)
{
    struct charger *c = arg;
    struct store *s = open_store();
    for (int i = 0; i < CHARGES_EACH; i++) {
        struct generation_new in = gen_request(c->user, c->project, "modelslab", CHARGE);
        struct generation g;
        struct vg_error e;
        bool replayed;
        enum vg_err r = store_generation_create(s, &in, &g, &replayed, &e);
        if (r == VG_OK)
            c->charged++, generation_free(&g);
        else if (r == VG_ERR_NO_CREDITS)
            c->refused++;
        else if (r == VG_ERR_UNAVAILABLE)
            i--; /* busy: the caller tries again */
        else
            c->other++;
    }
    store_close(s);
    return NULL;
}

Test(concurrency, charges_from_many_connections_never_overdraw)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1];
    long credits = 500; /* room for 71 of the 240 charges */
    new_user(s, credits, &u, project);
    pthread_t t[CHARGERS];
    struct charger c[CHARGERS];
    for (int i = 0; i < CHARGERS; i++) {
        c[i] = (struct charger){.user = u.id, .project = project};
        cr_assert_eq(pthread_create(&t[i], NULL, charge_loop, &c[i]), 0);
    }
    int charged = 0, refused = 0;
    for (int i = 0; i < CHARGERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(c[i].other, 0, "a charge failed with neither success nor no-credits");
        charged += c[i].charged, refused += c[i].refused;
    }
    cr_assert_eq(charged, credits / CHARGE);
    cr_assert_eq(refused, CHARGERS * CHARGES_EACH - credits / CHARGE);
    cr_assert_eq(balance(s, u.id), credits % CHARGE);
    /* clean up: these jobs are nobody's to run */
    drain(s);
    store_close(s);
}

#define CLAIMERS 4
#define JOBS 40

struct claimer {
    char owner[24]; /* "worker-" and any int */
    char ids[JOBS][ID_LEN + 1];
    int n, errors;
};

static atomic_int claimed_total;

static void *claim_loop(void *arg)
{
    struct claimer *c = arg;
    struct store *s = open_store();
    while (atomic_load(&claimed_total) < JOBS) {
        struct generation g;
        struct vg_error e;
        enum vg_err r = store_job_claim(s, c->owner, NULL, LEASE_MS, JOBS_REMOTE, &g, &e);
        if (r == VG_OK) {
            if (c->n < JOBS)
                memcpy(c->ids[c->n], g.id, ID_LEN + 1);
            c->n++;
            atomic_fetch_add(&claimed_total, 1);
            generation_free(&g);
        } else if (r == VG_ERR_NOT_FOUND) {
            int64_t at;
            if (store_job_next_due(s, JOB_KIND_BIT(JOBS_REMOTE), &at, &e) != VG_OK || at == 0 || at > clock_now_ms())
                break; /* nothing due is left */
        } else if (r != VG_ERR_UNAVAILABLE)
            c->errors++;
    }
    store_close(s);
    return NULL;
}

Test(concurrency, two_workers_never_claim_the_same_job)
{
    struct store *s = open_store();
    struct user u[4];
    char project[4][ID_LEN + 1], id[ID_LEN + 1];
    drain(s);
    for (int i = 0; i < 4; i++)
        new_user(s, 1000, &u[i], project[i]);
    for (int j = 0; j < JOBS; j++)
        new_generation(s, u[j % 4].id, project[j % 4], "modelslab", 1, id);
    pthread_t t[CLAIMERS];
    static struct claimer c[CLAIMERS];
    for (int i = 0; i < CLAIMERS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        snprintf(c[i].owner, sizeof c[i].owner, "worker-%d", i);
        cr_assert_eq(pthread_create(&t[i], NULL, claim_loop, &c[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < CLAIMERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(c[i].errors, 0);
        total += c[i].n;
    }
    cr_assert_eq(total, JOBS, "%d jobs claimed of %d", total, JOBS);
    for (int a = 0; a < CLAIMERS; a++)
        for (int i = 0; i < c[a].n; i++)
            for (int b = a; b < CLAIMERS; b++)
                for (int j = b == a ? i + 1 : 0; j < c[b].n; j++)
                    cr_assert_str_neq(c[a].ids[i], c[b].ids[j], "%s claimed by %s and %s", c[a].ids[i], c[a].owner,
                                      c[b].owner);
    for (int a = 0; a < CLAIMERS; a++)
        for (int i = 0; i < c[a].n; i++)
            cr_assert_eq(update(s, c[a].ids[i], c[a].owner, (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
    store_close(s);
}

/* ---- claims, leases, reroutes, attempts ----------------------------------------------- */

Test(jobs, claims_are_fair_between_users)
{
    struct store *s = open_store();
    struct user a, b;
    char pa[ID_LEN + 1], pb[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    drain(s);
    new_user(s, 100, &a, pa);
    new_user(s, 100, &b, pb);
    for (int i = 0; i < 3; i++)
        new_generation(s, a.id, pa, "local", 1, id);
    new_generation(s, b.id, pb, "local", 1, id); /* b's one job, queued after a's three */
    char users[4][ID_LEN + 1], ids[4][ID_LEN + 1];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(store_job_claim(s, "w", NULL, LEASE_MS, JOBS_LOCAL, &g, &e), VG_OK, "claim %d: %s", i, e.message);
        memcpy(users[i], g.user_id, sizeof users[i]);
        memcpy(ids[i], g.id, sizeof ids[i]);
        generation_free(&g);
    }
    cr_assert_str_neq(users[0], users[1], "the second claim served the same user again");
    cr_assert_eq(store_job_claim(s, "w", NULL, LEASE_MS, JOBS_LOCAL, &g, &e), VG_ERR_NOT_FOUND);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(update(s, ids[i], "w", (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
    store_close(s);
}

/* A worker name that has joined, unique across runs, alive for lease_ms. */
static void join_worker(struct store *s, char name[64], int64_t lease_ms)
{
    static int n;
    struct vg_error e;
    snprintf(name, 64, "host:%d:%ld-%d", (int)getpid(), (long)time(NULL) % 100000, n++);
    cr_assert_eq(store_worker_join(s, name, lease_ms, &e), VG_OK, "join: %s", e.message);
}

/* The news a beat of `worker` brought for generation `id` (all false when none). */
static struct job_news beat_news(struct store *s, const char *worker, const char *id)
{
    struct job_news_list l;
    struct job_news found = {{0}};
    struct vg_error e;
    cr_assert_eq(store_worker_beat(s, worker, LEASE_MS, &l, &e), VG_OK, "beat: %s", e.message);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.items[i].id, id) == 0)
            found = l.items[i];
    job_news_list_free(&l);
    return found;
}

Test(jobs, a_lost_lease_refuses_the_old_holder)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    struct job_lease lease;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "local", 10, id);
    cr_assert_eq(store_job_claim(s, "old", NULL, 50, JOBS_LOCAL, &g, &e), VG_OK, "%s", e.message);
    cr_assert_eq(g.attempts, 0);
    generation_free(&g);
    usleep(150 * 1000); /* past the lease: the holder is taken for dead */
    cr_assert_eq(store_job_claim(s, "new", NULL, LEASE_MS, JOBS_LOCAL, &g, &e), VG_OK, "%s", e.message);
    cr_assert_str_eq(g.id, id);
    cr_assert_eq(g.attempts, 1, "taking over an expired lease counts an attempt");
    generation_free(&g);
    cr_assert_eq(store_job_lease(s, id, &lease, &e), VG_OK);
    cr_assert_str_eq(lease.owner, "new");
    cr_assert_eq(update(s, id, "old", (struct job_update){.outcome = JOB_COMPLETED}), VG_ERR_CONFLICT);
    cr_assert_eq(update(s, id, "new", (struct job_update){.outcome = JOB_COMPLETED, .output_path = "v.mp4"}), VG_OK);
    g = get(s, u.id, id);
    cr_assert_str_eq(g.status, "completed");
    cr_assert_eq(g.progress, 100);
    generation_free(&g);
    cr_assert_eq(store_job_lease(s, id, &lease, &e), VG_OK);
    cr_assert_str_eq(lease.owner, "");
    cr_assert_eq(balance(s, u.id), 90, "a completed job is charged once and not refunded");
    store_close(s);
}

Test(jobs, a_wait_releases_and_a_retry_counts)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "modelslab", 10, id);
    cr_assert_eq(store_job_claim(s, "w", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    generation_free(&g);
    struct job_update wait = {.outcome = JOB_WAIT, .next_run_at = clock_now_ms() - 1, .progress = 40};
    cr_assert_eq(update(s, id, "w", wait), VG_OK);
    cr_assert_eq(store_job_claim(s, "w2", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    cr_assert_eq(g.attempts, 0, "claiming a released job is no new attempt");
    cr_assert_eq(g.progress, 40);
    generation_free(&g);
    struct job_update retry = {
        .outcome = JOB_RETRY, .next_run_at = clock_now_ms() + LEASE_MS, .progress = -1, .message = "try later"};
    cr_assert_eq(update(s, id, "w2", retry), VG_OK);
    g = get(s, u.id, id);
    cr_assert_eq(g.attempts, 1);
    cr_assert_str_eq(g.error_message, "try later");
    generation_free(&g);
    cr_assert_eq(store_job_claim(s, "w3", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_ERR_NOT_FOUND,
                 "a retry is not due yet");
    store_close(s);
}

Test(jobs, a_reroute_keeps_one_charge_and_the_attempts)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    struct generation g;
    struct attempt_list l;
    int64_t added;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "modelslab", 30, id);
    cr_assert_eq(store_job_claim(s, "w", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    generation_free(&g);
    struct job_update run = {.outcome = JOB_RUNNING,
                             .lease_ms = LEASE_MS,
                             .progress = 10,
                             .phase = "polling",
                             .provider_job_id = "ml-1",
                             .attempt_model = "ml-model"};
    cr_assert_eq(update(s, id, "w", run), VG_OK);
    cr_assert_eq(store_attempt_cost(s, id, 100, "usd", &added, &e), VG_OK);
    cr_assert_eq(added, 100);
    cr_assert_eq(store_attempt_cost(s, id, 150, "usd", &added, &e), VG_OK);
    cr_assert_eq(added, 50);
    cr_assert_eq(store_attempt_cost(s, id, 120, "usd", &added, &e), VG_OK);
    cr_assert_eq(added, 0);
    struct job_update reroute = {.outcome = JOB_REROUTE, .provider = "edenai", .http_status = 404, .message = "gone"};
    cr_assert_eq(update(s, id, "w", reroute), VG_OK);
    g = get(s, u.id, id);
    cr_assert_str_eq(g.provider, "edenai");
    cr_assert_str_eq(g.phase, "queued");
    cr_assert_null(g.provider_job_id);
    cr_assert_eq(g.attempts, 0, "the next route starts its attempts afresh");
    generation_free(&g);
    cr_assert_eq(store_job_claim(s, "w2", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "rerouted job due at once");
    cr_assert_str_eq(g.id, id);
    generation_free(&g);
    run.provider_job_id = "ed-1", run.attempt_model = "nova";
    cr_assert_eq(update(s, id, "w2", run), VG_OK);
    cr_assert_eq(update(s, id, "w2", (struct job_update){.outcome = JOB_COMPLETED, .output_path = "v.mp4"}), VG_OK);
    cr_assert_eq(store_generation_attempts(s, u.id, id, &l, &e), VG_OK, "%s", e.message);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.items[0].provider, "modelslab");
    cr_assert_str_eq(l.items[0].provider_job_id, "ml-1");
    cr_assert_str_eq(l.items[0].outcome, "fell_back");
    cr_assert_eq(l.items[0].http_status, 404);
    cr_assert_eq(l.items[0].cost_micros, 120);
    cr_assert_str_eq(l.items[0].cost_unit, "usd");
    cr_assert_str_eq(l.items[1].provider, "edenai");
    cr_assert_str_eq(l.items[1].model, "nova");
    cr_assert_str_eq(l.items[1].outcome, "completed");
    cr_assert_eq(l.items[1].cost_micros, -1);
    attempt_list_free(&l);
    cr_assert_eq(store_generation_attempts(s, "someone-else", id, &l, &e), VG_OK);
    cr_assert_eq(l.n, 0, "another user sees no attempts");
    attempt_list_free(&l);
    cr_assert_eq(ledger_rows(s, u.id, id, "charge"), 1);
    cr_assert_eq(ledger_rows(s, u.id, id, "refund"), 0);
    cr_assert_eq(balance(s, u.id), 70);
    store_close(s);
}

Test(jobs, a_cancel_after_submission_is_not_refunded)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1], worker[64];
    struct vg_error e;
    struct generation g;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "modelslab", 40, id);
    join_worker(s, worker, LEASE_MS);
    cr_assert_eq(store_job_claim(s, "w", worker, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    generation_free(&g);
    struct job_update run = {
        .outcome = JOB_RUNNING, .lease_ms = LEASE_MS, .progress = -1, .provider_job_id = "ml-9", .attempt_model = "m"};
    cr_assert_eq(update(s, id, "w", run), VG_OK);
    cr_assert(!beat_news(s, worker, id).cancel_requested, "news before the cancel");
    cr_assert_eq(store_generation_cancel(s, u.id, id, &g, &e), VG_OK, "%s", e.message);
    cr_assert(g.cancel_requested);
    generation_free(&g);
    cr_assert(beat_news(s, worker, id).cancel_requested, "the worker learns of the cancel by its beat");
    cr_assert_eq(update(s, id, "w", (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
    cr_assert_eq(balance(s, u.id), 60, "the provider was paid: no refund");
    cr_assert(!beat_news(s, worker, id).cancel_requested, "an ended job is no news");
    store_close(s);
}

Test(jobs, a_webhook_wakes_only_its_own_job)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1], woken[ID_LEN + 1], worker[64];
    struct vg_error e;
    struct generation g;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "modelslab", 1, id);
    join_worker(s, worker, LEASE_MS);
    cr_assert_eq(store_job_claim(s, "w", worker, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    generation_free(&g);
    char hash[65];
    snprintf(hash, sizeof hash, "%s%s", id, "0123456789abcdef");
    struct job_update run = {.outcome = JOB_RUNNING,
                             .lease_ms = LEASE_MS,
                             .progress = -1,
                             .provider_job_id = "j",
                             .webhook_hash = hash,
                             .attempt_model = "m"};
    cr_assert_eq(update(s, id, "w", run), VG_OK);
    cr_assert_eq(store_webhook_known(s, "modelslab", hash, &e), VG_OK);
    cr_assert_eq(store_webhook_known(s, "edenai", hash, &e), VG_ERR_NOT_FOUND);
    cr_assert_eq(store_webhook_wake(s, "modelslab", hash, "other-job", woken, &e), VG_ERR_NOT_FOUND);
    cr_assert(!beat_news(s, worker, id).webhook_woken, "a callback for another job is no news");
    cr_assert_eq(store_webhook_wake(s, "modelslab", hash, "j", woken, &e), VG_OK);
    cr_assert_str_eq(woken, id);
    cr_assert(beat_news(s, worker, id).webhook_woken, "the holder learns of the callback by its beat");
    /* the release asks for a poll in a minute; the callback makes it due now */
    struct job_update wait = {.outcome = JOB_WAIT, .next_run_at = clock_now_ms() + LEASE_MS, .progress = -1};
    cr_assert_eq(update(s, id, "w", wait), VG_OK);
    cr_assert_eq(store_job_claim(s, "w", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "woken job not due");
    generation_free(&g);
    cr_assert_eq(update(s, id, "w", (struct job_update){.outcome = JOB_FAILED, .message = "x"}), VG_OK);
    cr_assert_eq(store_webhook_known(s, "modelslab", hash, &e), VG_ERR_NOT_FOUND, "an ended job takes no callback");
    store_close(s);
}

/* A remote job claimed under a worker's heartbeat is held while the worker beats, whatever
 * the time and whatever its writes say; when the beat lapses, the worker can neither beat nor
 * claim under that name, and a reap hands the job to the next claim as an expired lease. */
Test(jobs, a_held_job_lives_as_long_as_its_worker_beats)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1], id[ID_LEN + 1], other[ID_LEN + 1], worker[64];
    struct vg_error e;
    struct generation g;
    struct job_lease lease;
    struct job_news_list news;
    long reaped;
    drain(s);
    new_user(s, 100, &u, project);
    new_generation(s, u.id, project, "modelslab", 10, id);
    join_worker(s, worker, 300);
    cr_assert_eq(store_worker_join(s, worker, 300, &e), VG_ERR_CONFLICT, "a name joins once");
    cr_assert_eq(store_job_claim(s, "held", worker, 50, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    generation_free(&g);
    cr_assert_eq(store_job_lease(s, id, &lease, &e), VG_OK);
    cr_assert_str_eq(lease.owner, "held");
    cr_assert_eq(lease.until, STORE_HELD_UNTIL, "held under the beat, not for the 50 ms asked");
    struct job_update run = {.outcome = JOB_RUNNING, .lease_ms = 50, .progress = 5, .phase = "polling"};
    cr_assert_eq(update(s, id, "held", run), VG_OK);
    cr_assert_eq(store_job_lease(s, id, &lease, &e), VG_OK);
    cr_assert_eq(lease.until, STORE_HELD_UNTIL, "a write of the job does not cut the beat's lease");
    for (int i = 0; i < 3; i++) { /* 450 ms, past the beat's 300, kept by beats */
        usleep(150 * 1000);
        cr_assert_eq(store_worker_beat(s, worker, 300, &news, &e), VG_OK, "beat %d: %s", i, e.message);
        job_news_list_free(&news);
        cr_assert_eq(store_workers_reap(s, &reaped, &e), VG_OK, "%s", e.message);
    }
    cr_assert_eq(store_job_claim(s, "other", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_ERR_NOT_FOUND,
                 "a job held by a beating worker is nobody else's");
    usleep(400 * 1000); /* the worker stalls past its beat */
    cr_assert_eq(store_worker_beat(s, worker, 300, &news, &e), VG_ERR_CONFLICT, "a lapsed beat is refused");
    new_generation(s, u.id, project, "modelslab", 10, other);
    cr_assert_eq(store_job_claim(s, "late", worker, LEASE_MS, JOBS_REMOTE, &g, &e), VG_ERR_NOT_FOUND,
                 "no claim under a lapsed beat");
    cr_assert_eq(store_workers_reap(s, &reaped, &e), VG_OK, "%s", e.message);
    cr_assert_geq(reaped, 1);
    cr_assert_eq(store_worker_beat(s, worker, 300, &news, &e), VG_ERR_CONFLICT, "a reaped name stays done");
    bool seen[2] = {false, false};
    for (int i = 0; i < 2; i++) { /* the reaped job and the new one, in due order */
        cr_assert_eq(store_job_claim(s, "next", NULL, LEASE_MS, JOBS_REMOTE, &g, &e), VG_OK, "claim %d", i);
        bool reaped_one = strcmp(g.id, id) == 0;
        cr_assert(reaped_one || strcmp(g.id, other) == 0, "claimed a job of another test");
        seen[!reaped_one] = true;
        cr_assert_eq(g.attempts, reaped_one ? 1 : 0, "taking over a lapsed worker's job counts an attempt");
        if (reaped_one)
            cr_assert_eq(g.progress, 5);
        generation_free(&g);
    }
    cr_assert(seen[0] && seen[1]);
    cr_assert_eq(update(s, id, "held", (struct job_update){.outcome = JOB_COMPLETED}), VG_ERR_CONFLICT,
                 "the lapsed worker's write is refused");
    cr_assert_eq(update(s, id, "next", (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
    cr_assert_eq(update(s, other, "next", (struct job_update){.outcome = JOB_CANCELLED}), VG_OK);
    store_close(s);
}

Test(jobs, provider_health_and_counts)
{
    struct store *s = open_store();
    struct vg_error e;
    struct provider_health h, got;
    char name[32];
    snprintf(name, sizeof name, "p%d", (int)getpid());
    cr_assert_eq(store_provider_health_get(s, name, &got, &e), VG_OK);
    cr_assert_eq(got.failures, 0);
    cr_assert_eq(got.last_failure[0], '\0');
    h = (struct provider_health){.last_success_at = 5, .last_failure_at = 7, .failures = 3, .open_until = 9};
    snprintf(h.last_failure, sizeof h.last_failure, "HTTP 503");
    cr_assert_eq(store_provider_health_put(s, name, &h, &e), VG_OK, "%s", e.message);
    h.failures = 4;
    cr_assert_eq(store_provider_health_put(s, name, &h, &e), VG_OK, "%s", e.message);
    cr_assert_eq(store_provider_health_get(s, name, &got, &e), VG_OK);
    cr_assert_eq(got.failures, 4);
    cr_assert_eq(got.open_until, 9);
    cr_assert_str_eq(got.last_failure, "HTTP 503");
    long n = -1;
    cr_assert_eq(store_provider_in_flight(s, name, &n, &e), VG_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(store_provider_queued(s, name, &n, &e), VG_OK);
    cr_assert_eq(n, 0);
    store_close(s);
}

/* ---- uploads -------------------------------------------------------------------------- */

/* An upload of `size` bytes whose sha256 is `c` 64 times; its file path is written in `path`. */
static struct upload upload_of(const char *user, char c, int64_t size, char path[128])
{
    struct upload u = {.width = 8, .height = 8, .size_bytes = size};
    memcpy(u.user_id, user, ID_LEN + 1);
    memset(u.sha256, c, 64);
    u.sha256[64] = '\0';
    snprintf(path, 128, "/uploads/video-generator/%s/%s.png", user, u.sha256);
    u.file_path = path;
    u.file_name = "x.png";
    snprintf(u.mime_type, sizeof u.mime_type, "image/png");
    return u;
}

Test(uploads, the_quota_holds_and_the_same_image_is_one_upload)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1];
    struct vg_error e;
    struct upload a, b, in;
    struct upload_list l;
    bool existing, in_use;
    int64_t used;
    char path[2][128];
    new_user(s, 0, &u, project);
    in = upload_of(u.id, 'a', 600, path[0]);
    cr_assert_eq(store_upload_create(s, &in, 1000, &a, &existing, &used, &e), VG_OK, "%s", e.message);
    cr_assert(!existing);
    cr_assert_eq(store_upload_create(s, &in, 1000, &b, &existing, &used, &e), VG_OK, "%s", e.message);
    cr_assert(existing);
    cr_assert_str_eq(a.id, b.id);
    upload_free(&b);
    in = upload_of(u.id, 'b', 500, path[1]);
    cr_assert_eq(store_upload_create(s, &in, 1000, &b, &existing, &used, &e), VG_ERR_TOO_LARGE);
    cr_assert_eq(used, 600);
    cr_assert_eq(store_upload_usage(s, u.id, &used, &e), VG_OK);
    cr_assert_eq(used, 600);
    cr_assert_eq(store_upload_list(s, u.id, NULL, 10, &l, &e), VG_OK);
    cr_assert_eq(l.n, 1);
    cr_assert(!l.more);
    upload_list_free(&l);
    cr_assert_eq(store_upload_get(s, u.id, NULL, a.file_path, NULL, &b, &e), VG_OK);
    upload_free(&b);
    cr_assert_eq(store_upload_get(s, "someone-else", a.id, NULL, NULL, &b, &e), VG_ERR_NOT_FOUND);
    cr_assert_eq(store_image_in_use(s, a.file_path, &in_use, &e), VG_OK);
    cr_assert(in_use);
    cr_assert_eq(store_upload_delete(s, u.id, a.id, &b, &in_use, &e), VG_OK, "%s", e.message);
    cr_assert(!in_use);
    upload_free(&b);
    cr_assert_eq(store_upload_usage(s, u.id, &used, &e), VG_OK);
    cr_assert_eq(used, 0);
    cr_assert_eq(store_image_in_use(s, a.file_path, &in_use, &e), VG_OK);
    cr_assert(!in_use);
    upload_free(&a);
    store_close(s);
}

struct uploader {
    const char *user;
    char c;
    int ok, refused, other;
};

static void *upload_loop(void *arg)
{
    struct uploader *w = arg;
    struct store *s = open_store();
    for (int i = 0; i < 10; i++) {
        char path[128];
        struct upload in = upload_of(w->user, (char)(w->c + i), 100, path), out;
        struct vg_error e;
        bool existing;
        int64_t used;
        enum vg_err r = store_upload_create(s, &in, 1000, &out, &existing, &used, &e);
        if (r == VG_OK)
            w->ok++, upload_free(&out);
        else if (r == VG_ERR_TOO_LARGE)
            w->refused++;
        else if (r == VG_ERR_UNAVAILABLE)
            i--;
        else
            w->other++;
    }
    store_close(s);
    return NULL;
}

Test(uploads, concurrent_uploads_stay_within_the_quota)
{
    struct store *s = open_store();
    struct user u;
    char project[ID_LEN + 1];
    struct vg_error e;
    int64_t used;
    new_user(s, 0, &u, project);
    pthread_t t[3];
    struct uploader w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct uploader){.user = u.id, .c = (char)('A' + 10 * i)};
        cr_assert_eq(pthread_create(&t[i], NULL, upload_loop, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].other, 0);
        ok += w[i].ok;
    }
    cr_assert_eq(ok, 10, "%d uploads of 100 bytes within a quota of 1000", ok);
    cr_assert_eq(store_upload_usage(s, u.id, &used, &e), VG_OK);
    cr_assert_eq(used, 1000);
    store_close(s);
}

/* ---- the summary (GET /metrics) ------------------------------------------------------- */

struct summer {
    const char *user, *project;
};

static void *fifty_charges(void *arg)
{
    struct summer *c = arg;
    struct store *s = open_store();
    for (int i = 0; i < 50; i++) {
        struct generation_new in = gen_request(c->user, c->project, "modelslab", 1);
        struct generation g;
        struct vg_error e;
        bool replayed;
        if (store_generation_create(s, &in, &g, &replayed, &e) == VG_OK)
            generation_free(&g);
    }
    store_close(s);
    return NULL;
}

/* The caller keeps running totals of the ledger by adding what each summary call read past
 * the last id it saw: however writers interleave, no row is counted twice or skipped. */
Test(summary, running_totals_miss_no_ledger_row_under_concurrent_writers)
{
    struct store *s = open_store();
    struct vg_error e;
    struct store_summary io = {0};
    cr_assert_eq(store_summary(s, &io, &e), VG_OK, "%s", e.message);
    long start = io.ledger_after, totals[4] = {0};
    struct user u[3];
    char project[3][ID_LEN + 1];
    pthread_t t[3];
    struct summer c[3];
    for (int i = 0; i < 3; i++) {
        new_user(s, 1000, &u[i], project[i]);
        c[i] = (struct summer){.user = u[i].id, .project = project[i]};
    }
    io.ledger_after = start;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, fifty_charges, &c[i]), 0);
    for (int round = 0; round < 200; round++) {
        enum vg_err r = store_summary(s, &io, &e);
        cr_assert(r == VG_OK || r == VG_ERR_UNAVAILABLE, "%s", e.message);
        for (int k = 0; r == VG_OK && k < 4; k++)
            totals[k] += io.credits[k];
        usleep(1000);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(store_summary(s, &io, &e), VG_OK, "%s", e.message);
    for (int k = 0; k < 4; k++)
        totals[k] += io.credits[k];
    struct store_summary all = {.ledger_after = start};
    cr_assert_eq(store_summary(s, &all, &e), VG_OK, "%s", e.message);
    cr_assert_eq(all.ledger_after, io.ledger_after);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(totals[k], all.credits[k], "%s: running total %ld, sum %ld", ledger_kind_name(k), totals[k],
                     all.credits[k]);
    cr_assert_eq(all.credits[LEDGER_GRANT], 3000);
    cr_assert_eq(all.credits[LEDGER_CHARGE], -150);
    drain(s);
    store_close(s);
}
