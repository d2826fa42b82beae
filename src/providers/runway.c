/* Runway's developer API (../shared/providers/runway.md):
 *
 *   submit  POST   {base}/v1/text_to_video   {"model":"gen4.5","promptText","ratio":"1280:720","duration":10}
 *           POST   {base}/v1/image_to_video  {"model":"gen4_turbo","promptImage":url,"promptText"?,"ratio","duration"}
 *   poll    GET    {base}/v1/tasks/{id}
 *   cancel  DELETE {base}/v1/tasks/{id}
 *
 * Every call carries Authorization: Bearer <key> and X-Runway-Version. The model strings are
 * the route's (config/catalog.json): Gen-3 Alpha Turbo left the API in 2026, so `runway-gen3`
 * is served by gen4.5 from text and gen4_turbo from a start image (§5). A task reads
 * {id, status: PENDING|THROTTLED|RUNNING|SUCCEEDED|FAILED|CANCELLED, progress?, output?,
 * failure?, failureCode?}; a fault is an HTTP code with {"error"} (400 validation adds
 * "issues"). Runway has no webhooks, no idempotency key and no negative prompt, end frame,
 * audio or prompt enhancement for these models. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "providers/registry.h"
#include "providers/remote_util.h"

#define RW "Runway"
#define RW_VERSION "2024-11-06"
#define RW_MIN_SECONDS 2
#define RW_MAX_SECONDS 10
#define RW_MAX_PROMPT_UTF16 1000
/* A task changes at most every 5 s (§4); the worker jitters a wait by a fifth either way,
 * so 6.25 s never comes back before 5 s. */
#define RW_POLL_MS 6250

static bool rw_available(const struct config *cfg, char *reason, size_t len)
{
    return remote_key_available(cfg->runway_api_key, "RUNWAY_API_KEY", reason, len);
}

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Our aspect ratio as Runway's output size at 720p; the square and 4:3 shapes are image
 * to video only (gen4.5 makes 1280:720 and 720:1280 from text). */
static const char *ratio_of(const char *aspect, bool image)
{
    static const struct {
        const char *aspect, *ratio;
        bool image_only;
    } ratios[] = {{"16:9", "1280:720", false}, {"9:16", "720:1280", false}, {"1:1", "960:960", true},
                  {"4:3", "1104:832", true},   {"3:4", "832:1104", true},   {"21:9", "1584:672", true}};
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++)
        if (strcmp(aspect ? aspect : "16:9", ratios[i].aspect) == 0 && (image || !ratios[i].image_only))
            return ratios[i].ratio;
    return NULL;
}

/* promptText's limit is in UTF-16 code units: a character beyond the BMP counts twice. */
static size_t utf16_units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80 ? ((*p >= 0xF0) ? 2 : 1) : 0;
    return n;
}

static int check_job(const struct remote_job *job, bool image, char *err, size_t errlen)
{
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "RUNWAY_API_KEY is not set"), -1;
    if (is_empty(job->model))
        return snprintf(err, errlen, "the route names no Runway model"), -1;
    if (image != !is_empty(job->start_image_url))
        return snprintf(err, errlen, "%s %s", job->endpoint, image ? "needs a start image" : "takes no image"), -1;
    if (!image && is_empty(job->prompt))
        return snprintf(err, errlen, "Runway needs a prompt to make a video from text"), -1;
    if (!is_empty(job->prompt) && utf16_units(job->prompt) > RW_MAX_PROMPT_UTF16)
        return snprintf(err, errlen, "Runway takes prompts of at most %d characters", RW_MAX_PROMPT_UTF16), -1;
    if (!is_empty(job->end_image_url))
        return snprintf(err, errlen, "Runway's gen4 models take no end frame"), -1;
    if (!is_empty(job->negative_prompt))
        return snprintf(err, errlen, "Runway takes no negative prompt"), -1;
    if (job->generate_audio || job->enhance_prompt)
        return snprintf(err, errlen, "Runway's video API offers no audio or prompt enhancement"), -1;
    if (job->resolution != NULL && strcmp(job->resolution, "720p") != 0)
        return snprintf(err, errlen, "Runway makes 720p, not %.16s", job->resolution), -1;
    if (ratio_of(job->aspect_ratio, image) == NULL)
        return snprintf(err, errlen, "Runway makes no %.16s video from %s", job->aspect_ratio,
                        image ? "an image" : "text"),
               -1;
    if (job->duration < RW_MIN_SECONDS || job->duration > RW_MAX_SECONDS)
        return snprintf(err, errlen, "Runway makes clips of %d to %d seconds, not %d", RW_MIN_SECONDS, RW_MAX_SECONDS,
                        job->duration),
               -1;
    return 0;
}

