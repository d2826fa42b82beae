#include "worker/remote_job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/image_link.h"
#include "core/webhook.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "worker/job.h"
#include "worker/limits.h"
#include "worker/tmpfiles.h"

#define REPLY_MAX (64u << 20)            /* a JSON reply, at most: Eden AI puts the video in it as base64 */
#define VIDEO_MAX ((curl_off_t)1 << 30)  /* a result video, at most */
#define EXCHANGE_TIMEOUT_MS 30000        /* a submit or a poll, whole */
#define DOWNLOAD_TIMEOUT_MS (10 * 60000) /* a result video, whole */
#define CONNECT_TIMEOUT_MS 10000
/* A provider gets this long from the generation's creation to deliver. */
/* Between polls: the provider's ETA (at least ETA_MIN_MS), else a quarter of the job's age
 * within POLL_MIN_MS and POLL_MAX_MS. */
#define ETA_MIN_MS 250
#define POLL_MIN_MS 2000
#define POLL_MAX_MS 30000
/* A job over its provider's cap looks again after about this long. */
#define IN_FLIGHT_RECHECK_MS 3000
/* When the provider asks for a pause (429) and says not how long. */
#define RATE_LIMIT_DEFAULT_MS 30000
/* After a passing fault: this much times two per attempt spent, at most RETRY_MAX_MS. */
#define RETRY_BASE_MS 2000
#define RETRY_MAX_MS (5 * 60000)

/* --- helpers ------------------------------------------------------------------------- */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* `ms` give or take a fifth, so that jobs that failed together do not come back together. */
static int64_t jitter(int64_t ms)
{
    return ms - ms / 5 + (int64_t)((double)rand() / RAND_MAX * (double)(2 * ms / 5));
}

/* When to look at a running job again: the provider's ETA, else a quarter of its age. */
static int64_t next_poll_at(const struct job *j, const struct remote_reply *r, int64_t now)
{
    if (r->eta_ms >= 0)
        return now + jitter(clamp64(r->eta_ms, ETA_MIN_MS, POLL_MAX_MS));
    return now + jitter(clamp64((now - j->g.created_at) / 4, POLL_MIN_MS, POLL_MAX_MS));
}

/* When to try again after a passing fault: what the provider asked, else backing off. */
static int64_t next_retry_at(const struct job *j, const struct remote_reply *r, int64_t now)
{
    int shift = j->g.attempts < 8 ? j->g.attempts : 8;
    int64_t wait = jitter(clamp64((int64_t)RETRY_BASE_MS << shift, RETRY_BASE_MS, RETRY_MAX_MS));
    return now + (r->retry_after_ms > wait ? r->retry_after_ms : wait);
}

static const struct catalog_model *job_model(struct worker *w, const struct job *j)
{
    return catalog_find(worker_catalog(w), j->g.model_id);
}

static void end(struct worker *w, struct job *j, enum job_outcome outcome, const char *message)
{
    struct job_update u = {
        .outcome = outcome, .progress = -1, .message = message, .http_status = (int)j->remote.status};
    worker_end(w, j, &u);
}

/* Fails the job with `fmt` naming the provider (first %s) and `detail` (second %s); a
 * detail that starts with the provider's name (its replies' messages do) loses it. */
static void fail(struct worker *w, struct job *j, const char *fmt, const char *detail)
{
    const char *name = provider_display_name(j->g.provider);
    size_t n = strlen(name);
    char msg[600];
    if (strncmp(detail, name, n) == 0 && strncmp(detail + n, ": ", 2) == 0)
        detail += n + 2;
    snprintf(msg, sizeof msg, fmt, name, detail);
    end(w, j, JOB_FAILED, msg);
}

/* Releases the job until `at` (JOB_WAIT: nothing wrong; JOB_RETRY: a passing fault, which
 * spends an attempt), in `phase`. */
static void release(struct worker *w, struct job *j, enum job_outcome outcome, int64_t at, const char *phase,
                    const char *message, int progress)
{
    struct job_update u = {
        .outcome = outcome, .next_run_at = at, .phase = phase, .message = message, .progress = progress};
    worker_end(w, j, &u);
}

/* A submit that did not get through (nothing was made at the provider): its attempt ends as
 * retried, and the job waits in "queued" until `at` (JOB_WAIT: no attempt spent, a 429). */
static void submit_later(struct worker *w, struct job *j, enum job_outcome outcome, int64_t at, const char *message)
{
    struct job_update u = {.outcome = outcome,
                           .next_run_at = at,
                           .phase = "queued",
                           .message = message,
                           .progress = -1,
                           .attempt_end = "retried",
                           .http_status = (int)j->remote.status};
    worker_end(w, j, &u);
}

/* --- routes ---------------------------------------------------------------------------- */

