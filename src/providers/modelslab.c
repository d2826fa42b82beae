/* ModelsLab (../shared/providers/modelslab.md): two API families, told apart by the route's
 * endpoint.
 *
 *   v6  /v6/video/text2video_ultra, /v6/video/img2video_ultra (Wan 2.2, LTX): the length is
 *       num_frames at fps, the shape a `portrait` flag (16:9 or 9:16 only), no audio, no
 *       resolution field; `webhook` and `track_id` (our generation id) are documented.
 *   v7  /v7/video-fusion/text-to-video, /v7/video-fusion/image-to-video (Veo, Seedance, …):
 *       aspect_ratio, duration as a *string* ("8"), resolution, generate_audio,
 *       enhance_prompt. Webhooks are not documented on v7 [UNCONFIRMED]: they are sent only
 *       when we have one, polling covers the case where v7 ignores them.
 *
 * Every call is a POST with Content-Type: application/json and the API key as the body's
 * "key" (no Authorization header), the fetch of a job too: POST {family}/fetch/{id} with
 * {"key"}. Every reply has one shape whatever the state, and its "status" is the truth
 * whatever the HTTP code: ModelsLab sends errors inside 200s. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "providers/registry.h"
#include "providers/remote_util.h"

#define ML "ModelsLab"

enum ml_family { ML_V6, ML_V7 };

/* The submit endpoints this client speaks. */
static const struct ml_endpoint {
    const char *path;
    enum ml_family family;
    bool image; /* takes init_image, and needs it */
} endpoints[] = {
    {"/v6/video/text2video_ultra", ML_V6, false},
    {"/v6/video/img2video_ultra", ML_V6, true},
    {"/v7/video-fusion/text-to-video", ML_V7, false},
    {"/v7/video-fusion/image-to-video", ML_V7, true},
};

static const char *const fetch_paths[] = {[ML_V6] = "/v6/video/fetch", [ML_V7] = "/v7/video-fusion/fetch"};

/* v6 length: Wan makes 4n+1 frames and takes at most 16 fps, so `seconds` is
 * seconds × 16 + 1 frames at 16 fps (5 s gives its default of 81 frames). */
#define ML_V6_FPS 16
#define ML_MAX_SECONDS 600

static bool ml_available(const struct config *cfg, char *reason, size_t len)
{
    return remote_key_available(cfg->modelslab_api_key, "MODELSLAB_API_KEY", reason, len);
}

static const struct ml_endpoint *find_endpoint(const char *path)
{
    for (size_t i = 0; path != NULL && i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (strcmp(endpoints[i].path, path) == 0)
            return &endpoints[i];
    return NULL;
}

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* What a job of either family must have. */
static int check_common(const struct remote_job *job, const struct ml_endpoint *ep, char *err, size_t errlen)
{
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "MODELSLAB_API_KEY is not set"), -1;
    if (ep == NULL)
        return snprintf(err, errlen, "ModelsLab endpoint '%.128s' is not one this client speaks",
                        job->endpoint ? job->endpoint : ""),
               -1;
    if (is_empty(job->model))
        return snprintf(err, errlen, "the route names no ModelsLab model"), -1;
    if (is_empty(job->prompt))
        return snprintf(err, errlen, "ModelsLab needs a prompt"), -1;
    if (ep->image && is_empty(job->start_image_url))
        return snprintf(err, errlen, "%s needs a start image", ep->path), -1;
    if (!ep->image && !is_empty(job->start_image_url))
        return snprintf(err, errlen, "%s takes no start image (the route has no image endpoint)", ep->path), -1;
    if (!is_empty(job->end_image_url))
        return snprintf(err, errlen, "ModelsLab takes no end image"), -1;
    if (job->duration < 1 || job->duration > ML_MAX_SECONDS)
        return snprintf(err, errlen, "ModelsLab cannot make a %d-second clip", job->duration), -1;
    return 0;
}

/* What v6 cannot express: it has no field for them, so the job would be made without. */
static int check_v6(const struct remote_job *job, char *err, size_t errlen)
{
    if (job->generate_audio)
        return snprintf(err, errlen, "ModelsLab's v6 video endpoints make no audio"), -1;
    if (job->enhance_prompt)
        return snprintf(err, errlen, "ModelsLab's v6 video endpoints offer no prompt enhancement"), -1;
    if (job->aspect_ratio != NULL && strcmp(job->aspect_ratio, "16:9") != 0 && strcmp(job->aspect_ratio, "9:16") != 0)
        return snprintf(err, errlen, "ModelsLab's v6 video endpoints make 16:9 or 9:16, not %.16s", job->aspect_ratio),
               -1;
    if (job->resolution != NULL && strcmp(job->resolution, "720p") != 0)
        return snprintf(err, errlen, "ModelsLab's v6 video endpoints take no resolution (%.16s asked)",
                        job->resolution),
               -1;
    return 0;
}