/* Which of the two endpoints the route gave; -1 for another. */
static int endpoint_kind(const char *endpoint)
{
    if (endpoint != NULL && strcmp(endpoint, "/v1/text_to_video") == 0)
        return 0;
    if (endpoint != NULL && strcmp(endpoint, "/v1/image_to_video") == 0)
        return 1;
    return -1;
}

static json_t *body_of(const struct remote_job *job, bool image, char *err, size_t errlen)
{
    json_t *b = json_object();
    if (b == NULL || remote_json_put_str(b, "model", job->model, "the model string", err, errlen) ||
        (!is_empty(job->prompt) && remote_json_put_str(b, "promptText", job->prompt, "the prompt", err, errlen)) ||
        (image && remote_json_put_str(b, "promptImage", job->start_image_url, "the start image URL", err, errlen)) ||
        remote_json_put_str(b, "ratio", ratio_of(job->aspect_ratio, image), "the ratio", err, errlen) ||
        json_object_set_new(b, "duration", json_integer(job->duration))) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* Authorization, X-Runway-Version and Accept: what every call carries. */
static int headers(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    char auth[600];
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "RUNWAY_API_KEY is not set"), -1;
    if (snprintf(auth, sizeof auth, "Bearer %s", job->api_key) >= (int)sizeof auth)
        return snprintf(err, errlen, "RUNWAY_API_KEY is too long"), -1;
    return remote_request_header(out, "Authorization", auth, err, errlen) ||
                   remote_request_header(out, "X-Runway-Version", RW_VERSION, err, errlen) ||
                   remote_request_header(out, "Accept", "application/json", err, errlen)
               ? -1
               : 0;
}

static int rw_build_submit(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    int kind = endpoint_kind(job->endpoint), rc = -1;
    memset(out, 0, sizeof *out);
    if (kind < 0)
        return snprintf(err, errlen, "Runway endpoint '%.128s' is not one this client speaks",
                        job->endpoint ? job->endpoint : ""),
               -1;
    if (check_job(job, kind == 1, err, errlen))
        return -1;
    json_t *b = body_of(job, kind == 1, err, errlen);
    if (b != NULL)
        rc = remote_request_post_json(out, job->base_url, job->endpoint, NULL, b, err, errlen) ||
                     headers(job, out, err, errlen)
                 ? -1
                 : 0;
    json_decref(b);
    return rc;
}

static int task_request(const char *method, const struct remote_job *job, const char *job_id,
                        struct remote_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    return remote_request_init(out, method, job->base_url, "/v1/tasks", job_id ? job_id : "", err, errlen) ||
                   headers(job, out, err, errlen)
               ? -1
               : 0;
}

static int rw_build_poll(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                         size_t errlen)
{
    return task_request("GET", job, job_id, out, err, errlen);
}

/* DELETE cancels a task that has not ended (and deletes one that has). */
static int rw_build_cancel(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                           size_t errlen)
{
    return task_request("DELETE", job, job_id, out, err, errlen);
}

/* --- reading replies --- */

enum rw_phase { RW_SUBMIT, RW_POLL };

