/* Eden AI (../shared/providers/edenai.md), its v3 async API (§2 v3, §4, §5):
 *
 *   submit  POST   {base}{endpoint}        the route's endpoint, /v3/universal-ai/async
 *           {"model": the route's model ("video/generation_async/amazon/amazon.nova-reel-v1:1"),
 *            "input": {"text", "duration" (number), "dimension" ("1280x720"), "file"? (a URL)},
 *            "webhook_receiver"?}
 *   poll    GET    {base}{endpoint}/{public_id}
 *   cancel  DELETE {base}{endpoint}/{public_id}
 *
 * Authorization: Bearer <key>; JSON in and out. A job reads
 * {public_id, status: processing|success|fail, output: {video_resource_url, video}, error: {message}}
 * (202 at submit, 200 at poll). Faults come as HTTP codes: 401/402 {detail, error_code},
 * 429 {…, retry_after: 1.5}, 422 {detail: [{loc, msg, type}]}, 5xx. The v3 input has no field
 * for a negative prompt, an end image, audio or prompt enhancement. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "providers/registry.h"
#include "providers/remote_util.h"

#define ED "Eden AI"
#define ED_MAX_SECONDS 600
#define ED_MAX_WEBHOOK_URL 2083

static bool ed_available(const struct config *cfg, char *reason, size_t len)
{
    return remote_key_available(cfg->edenai_api_key, "EDENAI_API_KEY", reason, len);
}

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static int check_job(const struct remote_job *job, char *err, size_t errlen)
{
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "EDENAI_API_KEY is not set"), -1;
    if (is_empty(job->model))
        return snprintf(err, errlen, "the route names no Eden AI model"), -1;
    if (is_empty(job->prompt))
        return snprintf(err, errlen, "Eden AI needs a prompt"), -1;
    if (!is_empty(job->negative_prompt))
        return snprintf(err, errlen, "Eden AI's video API takes no negative prompt"), -1;
    if (!is_empty(job->end_image_url))
        return snprintf(err, errlen, "Eden AI's video API takes no end image"), -1;
    if (job->generate_audio)
        return snprintf(err, errlen, "Eden AI's video API makes no audio"), -1;
    if (job->enhance_prompt)
        return snprintf(err, errlen, "Eden AI's video API offers no prompt enhancement"), -1;
    if (job->duration < 1 || job->duration > ED_MAX_SECONDS)
        return snprintf(err, errlen, "Eden AI cannot make a %d-second clip", job->duration), -1;
    if (!is_empty(job->webhook_url) && strlen(job->webhook_url) > ED_MAX_WEBHOOK_URL)
        return snprintf(err, errlen, "the webhook URL is longer than Eden AI's %d characters", ED_MAX_WEBHOOK_URL), -1;
    return 0;
}

/* input.dimension, "WxH", from the resolution (its lines: 720, 1080, 2160 on the short
 * side) and the aspect ratio "A:B" (16:9 at 720p is 1280x720, 9:16 is 720x1280); the long
 * side is rounded to an even number. NULL resolution or aspect: 720p, 16:9. */
static int dimension(const char *res, const char *aspect, char *out, size_t cap, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int lines;
    } sizes[] = {{"720p", 720}, {"1080p", 1080}, {"4K", 2160}};
    int lines = 0, a = 0, b = 0, n = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(res ? res : "720p", sizes[i].name) == 0)
            lines = sizes[i].lines;
    if (lines == 0)
        return snprintf(err, errlen, "Eden AI: no dimension for resolution %.16s", res), -1;
    aspect = aspect ? aspect : "16:9";
    if (sscanf(aspect, "%2d:%2d%n", &a, &b, &n) != 2 || aspect[n] != '\0' || a < 1 || b < 1)
        return snprintf(err, errlen, "Eden AI: no dimension for aspect ratio %.16s", aspect), -1;
    int lng = (lines * (a > b ? a : b) + (a > b ? b : a) / 2) / (a > b ? b : a);
    lng += lng & 1;
    snprintf(out, cap, "%dx%d", a >= b ? lng : lines, a >= b ? lines : lng);
    return 0;
}