/* The first route after the job's own that can take it now: its provider available and able
 * to fetch the job's images, its circuit not open here. NULL when none is left. */
static const struct catalog_route *next_route(struct worker *w, const struct job *j)
{
    const struct catalog_model *m = job_model(w, j);
    bool images = j->g.start_image != NULL || j->g.end_image != NULL;
    char why[256];
    int i = 0;
    if (m == NULL)
        return NULL;
    while (i < m->n_routes && strcmp(m->routes[i].provider, j->g.provider) != 0)
        i++;
    for (i++; i < m->n_routes; i++) {
        const struct catalog_route *r = &m->routes[i];
        if (provider_route_fit(r, worker_config(w), images, why, sizeof why) != ROUTE_OK)
            continue;
        if (provider_find(r->provider)->kind == PROVIDER_HTTP &&
            limit_circuit_open(worker_limit(w, r->provider), clock_now_ms()))
            continue;
        return r;
    }
    return NULL;
}

/* The job's route failed (`why`) and left nothing running at its provider: the model's next
 * route that can take the job takes it over, due at once. False when none is left (the
 * caller ends the job its own way). */
static bool fall_back(struct worker *w, struct job *j, const char *why)
{
    const struct catalog_route *next = next_route(w, j);
    if (next == NULL)
        return false;
    log_gen(LOG_INFO, j->g.id, "worker: generation %s: %s failed (%s); %s takes it over", j->g.id,
            provider_display_name(j->g.provider), why, provider_display_name(next->provider));
    struct job_update u = {.outcome = JOB_REROUTE,
                           .progress = -1,
                           .provider = next->provider,
                           .message = why,
                           .http_status = (int)j->remote.status};
    worker_end(w, j, &u);
    return true;
}

/* The provider's job ended on a fault of the provider's own (`why`; nothing runs there now):
 * the next route takes the job, else this one makes a new job while attempts remain. */
static void resubmit(struct worker *w, struct job *j, const char *why)
{
    if (fall_back(w, j, why))
        return;
    if (j->g.attempts + 1 >= worker_max_attempts(w))
        return fail(w, j, "%s could not make the video: %s", why);
    struct job_update u = {.outcome = JOB_REROUTE,
                           .progress = -1,
                           .provider = j->g.provider,
                           .message = why,
                           .attempt_end = "retried",
                           .http_status = (int)j->remote.status};
    worker_end(w, j, &u);
}

/* --- the transfer ---------------------------------------------------------------------- */

static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
    struct remote_task *t = arg;
    size_t len = size * n;
    if (t->reply_len + len > REPLY_MAX)
        return 0; /* too large: curl ends the transfer with CURLE_WRITE_ERROR */
    if (t->reply_len + len + 1 > t->reply_cap) {
        size_t cap = (t->reply_len + len + 1) * 2;
        char *p = realloc(t->reply, cap);
        if (p == NULL)
            return 0;
        t->reply = p, t->reply_cap = cap;
    }
    memcpy(t->reply + t->reply_len, data, len);
    t->reply_len += len;
    t->reply[t->reply_len] = '\0';
    return len;
}

static size_t on_video(char *data, size_t size, size_t n, void *arg)
{
    struct remote_task *t = arg;
    size_t len = size * n, done = 0;
    if ((curl_off_t)(t->downloaded + len) > VIDEO_MAX)
        return 0;
    while (done < len) {
        ssize_t k = write(t->fd, data + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        done += (size_t)k;
    }
    t->downloaded += len;
    return len;
}

/* Keeps the Retry-After header of the reply (the last one, if redirects brought several). */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct remote_task *t = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
        size_t i = sizeof name - 1, end = len;
        while (i < end && (line[i] == ' ' || line[i] == '\t'))
            i++;
        while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
            end--;
        snprintf(t->retry_after, sizeof t->retry_after, "%.*s", (int)(end - i), line + i);
    }
    return len;
}

/* What every transfer of a job shares: only HTTP(S), bounded in time, no signals. */
static void common_options(CURL *e, struct job *j, long timeout_ms)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "vidgen");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)j);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &j->remote);
}

/* A transfer of the result video: a handle at its defaults, with the common options. */
static CURL *new_easy(struct worker *w, struct job *j, const char *url, long timeout_ms)
{
    bool ready;
    CURL *e = worker_easy(w, false, &ready);
    if (e == NULL)
        return NULL;
    common_options(e, j, timeout_ms);
    curl_easy_setopt(e, CURLOPT_URL, url);
    return e;
}

/* The curl list of t->req's headers, and "Expect:" (no 100-continue round trip). 0, or -1
 * when out of memory (t->headers then NULL). */