/* Runway's words: "error", then the first validation issues as "path: message". */
static void message_of(const json_t *root, char *dst, size_t cap)
{
    const json_t *issues = json_object_get(root, "issues"), *issue;
    size_t i, n;
    remote_json_text(json_object_get(root, "error"), dst, cap);
    json_array_foreach(issues, i, issue)
    {
        char path[64] = "", msg[200] = "";
        const json_t *p = json_object_get(issue, "path");
        if (i >= 3 || (n = strlen(dst)) + 4 >= cap)
            break;
        remote_json_text(json_is_array(p) ? json_array_get(p, 0) : p, path, sizeof path);
        remote_json_text(json_object_get(issue, "message"), msg, sizeof msg);
        snprintf(dst + n, cap - n, "%s%s%s%s", n ? "; " : "", path, path[0] ? ": " : "", msg);
    }
}

/* A reply outside 2xx: the HTTP code decides (§4), Runway's "error" says why. */
static void read_error(const json_t *root, const char *why, const struct remote_http *http, enum rw_phase phase,
                       struct remote_reply *out)
{
    char msg[400] = "";
    long s = http->status;
    remote_reply_status_named(http, RW, out);
    if (s == 0)
        return;
    if (root != NULL)
        message_of(root, msg, sizeof msg);
    if (msg[0] == '\0')
        snprintf(msg, sizeof msg, "%s", root != NULL ? "no reason given" : why);
    if (s == 400 && remote_text_has(msg, "enough credits"))
        remote_reply_set(out, REMOTE_FAILED, "the Runway account is out of credits (top it up at dev.runwayml.com): %s",
                         msg);
    else if (s == 400 && remote_text_has(msg, "x-runway-version"))
        remote_reply_set(out, REMOTE_FAILED, "Runway no longer takes API version " RW_VERSION ": %s", msg);
    else if (s == 400)
        remote_reply_set(out, REMOTE_FAILED, "Runway refused the request: %s", msg);
    else if (s == 401)
        remote_reply_set(out, REMOTE_FAILED, "Runway rejected the API key (check RUNWAY_API_KEY): %s", msg);
    else if (s == 404 && phase == RW_POLL)
        remote_reply_set(out, REMOTE_FAILED, "Runway no longer knows this task (HTTP 404): %s", msg);
    else if (s == 429)
        remote_reply_set(out, REMOTE_RETRY, "Runway's daily generation limit is reached (HTTP 429): %s", msg);
    else if (out->state == REMOTE_RETRY)
        remote_reply_set(out, REMOTE_RETRY, "Runway is busy or failing (HTTP %ld): %s", s, msg);
    else
        remote_reply_set(out, REMOTE_FAILED, "Runway refused the request (HTTP %ld): %s", s, msg);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A FAILED task (§4): moderation never comes back; a fault of Runway's own may pass with a
 * new task; anything else (an invalid asset, an unknown or missing code) is final. */
static void read_failed(const json_t *task, struct remote_reply *out)
{
    char why[300];
    const char *code = remote_json_string(task, "failureCode");
    remote_json_text(json_object_get(task, "failure"), why, sizeof why);
    if (why[0] == '\0')
        snprintf(why, sizeof why, "no reason given");
    code = code ? code : "";
    if (starts_with(code, "SAFETY.") || starts_with(code, "INPUT_PREPROCESSING.SAFETY")) {
        remote_reply_set(out, REMOTE_FAILED, "Runway's moderation refused the generation (%.64s): %s", code, why);
        out->content_refused = true;
        return;
    }
    remote_reply_set(out, REMOTE_FAILED, "Runway: the task failed (%.64s): %s", code[0] ? code : "no code", why);
    out->resubmit = starts_with(code, "INTERNAL") || strcmp(code, "INPUT_PREPROCESSING.INTERNAL") == 0 ||
                    strcmp(code, "THIRD_PARTY.UNAVAILABLE") == 0;
}

static void read_succeeded(const json_t *task, struct remote_reply *out)
{
    const json_t *o = json_object_get(task, "output");
    if (remote_json_copy_url(json_array_get(o, 0), out->video_url, sizeof out->video_url))
        out->state = REMOTE_SUCCEEDED;
    else if (json_is_array(o) && json_array_size(o) > 0)
        remote_reply_set(out, REMOTE_FAILED, "Runway reported success with a video URL that cannot be used");
    else
        remote_reply_set(out, REMOTE_FAILED, "Runway reported success without a video");
}

static void read_running(const json_t *task, const char *status, struct remote_reply *out)
{
    const json_t *p = json_object_get(task, "progress");
    out->state = REMOTE_RUNNING;
    out->eta_ms = RW_POLL_MS;
    out->queued = strcmp(status, "RUNNING") != 0;
    if (json_is_number(p) && json_number_value(p) >= 0 && json_number_value(p) <= 1)
        out->progress = (int)(json_number_value(p) * 100);
    else if (out->queued)
        out->progress = 0;
}

/* What the task costs in credits: `cost` once Runway says it, else `estimatedCost` (the
 * submit's, in 2026-08 captures); each as {"credits": N} or as N. Both may be absent. */
static void read_cost(const json_t *task, struct remote_reply *out)
{
    static const char *const keys[] = {"estimatedCost", "cost"}; /* the later one wins */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(task, keys[i]);
        remote_reply_cost(out, json_is_object(v) ? json_object_get(v, "credits") : v, REMOTE_COST_CREDITS);
    }
}