/* The fields both families share: key, model_id, prompt, negative_prompt, init_image, and
 * webhook + track_id. v6 always gets track_id (documented, echoed in callbacks); v7 gets
 * both only with a webhook. */
static int put_common(json_t *b, const struct remote_job *job, enum ml_family f, char *err, size_t errlen)
{
    if (remote_json_put_str(b, "key", job->api_key, "MODELSLAB_API_KEY", err, errlen) ||
        remote_json_put_str(b, "model_id", job->model, "the model string", err, errlen) ||
        remote_json_put_str(b, "prompt", job->prompt, "the prompt", err, errlen))
        return -1;
    if (!is_empty(job->negative_prompt) &&
        remote_json_put_str(b, "negative_prompt", job->negative_prompt, "the negative prompt", err, errlen))
        return -1;
    if (!is_empty(job->start_image_url) &&
        remote_json_put_str(b, "init_image", job->start_image_url, "the start image URL", err, errlen))
        return -1;
    if (!is_empty(job->webhook_url) &&
        remote_json_put_str(b, "webhook", job->webhook_url, "the webhook URL", err, errlen))
        return -1;
    if (!is_empty(job->generation_id) && (f == ML_V6 || !is_empty(job->webhook_url)) &&
        remote_json_put_str(b, "track_id", job->generation_id, "the generation id", err, errlen))
        return -1;
    return 0;
}

static int put_v6(json_t *b, const struct remote_job *job)
{
    bool portrait = job->aspect_ratio != NULL && strcmp(job->aspect_ratio, "9:16") == 0;
    return json_object_set_new(b, "portrait", json_boolean(portrait)) ||
           json_object_set_new(b, "num_frames", json_integer((json_int_t)job->duration * ML_V6_FPS + 1)) ||
           json_object_set_new(b, "fps", json_integer(ML_V6_FPS));
}

/* v7: duration is a string; audio and enhancement are always said, as Veo 3 makes audio
 * unless told not to. */
static int put_v7(json_t *b, const struct remote_job *job, char *err, size_t errlen)
{
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", job->duration);
    if (json_object_set_new(b, "duration", json_string(seconds)) ||
        json_object_set_new(b, "generate_audio", json_boolean(job->generate_audio)) ||
        json_object_set_new(b, "enhance_prompt", json_boolean(job->enhance_prompt)))
        return snprintf(err, errlen, "out of memory"), -1;
    if (!is_empty(job->aspect_ratio) &&
        remote_json_put_str(b, "aspect_ratio", job->aspect_ratio, "the aspect ratio", err, errlen))
        return -1;
    if (!is_empty(job->resolution) &&
        remote_json_put_str(b, "resolution", job->resolution, "the resolution", err, errlen))
        return -1;
    return 0;
}

static int ml_build_submit(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    const struct ml_endpoint *ep = find_endpoint(job->endpoint);
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (check_common(job, ep, err, errlen) || (ep->family == ML_V6 && check_v6(job, err, errlen)))
        return -1;
    json_t *b = json_object();
    if (b == NULL || put_common(b, job, ep->family, err, errlen))
        goto done;
    if (ep->family == ML_V6 && put_v6(b, job) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (ep->family == ML_V7 && put_v7(b, job, err, errlen) != 0)
        goto done;
    rc = remote_request_post_json(out, job->base_url, ep->path, NULL, b, err, errlen) ||
                 remote_request_header(out, "Accept", "application/json", err, errlen)
             ? -1
             : 0;
done:
    json_decref(b);
    return rc;
}

/* The fetch of a job: POST /v6/video/fetch/{id} or /v7/video-fusion/fetch/{id} with {"key"},
 * the family read from the job's endpoint. The body is written directly (remote_request_json_pair):
 * the worker builds a job's poll once and sends it at each poll, but thousands of jobs make
 * their first poll together after a burst of submits. */
static int ml_build_poll(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                         size_t errlen)
{
    enum ml_family f;
    memset(out, 0, sizeof *out);
    if (job->endpoint != NULL && strncmp(job->endpoint, "/v6/", 4) == 0)
        f = ML_V6;
    else if (job->endpoint != NULL && strncmp(job->endpoint, "/v7/", 4) == 0)
        f = ML_V7;
    else
        return snprintf(err, errlen, "ModelsLab endpoint '%.128s' belongs to no known family",
                        job->endpoint ? job->endpoint : ""),
               -1;
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "MODELSLAB_API_KEY is not set"), -1;
    return remote_request_init(out, "POST", job->base_url, fetch_paths[f], job_id ? job_id : "", err, errlen) ||
                   remote_request_header(out, "Content-Type", "application/json", err, errlen) ||
                   remote_request_json_pair(out, "key", job->api_key, "MODELSLAB_API_KEY", err, errlen) ||
                   remote_request_header(out, "Accept", "application/json", err, errlen)
               ? -1
               : 0;
}