static int make_headers(struct remote_task *t)
{
    struct curl_slist *l = NULL, *n;
    for (int i = 0; i <= REMOTE_MAX_HEADERS; i++) {
        bool last = i == REMOTE_MAX_HEADERS || t->req.headers[i] == NULL;
        if ((n = curl_slist_append(l, last ? "Expect:" : t->req.headers[i])) == NULL) {
            curl_slist_free_all(l);
            return -1;
        }
        l = n;
        if (last)
            break;
    }
    t->headers = l;
    return 0;
}

/* Sends the request the provider built (t->req). 0, or -1 when curl cannot take it. */
static int send_request(struct worker *w, struct job *j)
{
    struct remote_task *t = &j->remote;
    bool ready; /* an exchange's handle, as the last one left it: only the request's own options are set */
    CURL *e = worker_easy(w, true, &ready);
    if (e == NULL)
        return -1;
    if (!ready) {
        common_options(e, j, EXCHANGE_TIMEOUT_MS);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_reply);
    } else {
        curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)j);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    }
    curl_easy_setopt(e, CURLOPT_URL, t->req.url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    /* A POST with a body and a GET without one are what curl sends by default: no custom
     * method (a copy of the string per exchange), and none left from the handle's last one. */
    bool plain = strcmp(t->req.method, t->req.body != NULL ? "POST" : "GET") == 0;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain ? NULL : t->req.method);
    if (t->req.body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)t->req.body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body);
    } else { /* no body, none left from the handle's last exchange either: a GET, or its method as
              * CURLOPT_CUSTOMREQUEST says (as on a fresh handle) */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    t->easy = e;
    t->reply_len = 0;
    t->retry_after[0] = '\0';
    if (t->step == REMOTE_STEP_SUBMIT)
        worker_limit(w, j->g.provider)->submitting++;
    return curl_multi_add_handle(worker_multi(w), e) == CURLM_OK ? 0 : -1;
}

/* Ends the transfer of `j` (done or abandoned). */
static void end_transfer(struct worker *w, struct job *j)
{
    struct remote_task *t = &j->remote;
    if (t->easy == NULL)
        return;
    curl_multi_remove_handle(worker_multi(w), t->easy);
    worker_easy_done(w, t->easy, t->step != REMOTE_STEP_DOWNLOAD);
    t->easy = NULL;
    if (t->step == REMOTE_STEP_SUBMIT)
        worker_limit(w, j->g.provider)->submitting--;
}

/* --- steps --------------------------------------------------------------------------- */

/* The callback URL a submit gives the provider when VIDGEN_PUBLIC_URL is set (core/webhook.h):
 * a fresh token for this submit, whose hash is stored with the generation, under the lease,
 * before the submit is sent, so that a callback can never come before its token is known.
 * NULL for a poll, without a public URL, or when the store does not take the hash (then the
 * job is followed by polling alone, as it always is as well). Borrowed until the next call
 * on this thread. */
static const char *webhook_url_for(struct worker *w, struct job *j)
{
    static _Thread_local char url[sizeof((struct config *)0)->public_url + 128];
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
    const char *public_url = worker_config(w)->public_url;
    if (public_url[0] == '\0' || j->remote.step != REMOTE_STEP_SUBMIT)
        return NULL;
    webhook_token_new(token, hash);
    struct job_update u = {.outcome = JOB_RUNNING, .progress = -1, .webhook_hash = hash};
    if (webhook_url(url, sizeof url, public_url, j->g.provider, token) != 0 || worker_update(w, j, &u) != VG_OK)
        return NULL;
    return url;
}

/* How long a provider may take to fetch an image after the submit that names it. */
#define IMAGE_LINK_SECONDS (24 * 3600)

/* The signed link to an image of the job (core/image_link.h) in buf; NULL when it has none,
 * "" when no link can be made (the provider then refuses to build the submit). */
static const char *image_link(struct worker *w, const char *file_path, char *buf, size_t cap)
{
    if (file_path == NULL)
        return NULL;
    long long exp = (long long)time(NULL) + IMAGE_LINK_SECONDS;
    if (image_link_make(worker_link_key(w), worker_config(w)->public_url, file_path, exp, buf, cap) != 0)
        return "";
    return buf;
}

/* Room for the links of a job's images while a request is built. */
struct image_links {
    char start[1400], end[1400];
};