/* A 2xx body: the submit's {"id"} or a task. */
static void read_task(const json_t *task, enum rw_phase phase, struct remote_reply *out)
{
    static const char *const waiting[] = {"PENDING", "THROTTLED", "RUNNING"};
    const char *status = remote_json_string(task, "status");
    read_cost(task, out);
    bool known_id = remote_json_copy_id(json_object_get(task, "id"), out->job_id, sizeof out->job_id);
    if (phase == RW_SUBMIT && !known_id)
        /* Perhaps accepted, with nothing to follow it by: asking again could make a second
         * task, so it ends here. */
        return remote_reply_set(out, REMOTE_FAILED, "Runway answered without a task id to follow");
    if (status == NULL && phase == RW_SUBMIT)
        return read_running(task, "PENDING", out);
    status = status ? status : "";
    for (size_t i = 0; i < sizeof waiting / sizeof waiting[0]; i++)
        if (strcmp(status, waiting[i]) == 0)
            return read_running(task, status, out);
    if (strcmp(status, "SUCCEEDED") == 0)
        read_succeeded(task, out);
    else if (strcmp(status, "FAILED") == 0)
        read_failed(task, out);
    else if (strcmp(status, "CANCELLED") == 0 || strcmp(status, "CANCELED") == 0)
        remote_reply_set(out, REMOTE_FAILED, "Runway: the task was cancelled");
    else if (status[0] != '\0' && known_id)
        remote_reply_set(out, REMOTE_RUNNING, "Runway status '%.32s'", status), out->eta_ms = RW_POLL_MS;
    else
        remote_reply_set(out, REMOTE_RETRY, "Runway sent a task without a known status");
}

static void parse(const struct remote_http *http, enum rw_phase phase, struct remote_reply *out)
{
    char why[300];
    json_t *root = remote_json_load(http->body, http->body_len, 0, why, sizeof why);
    if (http->status < 200 || http->status > 299)
        read_error(root, why, http, phase, out);
    else if (root == NULL) {
        remote_reply_status_named(http, RW, out);
        remote_reply_set(out, REMOTE_RETRY, "Runway sent %s (HTTP %ld)", why, http->status);
    } else {
        remote_reply_init(out);
        read_task(root, phase, out);
    }
    json_decref(root);
}

static void rw_parse_submit(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, RW_SUBMIT, out);
}

static void rw_parse_poll(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, RW_POLL, out);
}

const struct provider provider_runway = {
    .name = "runway",
    .display_name = "Runway",
    .kind = PROVIDER_HTTP,
    .available = rw_available,
    .images_need_https = true, /* §2: https on a domain name, no IP address */
    .build_submit = rw_build_submit,
    .build_poll = rw_build_poll,
    .build_cancel = rw_build_cancel,
    .parse_submit = rw_parse_submit,
    .parse_poll = rw_parse_poll,
    .parse_webhook = NULL, /* Runway documents no webhooks: polling only */
};