/* --- reading replies --- */

enum ml_phase { ML_SUBMIT, ML_POLL, ML_WEBHOOK };

/* ModelsLab's own words: "message", or "messege" in legacy bodies; then "error". */
static void message_of(const json_t *root, char *dst, size_t cap)
{
    static const char *const keys[] = {"message", "messege", "error"};
    dst[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && dst[0] == '\0'; i++)
        remote_json_text(json_object_get(root, keys[i]), dst, cap);
}

static bool transient_status(long s)
{
    return s == 0 || s == 408 || s == 429 || (s >= 500 && s <= 599);
}

/* Messages that say the call did not run for now: a rate limit, a full queue (HTTP 429's
 * "Maximum 5 queued requests"), or a fault on ModelsLab's side. */
static bool transient_message(const char *msg)
{
    static const char *const words[] = {
        "rate limit",          "too many requests", "queued requests", "queue is full",
        "queue full",          "server error",      "overloaded",      "temporarily unavailable",
        "service unavailable", "timed out",         "timeout",         "try again later"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (remote_text_has(msg, words[i]))
            return true;
    return false;
}

/* The account faults, with what the operator must do about them. */
static bool account_failure(long s, const char *msg, struct remote_reply *out)
{
    const char *sep = msg[0] ? ": " : "";
    if (s == 401 || remote_text_has(msg, "api key") || remote_text_has(msg, "api_key"))
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab rejected the API key (check MODELSLAB_API_KEY)%s%s", sep, msg);
    else if (s == 402 || remote_text_has(msg, "insufficient") || remote_text_has(msg, "credit"))
        remote_reply_set(out, REMOTE_FAILED, "the ModelsLab account is out of credits (top it up at modelslab.com)%s%s",
                         sep, msg);
    else if (s == 403)
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab refused: the account's plan does not include this model%s%s",
                         sep, msg);
    else
        return false;
    return true;
}

/* A reply with no readable status: the HTTP code decides (401/402/403 with their advice,
 * other 4xx FAILED, anything else RETRY). */
static void unreadable(const struct remote_http *http, const char *what, struct remote_reply *out)
{
    remote_reply_status_named(http, ML, out);
    if (http->status == 0 || account_failure(http->status, "", out))
        return;
    if (out->state == REMOTE_FAILED)
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab refused the request (HTTP %ld) with %s", http->status, what);
    else
        remote_reply_set(out, REMOTE_RETRY, "ModelsLab sent %s (HTTP %ld)", what, http->status);
}

/* "failed" or "error", whatever the HTTP code. The rule, in order:
 *  1. HTTP 401/402/403, or a message about the API key or credits: FAILED, saying what to do.
 *  2. HTTP 408/429/5xx: RETRY, the call itself did not go through.
 *  3. A rate-limit, full-queue or server-side message (transient_message): RETRY — except
 *     "failed" read by a poll or a webhook: that is the job's own end, and asking again
 *     would only give the same answer, so FAILED.
 *  4. "Request not found" (a fetch of an unknown or expired id), or HTTP 404 on a poll:
 *     FAILED, ModelsLab no longer knows the job.
 *  5. Anything else (a refused prompt, unsafe content, a bad parameter): FAILED with
 *     ModelsLab's message. */
static void read_failure(const json_t *root, const struct remote_http *http, enum ml_phase phase, const char *status,
                         struct remote_reply *out)
{
    char msg[400];
    bool job_ended = strcasecmp(status, "failed") == 0 && phase != ML_SUBMIT;
    message_of(root, msg, sizeof msg);
    if (account_failure(http->status, msg, out))
        return;
    if (transient_status(http->status) || (!job_ended && transient_message(msg)))
        remote_reply_set(out, REMOTE_RETRY, "ModelsLab is %s (HTTP %ld): %s",
                         http->status == 429 || remote_text_has(msg, "rate limit") || remote_text_has(msg, "queue")
                             ? "rate limiting or its queue is full"
                             : "busy or failing",
                         http->status, msg[0] ? msg : status);
    else if (remote_text_has(msg, "request not found") || (phase == ML_POLL && http->status == 404))
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab no longer knows this job (%s): it expired or was never made",
                         msg[0] ? msg : "not found");
    else {
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab: %s", msg[0] ? msg : "the job failed without a reason");
        out->content_refused = remote_text_is_moderation(msg);
    }
}

/* output[0] (or output as a string), else proxy_links[0]. */
static bool video_url(const json_t *root, char *dst, size_t cap)
{
    static const char *const keys[] = {"output", "proxy_links"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(root, keys[i]);
        if (remote_json_copy_url(json_is_array(v) ? json_array_get(v, 0) : v, dst, cap))
            return true;
    }
    return false;
}