static json_t *input_of(const struct remote_job *job, char *err, size_t errlen)
{
    char dim[48];
    json_t *in = json_object();
    if (in == NULL || dimension(job->resolution, job->aspect_ratio, dim, sizeof dim, err, errlen) ||
        remote_json_put_str(in, "text", job->prompt, "the prompt", err, errlen) ||
        json_object_set_new(in, "duration", json_integer(job->duration)) ||
        remote_json_put_str(in, "dimension", dim, "the dimension", err, errlen) ||
        (!is_empty(job->start_image_url) &&
         remote_json_put_str(in, "file", job->start_image_url, "the start image URL", err, errlen))) {
        json_decref(in);
        return NULL;
    }
    return in;
}

/* Headers of every call: the key as a Bearer token, JSON accepted. */
static int auth_headers(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    char auth[600];
    if (is_empty(job->api_key))
        return snprintf(err, errlen, "EDENAI_API_KEY is not set"), -1;
    if (snprintf(auth, sizeof auth, "Bearer %s", job->api_key) >= (int)sizeof auth)
        return snprintf(err, errlen, "EDENAI_API_KEY is too long"), -1;
    return remote_request_header(out, "Authorization", auth, err, errlen) ||
                   remote_request_header(out, "Accept", "application/json", err, errlen)
               ? -1
               : 0;
}

static int ed_build_submit(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    int rc = -1;
    json_t *b = NULL, *in = NULL;
    memset(out, 0, sizeof *out);
    if (check_job(job, err, errlen) || (in = input_of(job, err, errlen)) == NULL)
        return -1;
    if ((b = json_object()) == NULL || remote_json_put_str(b, "model", job->model, "the model string", err, errlen) ||
        json_object_set(b, "input", in) ||
        (!is_empty(job->webhook_url) &&
         remote_json_put_str(b, "webhook_receiver", job->webhook_url, "the webhook URL", err, errlen)))
        goto done;
    rc = remote_request_post_json(out, job->base_url, job->endpoint, NULL, b, err, errlen) ||
                 auth_headers(job, out, err, errlen)
             ? -1
             : 0;
done:
    json_decref(in);
    json_decref(b);
    return rc;
}

/* GET or DELETE {base}{endpoint}/{job_id}. */
static int job_request(const char *method, const struct remote_job *job, const char *job_id, struct remote_request *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    return remote_request_init(out, method, job->base_url, job->endpoint, job_id ? job_id : "", err, errlen) ||
                   auth_headers(job, out, err, errlen)
               ? -1
               : 0;
}

static int ed_build_poll(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                         size_t errlen)
{
    return job_request("GET", job, job_id, out, err, errlen);
}

static int ed_build_cancel(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                           size_t errlen)
{
    return job_request("DELETE", job, job_id, out, err, errlen);
}

/* --- reading replies --- */

enum ed_phase { ED_SUBMIT, ED_POLL, ED_WEBHOOK };

static void append(char *dst, size_t cap, const char *text)
{
    size_t n = strlen(dst);
    if (n + 1 < cap)
        remote_text_copy(dst + n, cap - n, text, strlen(text));
}

/* A 422's detail: "input.text: Field required; model: …" from [{loc: [..], msg}, …]. */
static void validation_detail(const json_t *detail, char *dst, size_t cap)
{
    size_t i;
    const json_t *item;
    json_array_foreach(detail, i, item)
    {
        const json_t *loc = json_object_get(item, "loc"), *part;
        size_t k;
        char piece[200] = "";
        if (i >= 4)
            break;
        json_array_foreach(loc, k, part)
        {
            char p[64];
            remote_json_text(part, p, sizeof p);
            append(piece, sizeof piece, k ? "." : "");
            append(piece, sizeof piece, p);
        }
        append(dst, cap, i ? "; " : "");
        append(dst, cap, piece);
        append(dst, cap, piece[0] ? ": " : "");
        append(dst, cap, remote_json_string(item, "msg") ? remote_json_string(item, "msg") : "invalid");
    }
}

/* Eden AI's words: detail (a string, or a 422's list), error (a string or {message}), message;
 * then error_code in parentheses. */