/* What the provider functions need to build a request for this job. */
static void fill_job(struct worker *w, struct job *j, const struct catalog_route *r, struct remote_job *rj,
                     struct image_links *links)
{
    const struct config *cfg = worker_config(w);
    bool image = j->g.start_image != NULL || j->g.end_image != NULL;
    *rj = (struct remote_job){
        .generation_id = j->g.id,
        .model = worker_route_model(r, j),
        .endpoint = image && r->image_endpoint[0] ? r->image_endpoint : r->endpoint,
        .prompt = j->g.prompt,
        .negative_prompt = j->g.negative_prompt,
        .resolution = j->g.resolution,
        .aspect_ratio = j->g.aspect_ratio,
        .duration = j->g.duration,
        .generate_audio = j->g.audio,
        .enhance_prompt = j->g.enhance_prompt,
        .start_image_url = image_link(w, j->g.start_image, links->start, sizeof links->start),
        .end_image_url = image_link(w, j->g.end_image, links->end, sizeof links->end),
        .webhook_url = webhook_url_for(w, j),
    };
    provider_settings(j->remote.provider, cfg, &rj->base_url, &rj->api_key);
}

/* The request of the job's step (t->step), built by its provider into t->req. */
static int build(struct job *j, const struct remote_job *rj, char *err, size_t errlen)
{
    struct remote_task *t = &j->remote;
    const struct provider *p = t->provider;
    switch (t->step) {
    case REMOTE_STEP_SUBMIT: return p->build_submit(rj, &t->req, err, errlen);
    case REMOTE_STEP_POLL: return p->build_poll(rj, j->g.provider_job_id, &t->req, err, errlen);
    case REMOTE_STEP_LOOKUP: return p->build_lookup(rj, &t->req, err, errlen);
    case REMOTE_STEP_CANCEL: return p->build_cancel(rj, j->g.provider_job_id, &t->req, err, errlen);
    case REMOTE_STEP_DOWNLOAD: break;
    }
    snprintf(err, errlen, "no request for this step");
    return -1;
}

/* Nothing was sent (`why`): a submit goes back to "queued", so that it is not taken for one in
 * doubt; a cancel ends the job without the provider's word. */
static void not_sent(struct worker *w, struct job *j, const char *why)
{
    int64_t at = clock_now_ms() + RETRY_BASE_MS;
    switch (j->remote.step) {
    case REMOTE_STEP_CANCEL: return end(w, j, JOB_CANCELLED, "cancelled");
    case REMOTE_STEP_SUBMIT: return submit_later(w, j, JOB_RETRY, at, why);
    default: return release(w, j, JOB_RETRY, at, NULL, why, -1);
    }
}

/* Builds and sends the request of the job's step. On a failure the job is ended. */
static void exchange(struct worker *w, struct job *j, const struct catalog_route *route)
{
    struct remote_task *t = &j->remote;
    struct remote_job rj;
    struct image_links links;
    char err[300] = "";
    /* A held job polls by the same request each time (same URL, key and job id, for as long
     * as it is held): it is built once, at its first poll under this claim. */
    if (t->step != REMOTE_STEP_POLL || !t->req_is_poll) {
        curl_slist_free_all(t->headers); /* the previous exchange's: the submit */
        t->headers = NULL;
        remote_request_free(&t->req);
        t->req_is_poll = false;
        fill_job(w, j, route, &rj, &links);
        if (build(j, &rj, err, sizeof err) != 0) {
            if (t->step == REMOTE_STEP_CANCEL)
                return end(w, j, JOB_CANCELLED, "cancelled");
            if (t->step == REMOTE_STEP_SUBMIT && fall_back(w, j, err))
                return;
            return fail(w, j, "%s cannot take this generation: %s", err);
        }
        if (make_headers(t) != 0)
            return not_sent(w, j, "out of memory");
        t->req_is_poll = t->step == REMOTE_STEP_POLL;
    }
    if (send_request(w, j) != 0)
        return not_sent(w, j, "cannot start a transfer");
}

/* Whether the provider may be sent this job's next request now: a token from its bucket,
 * and for a submit, room under its cap of jobs in flight. If not, the job waits (no attempt
 * spent), a submit in phase "queued": queued at vidgen, not yet at the provider. */
static bool within_limits(struct worker *w, struct job *j, bool submitting)
{
    struct limit *l = worker_limit(w, j->g.provider);
    int64_t now = clock_now_ms(), at = 0;
    long n = -1;
    struct vg_error err;
    if (submitting && !limit_circuit_open(l, now) &&
        store_provider_in_flight(worker_store(w), j->g.provider, &n, &err) != VG_OK)
        n = -1;
    switch (limit_admit(l, j->g.id, submitting, n, now, &at)) { /* shared by the cluster with Redis */
    case LIMIT_GO: return true;
    case LIMIT_CIRCUIT: { /* the provider is failing: nothing is sent */
        char why[300];
        snprintf(why, sizeof why, "it failed %d times in a row (last: %s)", l->health.failures, l->health.last_failure);
        if (submitting && fall_back(w, j, why))
            return false;
        release(w, j, JOB_WAIT, at + rand() % 1000, submitting ? "queued" : NULL, NULL, -1);
        return false;
    }
    case LIMIT_FULL: release(w, j, JOB_WAIT, now + jitter(IN_FLIGHT_RECHECK_MS), "queued", NULL, -1); return false;
    case LIMIT_WAIT: break;
    }
    /* Spread over half a second, so that the jobs waiting for the same token do not all come
     * back together. */
    release(w, j, JOB_WAIT, at + rand() % 500, submitting ? "queued" : NULL, NULL, -1);
    return false;
}