static void read_success(const json_t *root, struct remote_reply *out)
{
    const json_t *o = json_object_get(root, "output");
    if (video_url(root, out->video_url, sizeof out->video_url))
        out->state = REMOTE_SUCCEEDED;
    else if ((json_is_array(o) && json_array_size(o) > 0) || (json_is_string(o) && json_string_length(o) > 0))
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab reported success with a video URL that cannot be used");
    else
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab reported success without a video");
}

/* Reads a reply whose "status" is a string; `out` is initialised. */
static void read_reply(const json_t *root, const struct remote_http *http, enum ml_phase phase,
                       struct remote_reply *out)
{
    const char *status = remote_json_string(root, "status");
    remote_json_copy_id(json_object_get(root, "id"), out->job_id, sizeof out->job_id);
    out->retry_after_ms = remote_http_retry_after_ms(http, json_object_get(root, "retry_after"));
    if (strcasecmp(status, "success") == 0)
        read_success(root, out);
    else if (strcasecmp(status, "failed") == 0 || strcasecmp(status, "error") == 0)
        read_failure(root, http, phase, status, out);
    else if (phase == ML_SUBMIT && out->job_id[0] == '\0')
        /* Accepted (or so it seems) with nothing to follow it by: asking again could make a
         * second job, so it ends here. */
        remote_reply_set(out, REMOTE_FAILED, "ModelsLab answered '%.32s' without a job id to follow", status);
    else if (strcasecmp(status, "processing") == 0)
        out->state = REMOTE_RUNNING, out->eta_ms = remote_json_seconds_ms(json_object_get(root, "eta"));
    else
        /* An undocumented status ("queued", …) of a job that exists: keep following it. */
        remote_reply_set(out, REMOTE_RUNNING, "ModelsLab status '%.32s'", status);
}

/* A reply to our own request, over the connection we opened: duplicate keys are read as
 * jansson does (the last wins), where a webhook, which anyone can POST, refuses them. */
static void parse(const struct remote_http *http, enum ml_phase phase, struct remote_reply *out)
{
    char why[300], msg[200];
    json_t *root = remote_json_load(http->body, http->body_len, 0, why, sizeof why);
    if (root != NULL && remote_json_string(root, "status") == NULL) {
        message_of(root, msg, sizeof msg);
        snprintf(why, sizeof why, "a reply without a status%s%s%s", msg[0] ? " (\"" : "", msg, msg[0] ? "\")" : "");
        json_decref(root);
        root = NULL;
    }
    if (root == NULL)
        return unreadable(http, why, out);
    remote_reply_init(out);
    read_reply(root, http, phase, out);
    json_decref(root);
}

static void ml_parse_submit(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, ML_SUBMIT, out);
}

static void ml_parse_poll(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, ML_POLL, out);
}

/* A callback: {"status":"success","id":…,"output":[url],"track_id":…} or
 * {"status":"failed","id":…,"message":…,"track_id":…}. Unsigned, so it is only a hint: the
 * caller confirms it with a fetch. Duplicate keys are refused (anyone can POST one). */
static int ml_parse_webhook(const char *body, size_t len, struct remote_reply *out)
{
    static const char *const statuses[] = {"success", "failed", "error", "processing"};
    struct remote_http http = {.status = 200, .body = body, .body_len = len};
    char why[300], id[128];
    bool known = false;
    remote_reply_init(out);
    json_t *root = remote_json_load(body, len, JSON_REJECT_DUPLICATES, why, sizeof why);
    const char *status = root ? remote_json_string(root, "status") : NULL;
    for (size_t i = 0; status != NULL && i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || strcasecmp(status, statuses[i]) == 0;
    if (root != NULL && !(remote_json_copy_id(json_object_get(root, "id"), id, sizeof id) ||
                          remote_json_string(root, "track_id") != NULL))
        snprintf(why, sizeof why, "no id or track_id");
    else if (root != NULL && !known)
        snprintf(why, sizeof why, "no known status");
    else if (root != NULL) {
        read_reply(root, &http, ML_WEBHOOK, out);
        json_decref(root);
        return 0;
    }
    json_decref(root);
    remote_reply_set(out, REMOTE_FAILED, "not a ModelsLab webhook: %s", why);
    return -1;
}

const struct provider provider_modelslab = {
    .name = "modelslab",
    .display_name = "ModelsLab",
    .kind = PROVIDER_HTTP,
    .available = ml_available,
    .build_submit = ml_build_submit,
    .build_poll = ml_build_poll,
    .build_cancel = NULL, /* ModelsLab documents no cancel */
    .parse_submit = ml_parse_submit,
    .parse_poll = ml_parse_poll,
    .parse_webhook = ml_parse_webhook,
};