static void message_of(const json_t *root, char *dst, size_t cap)
{
    const json_t *detail = json_object_get(root, "detail"), *error = json_object_get(root, "error");
    const char *code = remote_json_string(root, "error_code");
    dst[0] = '\0';
    if (json_is_array(detail))
        validation_detail(detail, dst, cap);
    else
        remote_json_text(detail, dst, cap);
    if (dst[0] == '\0')
        remote_json_text(json_is_object(error) && json_object_get(error, "message") ? json_object_get(error, "message")
                                                                                    : error,
                         dst, cap);
    if (dst[0] == '\0')
        remote_json_text(json_object_get(root, "message"), dst, cap);
    if (code == NULL && json_is_object(error))
        code = remote_json_string(error, "error_code");
    if (code != NULL) {
        append(dst, cap, dst[0] ? " (" : "(");
        append(dst, cap, code);
        append(dst, cap, ")");
    }
}

/* A reply outside 2xx: its HTTP code decides, Eden AI's words say why. 0, 408, 429 and 5xx
 * are RETRY (502 is a provider-side fault, transient too); 401, 402, 403, 404, 413, 422,
 * 451 and every other 4xx FAILED. `root` may be NULL (then `why` says what came instead). */
static void read_error(const json_t *root, const char *why, const struct remote_http *http, enum ed_phase phase,
                       struct remote_reply *out)
{
    char msg[400];
    long s = http->status;
    remote_reply_status_named(http, ED, out);
    out->retry_after_ms = remote_http_retry_after_ms(http, root ? json_object_get(root, "retry_after") : NULL);
    if (root != NULL)
        message_of(root, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "%s", why);
    if (s == 0)
        return;
    if (msg[0] == '\0')
        snprintf(msg, sizeof msg, "no reason given");
    if (s == 401)
        remote_reply_set(out, REMOTE_FAILED, "Eden AI rejected the API key (check EDENAI_API_KEY): %s", msg);
    else if (s == 402)
        remote_reply_set(out, REMOTE_FAILED, "the Eden AI account is out of credits (top it up at edenai.co): %s", msg);
    else if (s == 404 && phase == ED_POLL)
        remote_reply_set(out, REMOTE_FAILED, "Eden AI no longer knows this job (HTTP 404): %s", msg);
    else if (s == 422) {
        remote_reply_set(out, REMOTE_FAILED, "Eden AI refused the request as invalid: %s", msg);
        out->content_refused = remote_text_is_moderation(msg);
    } else if (s == 451)
        remote_reply_set(out, REMOTE_FAILED, "Eden AI does not serve this request from its region (HTTP 451): %s", msg);
    else if (out->state == REMOTE_FAILED)
        remote_reply_set(out, REMOTE_FAILED, "Eden AI refused the request (HTTP %ld): %s", s, msg);
    else if (s == 429)
        remote_reply_set(out, REMOTE_RETRY, "Eden AI is rate limiting (HTTP 429): %s", msg);
    else if (s == 408 || s >= 500)
        remote_reply_set(out, REMOTE_RETRY, "Eden AI is busy or failing (HTTP %ld): %s", s, msg);
    else
        remote_reply_set(out, REMOTE_RETRY, "unexpected reply from Eden AI (HTTP %ld): %s", s, msg);
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcasecmp(s, *list) == 0)
            return true;
    return false;
}

/* v3 says success/fail; "succeeded", "finished", "failed" are v2's and the older webhook's. */
static const char *const succeeded[] = {"success", "succeeded", "finished", "completed", NULL};
static const char *const failed[] = {"fail", "failed", "error", NULL};
static const char *const running[] = {"processing", "pending", "queued", "running", NULL};

static void read_success(const json_t *root, struct remote_reply *out)
{
    const json_t *url = json_object_get(json_object_get(root, "output"), "video_resource_url");
    if (remote_json_copy_url(url, out->video_url, sizeof out->video_url))
        out->state = REMOTE_SUCCEEDED;
    else if (json_is_string(url) && json_string_length(url) > 0)
        remote_reply_set(out, REMOTE_FAILED, "Eden AI reported success with a video URL that cannot be used");
    else
        remote_reply_set(out, REMOTE_FAILED, "Eden AI reported success without a video");
}

/* A 2xx job object (submit, poll) or a webhook: the status decides. A job that says "fail"
 * ended for good (a refused prompt, unsafe content, the model's own fault): FAILED. */