/* A submit is announced before it is sent: if this worker dies before the provider's job
 * id is stored, the next one finds "submitting" without an id and knows the submit may have
 * reached the provider. */
static void submit(struct worker *w, struct job *j, const struct catalog_route *route)
{
    struct job_update u = {.outcome = JOB_RUNNING,
                           .lease_ms = 0,
                           .progress = 0,
                           .phase = "submitting",
                           .attempt_model = worker_route_model(route, j)};
    j->remote.step = REMOTE_STEP_SUBMIT;
    if (worker_update(w, j, &u) != VG_OK)
        return end(w, j, JOB_WAIT, NULL); /* not announced: not sent; the job comes back */
    exchange(w, j, route);
}

static void download(struct worker *w, struct job *j, const char *url)
{
    struct remote_task *t = &j->remote;
    struct job_update u = {.outcome = JOB_RUNNING, .progress = 90, .phase = "downloading"};
    if (worker_update(w, j, &u) != VG_OK)
        return end(w, j, JOB_WAIT, NULL);
    t->step = REMOTE_STEP_DOWNLOAD;
    snprintf(t->video_url, sizeof t->video_url, "%s", url);
    if (tmpfiles_path(t->tmp_video, sizeof t->tmp_video, worker_data_dir(w), j->g.id, j->lease, "download") != 0 ||
        (t->fd = open(t->tmp_video, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return fail(w, j, "%s's video cannot be stored here: %s", strerror(errno));
    CURL *e = new_easy(w, j, t->video_url, DOWNLOAD_TIMEOUT_MS);
    if (e == NULL)
        return release(w, j, JOB_RETRY, clock_now_ms() + RETRY_BASE_MS, NULL, "cannot start a transfer", -1);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, VIDEO_MAX);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_video);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    t->easy = e;
    if (curl_multi_add_handle(worker_multi(w), e) != CURLM_OK)
        release(w, j, JOB_RETRY, clock_now_ms() + RETRY_BASE_MS, NULL, "cannot start a transfer", -1);
}

void remote_job_start(struct worker *w, struct job *j)
{
    struct remote_task *t = &j->remote;
    const struct catalog_route *route = worker_route(w, j);
    char why[256];
    t->provider = provider_find(j->g.provider);
    t->fd = -1;
    t->status = 0;
    if (route == NULL)
        return fail(w, j, "%s no longer serves this model (%s)", j->g.model_id);
    /* The model's own bound (catalog maxWaitSeconds, from the generation's creation), held
     * against a job the provider has taken. */
    j->deadline_ms = j->g.created_at + (int64_t)job_model(w, j)->max_wait_seconds * 1000;
    if (j->g.provider_job_id != NULL && clock_now_ms() > j->deadline_ms)
        return fail(w, j, "%s did not deliver the video within the time this model is given%s", "");
    if (!t->provider->available(worker_config(w), why, sizeof why)) {
        if (j->g.provider_job_id == NULL && strcmp(j->g.phase, "submitting") != 0)
            return fall_back(w, j, why) ? (void)0 : fail(w, j, "%s cannot be used: %s", why);
        if (j->g.provider_job_id == NULL)
            return fail(w, j, "%s cannot be used: %s", why);
        /* Already at the provider: keep the job until the provider is set up again. */
        return release(w, j, JOB_WAIT, clock_now_ms() + POLL_MAX_MS, NULL, NULL, -1);
    }
    if (j->g.provider_job_id != NULL) {
        t->step = REMOTE_STEP_POLL;
        if (within_limits(w, j, false))
            exchange(w, j, route);
        return;
    }
    /* A submit was under way when its worker stopped, or its reply could not be read: it may
     * have reached the provider. A provider that can be asked which job it made (Kling, by our
     * external_task_id) is asked. ModelsLab, Eden AI and Runway cannot be, so it is not sent
     * again (the user would pay once and the provider might bill twice): the generation fails
     * and is refunded, and says why. */
    if (strcmp(j->g.phase, "submitting") == 0) {
        if (t->provider->build_lookup == NULL)
            return fail(w, j,
                        "the request to %s was cut off (%s) and is not sent again, so that it is not paid "
                        "twice; your credits are refunded",
                        "the worker stopped");
        t->step = REMOTE_STEP_LOOKUP;
        if (within_limits(w, j, false))
            exchange(w, j, route);
        return;
    }
    if (within_limits(w, j, true))
        submit(w, j, route);
}

void remote_job_cancel(struct worker *w, struct job *j)
{
    struct remote_task *t = &j->remote;
    const struct catalog_route *route = worker_route(w, j);
    const char *id = j->g.provider_job_id;
    t->provider = provider_find(j->g.provider);
    if (route == NULL || t->provider == NULL || t->provider->build_cancel == NULL || id == NULL || strcmp(id, "-") == 0)
        return end(w, j, JOB_CANCELLED, "cancelled");
    t->step = REMOTE_STEP_CANCEL;
    exchange(w, j, route);
}

/* --- replies ------------------------------------------------------------------------- */

/* Records in the provider's health how this exchange went, and shares it through the store
 * when it changed (GET /providers shows it; POST /generate answers 503 while it is open). */
static void record_health(struct worker *w, const struct job *j, const struct remote_reply *r, long status)
{
    struct limit *l = worker_limit(w, j->g.provider);
    bool ok = r->state != REMOTE_RETRY || status == 429; /* a 429 is the provider working as it says */
    bool was_open = l->health.open_until > 0;
    struct vg_error err;
    if (!limit_report(l, ok, r->message, clock_now_ms()))
        return;
    if (!was_open && l->health.open_until > 0)
        log_warn("worker: %s failed %d times in a row (last: %s); nothing is sent to it for %lld s",
                 provider_display_name(j->g.provider), l->health.failures, r->message,
                 (long long)((l->health.open_until - clock_now_ms()) / 1000));
    if (store_provider_health_put(worker_store(w), j->g.provider, &l->health, &err) != VG_OK)
        log_warn("worker: cannot record %s's health: %s", j->g.provider, err.message);
}

/* The provider said what the job cost (or will): kept with the attempt under way, and what it
 * adds to that attempt's figure counted in vidgen_provider_cost_total. A store error loses
 * this figure only: the next reply says it again. */
static void record_cost(struct worker *w, struct job *j, const struct remote_reply *r)
{
    struct remote_task *t = &j->remote;
    const char *unit = remote_cost_unit_name(r->cost_unit);
    int64_t added = 0;
    struct vg_error err;
    if (unit == NULL || (r->cost_unit == t->cost_unit && r->cost_micros == t->cost_micros))
        return;
    if (store_attempt_cost(worker_store(w), j->g.id, r->cost_micros, unit, &added, &err) != VG_OK) {
        log_gen(LOG_WARN, j->g.id, "worker: generation %s: cannot record %s's cost: %s", j->g.id, j->g.provider,
                err.message);
        return;
    }
    t->cost_unit = r->cost_unit, t->cost_micros = r->cost_micros;
    metrics_provider_cost(j->g.provider, unit, added);
}

/* The provider said 429: every job of this provider waits as long as it asks. */
static void rate_limited(struct worker *w, const struct job *j, const struct remote_reply *r, int64_t now)
{
    limit_pause(worker_limit(w, j->g.provider),
                now + (r->retry_after_ms >= 0 ? r->retry_after_ms : RATE_LIMIT_DEFAULT_MS), now);
}

/* Whether a failed submit surely did not reach the provider, so that it may be sent again:
 * it was refused at the door (429, 503) or the connection was never made. */
static bool submit_not_received(CURLcode rc, long status)
{
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
        return true;
    return rc == CURLE_OK && (status == 429 || status == 503);
}

static void on_submitted(struct worker *w, struct job *j, const struct remote_reply *r, CURLcode rc, long status)
{
    int64_t now = clock_now_ms();
    switch (r->state) {
    case REMOTE_RUNNING:
    case REMOTE_SUCCEEDED: {
        if (r->job_id[0] == '\0' && r->state == REMOTE_RUNNING)
            return fail(w, j, "%s accepted the job but gave no id to follow it by (%s)", "");
        const char *id = r->job_id[0] ? r->job_id : "-"; /* "-": succeeded at once, nothing to poll by */
        struct job_update u = {.outcome = JOB_RUNNING, .progress = 5, .phase = "polling", .provider_job_id = id};
        int64_t at = next_poll_at(j, r, now);
        if (r->state == REMOTE_SUCCEEDED && worker_update(w, j, &u) == VG_OK)
            return download(w, j, r->video_url);
        if (r->state == REMOTE_RUNNING && worker_may_hold(w, j, at) && worker_update_row(w, j, &u) == VG_OK)
            return worker_hold(w, j, at);
        /* The job id goes with the release, which is written again until the store takes it:
         * a submit the provider took is never left in doubt by a passing store error. */
        u = (struct job_update){
            .outcome = JOB_WAIT, .next_run_at = at, .phase = "polling", .progress = 5, .provider_job_id = id};
        return worker_end(w, j, &u);
    }
    case REMOTE_RETRY:
        if (rc == CURLE_OK && status == 429) { /* "wait", not a fault: no attempt spent */
            rate_limited(w, j, r, now);
            return submit_later(w, j, JOB_WAIT, next_retry_at(j, r, now), r->message);
        }
        if (submit_not_received(rc, status))
            return fall_back(w, j, r->message) ? (void)0
                                               : submit_later(w, j, JOB_RETRY, next_retry_at(j, r, now), r->message);
        /* In doubt: a provider that can be asked which job it made is asked at the next claim
         * (the phase stays "submitting", see remote_job_start). */
        if (j->remote.provider->build_lookup != NULL)
            return release(w, j, JOB_RETRY, next_retry_at(j, r, now), NULL, r->message, -1);
        return fail(w, j, "%s did not confirm the request (%s); it is not sent again, so that it is not paid twice",
                    r->message);
    case REMOTE_FAILED:
        /* Refused at the door: nothing runs there. Another provider may take what this one
         * would not (a key, credits, its own limits), but never what its moderation refused. */
        if (!r->content_refused && fall_back(w, j, r->message))
            return;
        return fail(w, j, "%s refused the generation: %s", r->message);
    }
}

/* Still running at the provider: held until the next poll (a progress that moved is
 * written), or released until then when the wait is long. */
static void polled_running(struct worker *w, struct job *j, const struct remote_reply *r, int64_t now)
{
    int progress = r->progress >= 0 ? 5 + r->progress * 80 / 100 : -1;
    /* Waiting in the provider's own queue (Runway's THROTTLED, Kling's submitted): not
     * "queued", which means not yet sent to any provider. */
    const char *phase = r->queued ? "provider_queue" : "polling";
    bool moved = strcmp(phase, j->g.phase) != 0 || (progress >= 0 && progress != j->g.progress);
    int64_t at = next_poll_at(j, r, now);
    if (worker_may_hold(w, j, at)) {
        struct job_update u = {.outcome = JOB_RUNNING, .progress = progress, .phase = phase};
        if (!moved || worker_update_row(w, j, &u) == VG_OK)
            return worker_hold(w, j, at);
    }
    release(w, j, JOB_WAIT, at, phase, NULL, progress);
}

static void on_polled(struct worker *w, struct job *j, const struct remote_reply *r, CURLcode rc, long status)
{
    int64_t now = clock_now_ms();
    switch (r->state) {
    case REMOTE_RUNNING:
        if (now > j->deadline_ms)
            return fail(w, j, "%s did not deliver the video within the time this model is given%s", "");
        return polled_running(w, j, r, now);
    case REMOTE_SUCCEEDED: return download(w, j, r->video_url);
    case REMOTE_RETRY:
        if (rc == CURLE_OK && status == 429) {
            rate_limited(w, j, r, now);
            return release(w, j, JOB_WAIT, next_retry_at(j, r, now), NULL, NULL, -1);
        }
        return release(w, j, JOB_RETRY, next_retry_at(j, r, now), NULL, r->message, -1);
    case REMOTE_FAILED:
        if (r->resubmit && !r->content_refused)
            return resubmit(w, j, r->message);
        return fail(w, j, "%s could not make the video: %s", r->message);
    }
}

/* The answer to "which job did the cut-off submit make" (REMOTE_STEP_LOOKUP): that job is
 * followed from here on; none means a submit now is the first; no answer asks again later. */
static void on_looked_up(struct worker *w, struct job *j, const struct remote_http *http, CURLcode rc)
{
    struct remote_reply r;
    int found = j->remote.provider->parse_lookup(http, j->g.id, &r);
    record_health(w, j, &r, http->status);
    if (found == 0) {
        log_gen(LOG_INFO, j->g.id, "worker: generation %s: %s has no job of it; submitting", j->g.id,
                provider_display_name(j->g.provider));
        return submit(w, j, worker_route(w, j));
    }
    if (found < 0 && r.state == REMOTE_FAILED)
        return fail(w, j, "%s could not say whether the cut-off request made a job: %s", r.message);
    if (found < 0)
        return release(w, j, JOB_RETRY, next_retry_at(j, &r, clock_now_ms()), NULL, r.message, -1);
    record_cost(w, j, &r);
    struct job_update u = {.outcome = JOB_RUNNING, .progress = 5, .phase = "polling", .provider_job_id = r.job_id};
    if (worker_update_row(w, j, &u) != VG_OK)
        return end(w, j, JOB_WAIT, NULL); /* found again at the next claim */
    log_gen(LOG_INFO, j->g.id, "worker: generation %s: the cut-off submit made %s job %s; following it", j->g.id,
            provider_display_name(j->g.provider), r.job_id);
    on_polled(w, j, &r, rc, http->status);
}

/* The provider was asked to stop the job (REMOTE_STEP_CANCEL): cancelled whatever it said. */
static void on_cancelled(struct worker *w, struct job *j, CURLcode rc, long status)
{
    char msg[200];
    const char *name = provider_display_name(j->g.provider);
    if (rc == CURLE_OK && ((status >= 200 && status < 300) || status == 404))
        snprintf(msg, sizeof msg, "cancelled; %s stopped its job", name);
    else
        snprintf(msg, sizeof msg, "cancelled; %s was asked to stop its job but did not confirm (%s)", name,
                 rc == CURLE_OK ? "an HTTP error" : curl_easy_strerror(rc));
    end(w, j, JOB_CANCELLED, msg);
}

static void on_downloaded(struct worker *w, struct job *j, CURLcode rc, long status)
{
    struct remote_task *t = &j->remote;
    char why[200];
    close(t->fd);
    t->fd = -1;
    if (rc == CURLE_OK && status >= 200 && status < 300)
        return worker_finalize(w, j);
    unlink(t->tmp_video);
    if (rc == CURLE_FILESIZE_EXCEEDED || rc == CURLE_WRITE_ERROR)
        return fail(w, j, "%s's video is larger than this server takes (%s)", "1 GB");
    if (rc == CURLE_OK && status >= 400 && status < 500 && status != 408 && status != 429) {
        snprintf(why, sizeof why, "HTTP %ld", status);
        return fail(w, j, "%s's video could not be fetched (%s)", why);
    }
    /* A passing fault: the next claim polls again, which also renews an expired link. */
    snprintf(why, sizeof why, "downloading the video: %s", rc == CURLE_OK ? "server error" : curl_easy_strerror(rc));
    struct remote_reply r = {.retry_after_ms = -1};
    release(w, j, JOB_RETRY, next_retry_at(j, &r, clock_now_ms()), "polling", why, -1);
}

/* One request to the provider ended: its time and, when it failed, how (metrics/metrics.h). */
static void count_request(struct job *j, CURLcode rc, long status)
{
    static const char *const steps[] = {[REMOTE_STEP_SUBMIT] = "submit",
                                        [REMOTE_STEP_POLL] = "poll",
                                        [REMOTE_STEP_DOWNLOAD] = "download",
                                        [REMOTE_STEP_LOOKUP] = "lookup",
                                        [REMOTE_STEP_CANCEL] = "cancel"};
    struct remote_task *t = &j->remote;
    curl_off_t us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &us);
    if ((unsigned)t->step < sizeof steps / sizeof steps[0] && steps[t->step] != NULL)
        metrics_provider_request(j->g.provider, steps[t->step], rc != CURLE_OK, rc == CURLE_OPERATION_TIMEDOUT, status,
                                 (double)us / 1e6);
}