static void read_job(const json_t *root, enum ed_phase phase, struct remote_reply *out)
{
    char msg[400];
    const char *status = remote_json_string(root, "status");
    remote_reply_cost(out, json_object_get(root, "cost"), REMOTE_COST_USD); /* v3: "0.48", in dollars */
    if (!remote_json_copy_id(json_object_get(root, "public_id"), out->job_id, sizeof out->job_id))
        remote_json_copy_id(json_object_get(root, "job_id"), out->job_id, sizeof out->job_id);
    status = status ? status : "";
    if (one_of(status, succeeded))
        read_success(root, out);
    else if (one_of(status, failed)) {
        message_of(root, msg, sizeof msg);
        remote_reply_set(out, REMOTE_FAILED, "Eden AI: %s", msg[0] ? msg : "the job failed without a reason");
        out->content_refused = remote_text_is_moderation(msg);
    } else if (phase == ED_SUBMIT && out->job_id[0] == '\0')
        /* Perhaps accepted, with nothing to follow it by: asking again could make a second
         * job, so it ends here. */
        remote_reply_set(out, REMOTE_FAILED, "Eden AI answered without a job id to follow");
    else if (one_of(status, running) || (phase == ED_SUBMIT && status[0] == '\0'))
        out->state = REMOTE_RUNNING; /* v2's submit answers {"public_id"} alone */
    else if (status[0] != '\0' && out->job_id[0] != '\0')
        remote_reply_set(out, REMOTE_RUNNING, "Eden AI status '%.32s'", status);
    else
        remote_reply_set(out, REMOTE_RETRY, "Eden AI sent a reply without a known status");
}

/* A reply to our own request, over the connection we opened: duplicate keys are read as
 * jansson does (the last wins), where a webhook, which anyone can POST, refuses them. */
static void parse(const struct remote_http *http, enum ed_phase phase, struct remote_reply *out)
{
    char why[300];
    json_t *root = remote_json_load(http->body, http->body_len, 0, why, sizeof why);
    if (http->status < 200 || http->status > 299)
        read_error(root, why, http, phase, out);
    else if (root == NULL) {
        remote_reply_status_named(http, ED, out);
        remote_reply_set(out, REMOTE_RETRY, "Eden AI sent %s (HTTP %ld)", why, http->status);
    } else {
        remote_reply_init(out);
        read_job(root, phase, out);
    }
    json_decref(root);
}

static void ed_parse_submit(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, ED_SUBMIT, out);
}

static void ed_parse_poll(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, ED_POLL, out);
}

/* v3: {"event":"async_job_completed","job_id","status":"success"|"fail","output"?,"error"?}
 * (an older form has no "event"). The signature (X-Edenai-Signature) is the caller's to
 * check; this reads the shape only. Duplicate keys are refused (anyone can POST one). */
static int ed_parse_webhook(const char *body, size_t len, struct remote_reply *out)
{
    char why[300], id[128];
    remote_reply_init(out);
    json_t *root = remote_json_load(body, len, JSON_REJECT_DUPLICATES, why, sizeof why);
    const json_t *event = root ? json_object_get(root, "event") : NULL;
    const char *status = root ? remote_json_string(root, "status") : NULL;
    if (root != NULL && event != NULL &&
        !(json_is_string(event) && strcmp(json_string_value(event), "async_job_completed") == 0))
        snprintf(why, sizeof why, "an event other than async_job_completed");
    else if (root != NULL && !remote_json_copy_id(json_object_get(root, "job_id"), id, sizeof id))
        snprintf(why, sizeof why, "no job_id");
    else if (root != NULL && (status == NULL || !(one_of(status, succeeded) || one_of(status, failed))))
        snprintf(why, sizeof why, "no final status");
    else if (root != NULL) {
        read_job(root, ED_WEBHOOK, out);
        json_decref(root);
        return 0;
    }
    json_decref(root);
    remote_reply_set(out, REMOTE_FAILED, "not an Eden AI webhook: %s", why);
    return -1;
}

const struct provider provider_edenai = {
    .name = "edenai",
    .display_name = "Eden AI",
    .kind = PROVIDER_HTTP,
    .available = ed_available,
    .build_submit = ed_build_submit,
    .build_poll = ed_build_poll,
    .build_cancel = ed_build_cancel,
    .parse_submit = ed_parse_submit,
    .parse_poll = ed_parse_poll,
    .parse_webhook = ed_parse_webhook,
};