void remote_job_done(struct worker *w, struct job *j, CURLcode rc)
{
    struct remote_task *t = &j->remote;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    count_request(j, rc, status);
    end_transfer(w, j);
    t->status = rc == CURLE_OK ? status : 0;
    if (t->step == REMOTE_STEP_DOWNLOAD)
        return on_downloaded(w, j, rc, status);
    if (t->step == REMOTE_STEP_CANCEL)
        return on_cancelled(w, j, rc, status);
    struct remote_http http = {.status = rc == CURLE_OK ? status : 0,
                               .body = t->reply ? t->reply : "",
                               .body_len = t->reply_len,
                               .retry_after = t->retry_after[0] ? t->retry_after : NULL};
    struct remote_reply r;
    if (rc != CURLE_OK)
        log_gen(LOG_INFO, j->g.id, "worker: generation %s: %s: %s", j->g.id, t->req.url, curl_easy_strerror(rc));
    if (t->step == REMOTE_STEP_LOOKUP)
        return on_looked_up(w, j, &http, rc);
    if (t->step == REMOTE_STEP_SUBMIT)
        t->provider->parse_submit(&http, &r);
    else
        t->provider->parse_poll(&http, &r);
    record_health(w, j, &r, http.status);
    record_cost(w, j, &r);
    if (t->step == REMOTE_STEP_SUBMIT)
        on_submitted(w, j, &r, rc, status);
    else
        on_polled(w, j, &r, rc, status);
}

void remote_task_release(struct worker *w, struct job *j)
{
    struct remote_task *t = &j->remote;
    end_transfer(w, j);
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    remote_request_free(&t->req);
    t->req_is_poll = false;
    free(t->reply);
    t->reply = NULL;
    t->reply_len = t->reply_cap = 0;
    if (t->fd >= 0) {
        close(t->fd);
        unlink(t->tmp_video);
        t->fd = -1;
    }
}
