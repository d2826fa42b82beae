/* Kling AI's official API (../shared/providers/kling.md):
 *
 *   submit  POST {base}/v1/videos/text2video   {"model_name","prompt","negative_prompt"?,"mode":"std"|"pro",
 *                                               "aspect_ratio","duration":"5"|"10","external_task_id","callback_url"?}
 *           POST {base}/v1/videos/image2video  the same with "image" and/or "image_tail", no aspect_ratio
 *   poll    GET  {base}/v1/videos/{family}/{task_id}
 *   lookup  GET  {base}/v1/videos/{family}?pageNum=1&pageSize=500, searched for our external_task_id
 *
 * Authorization: Bearer <JWT>, an HS256 token signed per request with the secret key (§1).
 * Every reply is the envelope {code, message, request_id, data?}: `code` 0 is success, and
 * it, not the HTTP status, says what went wrong (§5: billing faults come as 429s like the rate
 * limit). The resolution is the mode: 720p std, 1080p pro; the end frame (image_tail) needs
 * pro, which the catalog says (endImageResolutions) so that such a request is refused before
 * it is charged. Kling has no cancel. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "providers/registry.h"
#include "providers/remote_util.h"

#define KL "Kling"
#define KL_T2V "/v1/videos/text2video"
#define KL_I2V "/v1/videos/image2video"
#define KL_MAX_TEXT 2500
/* A token lives 30 minutes from now and is valid from 5 s ago, for a clock a little behind
 * Kling's (§1); each request gets a new one, so none is ever used near its expiry. */
#define KL_TOKEN_SECONDS 1800
#define KL_TOKEN_SKEW 5
/* Kling suggests polling every 5 to 10 s (§3); the worker jitters a fifth either way. */
#define KL_POLL_MS 6250
/* Over the account's concurrency (1303) Kling asks for at least a second's wait. */
#define KL_BUSY_MS 5000
#define KL_LOOKUP_PAGE "?pageNum=1&pageSize=500"
#define KL_LOOKUP_SIZE 500

static bool kl_available(const struct config *cfg, char *reason, size_t len)
{
    if (cfg->kling_access_key[0] == '\0')
        return remote_key_available("", "KLING_ACCESS_KEY", reason, len);
    return remote_key_available(cfg->kling_secret_key, "KLING_SECRET_KEY", reason, len);
}

static bool is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* The family (text2video or image2video) of a job: image2video when it has any image. The
 * worker picks the route's image endpoint by the start image alone, so a job with an end
 * frame only comes with the text endpoint and goes to image2video all the same. */
static const char *family_of(const struct remote_job *job, char *err, size_t errlen)
{
    if (job->endpoint == NULL || (strcmp(job->endpoint, KL_T2V) != 0 && strcmp(job->endpoint, KL_I2V) != 0))
        return snprintf(err, errlen, "Kling endpoint '%.128s' is not one this client speaks",
                        job->endpoint ? job->endpoint : ""),
               NULL;
    return is_empty(job->start_image_url) && is_empty(job->end_image_url) ? KL_T2V : KL_I2V;
}

/* --- the token --- */

static int b64url(const unsigned char *bin, size_t len, char *dst, size_t cap)
{
    size_t need = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (need > cap)
        return -1;
    sodium_bin2base64(dst, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

/* The access and secret keys out of the credential "ACCESS:SECRET" (config.c makes it; an
 * access key holds no ':'). */
static int split_credential(const char *cred, char *access, size_t cap, const char **secret)
{
    const char *colon = cred ? strchr(cred, ':') : NULL;
    if (colon == NULL || colon == cred || colon[1] == '\0' || (size_t)(colon - cred) >= cap)
        return -1;
    memcpy(access, cred, (size_t)(colon - cred));
    access[colon - cred] = '\0';
    *secret = colon + 1;
    return 0;
}

/* "Bearer <header>.<claims>.<signature>": HS256 over the first two parts, keyed by the
 * secret key's bytes, every part base64url without padding; claims {"iss","exp","nbf"}. */
static int bearer(const char *credential, long long now, char *dst, size_t cap, char *err, size_t errlen)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char access[256], signing[1024], sig64[64];
    const char *secret;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    if (split_credential(credential, access, sizeof access, &secret) != 0)
        return snprintf(err, errlen, "KLING_ACCESS_KEY and KLING_SECRET_KEY are not both set"), -1;
    json_t *claims = json_pack("{s:s, s:I, s:I}", "iss", access, "exp", (json_int_t)(now + KL_TOKEN_SECONDS), "nbf",
                               (json_int_t)(now - KL_TOKEN_SKEW));
    char *text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    size_t n = 0;
    int rc = text == NULL || b64url((const unsigned char *)header, sizeof header - 1, signing, sizeof signing);
    if (rc == 0) {
        n = strlen(signing);
        signing[n++] = '.';
        rc = b64url((const unsigned char *)text, strlen(text), signing + n, sizeof signing - n);
    }
    free(text);
    if (rc != 0)
        return snprintf(err, errlen, "KLING_ACCESS_KEY is not text that fits a token"), -1;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    b64url(mac, sizeof mac, sig64, sizeof sig64);
    if (snprintf(dst, cap, "Bearer %s.%s", signing, sig64) >= (int)cap)
        return snprintf(err, errlen, "the Kling token is too long"), -1;
    return 0;
}

static int headers(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    char auth[1200];
    return bearer(job->api_key, (long long)time(NULL), auth, sizeof auth, err, errlen) ||
                   remote_request_header(out, "Authorization", auth, err, errlen) ||
                   remote_request_header(out, "Accept", "application/json", err, errlen)
               ? -1
               : 0;
}

/* --- the submit --- */

static int check_job(const struct remote_job *job, bool image, char *err, size_t errlen)
{
    bool pro = job->resolution != NULL && strcmp(job->resolution, "1080p") == 0;
    if (is_empty(job->model))
        return snprintf(err, errlen, "the route names no Kling model"), -1;
    if (!image && is_empty(job->prompt))
        return snprintf(err, errlen, "Kling needs a prompt to make a video from text"), -1;
    if ((job->prompt && strlen(job->prompt) > KL_MAX_TEXT * 4) ||
        (job->negative_prompt && strlen(job->negative_prompt) > KL_MAX_TEXT * 4))
        return snprintf(err, errlen, "Kling takes texts of at most %d characters", KL_MAX_TEXT), -1;
    if (!pro && job->resolution != NULL && strcmp(job->resolution, "720p") != 0)
        return snprintf(err, errlen, "Kling makes 720p (std) or 1080p (pro), not %.16s", job->resolution), -1;
    if (!is_empty(job->end_image_url) && !pro)
        return snprintf(err, errlen, "Kling takes an end frame at 1080p (pro mode) only"), -1;
    if (job->duration != 5 && job->duration != 10)
        return snprintf(err, errlen, "Kling makes 5 or 10 second clips, not %d", job->duration), -1;
    if (!image && job->aspect_ratio != NULL && strcmp(job->aspect_ratio, "16:9") != 0 &&
        strcmp(job->aspect_ratio, "9:16") != 0 && strcmp(job->aspect_ratio, "1:1") != 0)
        return snprintf(err, errlen, "Kling makes 16:9, 9:16 or 1:1, not %.16s", job->aspect_ratio), -1;
    if (job->generate_audio || job->enhance_prompt)
        return snprintf(err, errlen, "Kling 2.5 offers no audio or prompt enhancement"), -1;
    return 0;
}

static int put_opt(json_t *b, const char *key, const char *value, const char *what, char *err, size_t errlen)
{
    return is_empty(value) ? 0 : remote_json_put_str(b, key, value, what, err, errlen);
}

/* aspect_ratio goes with text only: from an image, the image sets the shape (§6). */
static json_t *body_of(const struct remote_job *job, bool image, char *err, size_t errlen)
{
    bool pro = job->resolution != NULL && strcmp(job->resolution, "1080p") == 0;
    json_t *b = json_object();
    if (b == NULL || remote_json_put_str(b, "model_name", job->model, "the model string", err, errlen) ||
        put_opt(b, "prompt", job->prompt, "the prompt", err, errlen) ||
        put_opt(b, "negative_prompt", job->negative_prompt, "the negative prompt", err, errlen) ||
        remote_json_put_str(b, "mode", pro ? "pro" : "std", "the mode", err, errlen) ||
        (!image && remote_json_put_str(b, "aspect_ratio", job->aspect_ratio ? job->aspect_ratio : "16:9",
                                       "the aspect ratio", err, errlen)) ||
        remote_json_put_str(b, "duration", job->duration == 10 ? "10" : "5", "the duration", err, errlen) ||
        put_opt(b, "image", job->start_image_url, "the start image URL", err, errlen) ||
        put_opt(b, "image_tail", job->end_image_url, "the end image URL", err, errlen) ||
        put_opt(b, "external_task_id", job->generation_id, "the generation id", err, errlen) ||
        put_opt(b, "callback_url", job->webhook_url, "the callback URL", err, errlen)) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static int kl_build_submit(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    const char *family = family_of(job, err, errlen);
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (family == NULL || check_job(job, strcmp(family, KL_I2V) == 0, err, errlen))
        return -1;
    json_t *b = body_of(job, strcmp(family, KL_I2V) == 0, err, errlen);
    if (b != NULL)
        rc =
            remote_request_post_json(out, job->base_url, family, NULL, b, err, errlen) || headers(job, out, err, errlen)
                ? -1
                : 0;
    json_decref(b);
    return rc;
}

/* GET {family}/{task_id}, in the family the task was made in (another answers 404). */
static int kl_build_poll(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                         size_t errlen)
{
    const char *family = family_of(job, err, errlen);
    memset(out, 0, sizeof *out);
    return family == NULL ||
                   remote_request_init(out, "GET", job->base_url, family, job_id ? job_id : "", err, errlen) ||
                   headers(job, out, err, errlen)
               ? -1
               : 0;
}

/* The newest tasks of the family, to find ours by external_task_id. The contract leaves open
 * whether a task can be fetched by its external_task_id in the path (§3), so the documented
 * list is read instead; a crash is found within a lease, so the task is among the newest. */
static int kl_build_lookup(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen)
{
    char path[64];
    const char *family = family_of(job, err, errlen);
    memset(out, 0, sizeof *out);
    if (family == NULL)
        return -1;
    snprintf(path, sizeof path, "%s%s", family, KL_LOOKUP_PAGE);
    return remote_request_init(out, "GET", job->base_url, path, NULL, err, errlen) || headers(job, out, err, errlen)
               ? -1
               : 0;
}

/* --- reading replies --- */

enum kl_phase { KL_SUBMIT, KL_POLL, KL_WEBHOOK };

/* Kling's envelope codes (§5) and what each means for the job. */
static void read_code(long long code, const char *msg, const struct remote_http *http, enum kl_phase phase,
                      struct remote_reply *out)
{
    remote_reply_init(out);
    out->retry_after_ms = remote_http_retry_after_ms(http, NULL);
    if (code >= 1000 && code <= 1002)
        remote_reply_set(out, REMOTE_FAILED,
                         "Kling rejected the keys (check KLING_ACCESS_KEY and KLING_SECRET_KEY; "
                         "code %lld): %s",
                         code, msg);
    else if ((code == 1003 || code == 1004) && phase == KL_SUBMIT)
        remote_reply_set(out, REMOTE_FAILED, "Kling refused the token as %s (code %lld): check this server's clock: %s",
                         code == 1003 ? "not yet valid" : "expired", code, msg);
    else if (code == 1003 || code == 1004)
        remote_reply_set(out, REMOTE_RETRY, "Kling refused the token as %s (code %lld; the next has a new one): %s",
                         code == 1003 ? "not yet valid" : "expired", code, msg);
    else if (code >= 1100 && code <= 1102)
        remote_reply_set(out, REMOTE_FAILED,
                         "the Kling account cannot pay for this (in arrears or its resource "
                         "pack used up; code %lld): %s",
                         code, msg);
    else if (code == 1103 || code == 1304)
        remote_reply_set(out, REMOTE_FAILED, "Kling refused access (code %lld): %s", code, msg);
    else if (code == 1200 || code == 1201)
        remote_reply_set(out, REMOTE_FAILED, "Kling refused the request as invalid (code %lld): %s", code, msg);
    else if ((code == 1202 || code == 1203) && phase == KL_POLL)
        remote_reply_set(out, REMOTE_FAILED, "Kling no longer knows this task (code %lld): %s", code, msg);
    else if (code == 1300 || code == 1301) {
        remote_reply_set(out, REMOTE_FAILED, "Kling's content policy refused the generation (code %lld): %s", code,
                         msg);
        out->content_refused = true;
    } else if (code == 1302 || code == 1303) {
        remote_reply_set(out, REMOTE_RETRY, "Kling is %s (code %lld): %s",
                         code == 1302 ? "rate limiting" : "at the account's limit of tasks at once", code, msg);
        if (code == 1303 && out->retry_after_ms < KL_BUSY_MS)
            out->retry_after_ms = KL_BUSY_MS;
    } else if (code >= 5000 && code <= 5002)
        remote_reply_set(out, REMOTE_RETRY, "Kling is failing or busy (code %lld): %s", code, msg);
    else {
        remote_reply_status_named(http, KL, out);
        remote_reply_set(out, out->state, "Kling answered code %lld (HTTP %ld): %s", code, http->status, msg);
    }
}

static void read_succeeded(const json_t *task, struct remote_reply *out)
{
    const json_t *videos = json_object_get(json_object_get(task, "task_result"), "videos");
    const json_t *url = json_object_get(json_array_get(videos, 0), "url");
    if (remote_json_copy_url(url, out->video_url, sizeof out->video_url))
        out->state = REMOTE_SUCCEEDED;
    else if (json_is_string(url) && json_string_length(url) > 0)
        remote_reply_set(out, REMOTE_FAILED, "Kling reported success with a video URL that cannot be used");
    else
        remote_reply_set(out, REMOTE_FAILED, "Kling reported success without a video");
}

/* A task object (data of a reply, or a callback's body): task_status decides. */
static void read_task(const json_t *task, enum kl_phase phase, struct remote_reply *out)
{
    char msg[300];
    const char *status = remote_json_string(task, "task_status");
    remote_reply_init(out);
    remote_json_copy_id(json_object_get(task, "task_id"), out->job_id, sizeof out->job_id);
    /* the resource pack units the task took: a string ("5", "0.5"), absent until it is known */
    remote_reply_cost(out, json_object_get(task, "final_unit_deduction"), REMOTE_COST_UNITS);
    status = status ? status : "";
    if (phase == KL_SUBMIT && out->job_id[0] == '\0')
        /* Perhaps accepted, with nothing to follow it by: asking again could make a second
         * task, so it ends here. */
        return remote_reply_set(out, REMOTE_FAILED, "Kling answered without a task id to follow");
    if (strcmp(status, "succeed") == 0)
        return read_succeeded(task, out);
    if (strcmp(status, "failed") == 0) {
        remote_json_text(json_object_get(task, "task_status_msg"), msg, sizeof msg);
        return remote_reply_set(out, REMOTE_FAILED, "Kling: the task failed: %s", msg[0] ? msg : "no reason given");
    }
    if (strcmp(status, "submitted") == 0 || strcmp(status, "processing") == 0 || (status[0] && out->job_id[0])) {
        out->state = REMOTE_RUNNING;
        out->eta_ms = KL_POLL_MS;
        out->queued = strcmp(status, "submitted") == 0;
        if (strcmp(status, "submitted") != 0 && strcmp(status, "processing") != 0)
            remote_reply_set(out, REMOTE_RUNNING, "Kling status '%.32s'", status);
        return;
    }
    remote_reply_set(out, REMOTE_RETRY, "Kling sent a task without a known status");
}

/* The envelope: code 0 with a data object is a task; another code a fault (§5). A reply
 * without a readable code is judged by its HTTP status. */
static void parse(const struct remote_http *http, enum kl_phase phase, struct remote_reply *out)
{
    char why[300], msg[300];
    json_t *root = remote_json_load(http->body, http->body_len, 0, why, sizeof why);
    const json_t *code = root ? json_object_get(root, "code") : NULL;
    const json_t *data = root ? json_object_get(root, "data") : NULL;
    if (json_is_integer(code) && json_integer_value(code) != 0) {
        remote_json_text(json_object_get(root, "message"), msg, sizeof msg);
        read_code(json_integer_value(code), msg[0] ? msg : "no reason given", http, phase, out);
    } else if (json_is_integer(code) && json_is_object(data) && http->status >= 200 && http->status <= 299)
        read_task(data, phase, out);
    else {
        remote_reply_status_named(http, KL, out);
        if (http->status != 0)
            remote_reply_set(out, out->state, "Kling sent %s (HTTP %ld)",
                             root == NULL ? why : "a reply without its code and data", http->status);
    }
    json_decref(root);
}

static void kl_parse_submit(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, KL_SUBMIT, out);
}

static void kl_parse_poll(const struct remote_http *http, struct remote_reply *out)
{
    parse(http, KL_POLL, out);
}

/* A callback on every change of the task (§4): the bare task object, or the envelope. No
 * signature: the caller confirms by a poll. Duplicate keys are refused (anyone can POST). */
static int kl_parse_webhook(const char *body, size_t len, struct remote_reply *out)
{
    char why[300], id[128];
    remote_reply_init(out);
    json_t *root = remote_json_load(body, len, JSON_REJECT_DUPLICATES, why, sizeof why);
    const json_t *task = root && json_is_object(json_object_get(root, "data")) ? json_object_get(root, "data") : root;
    if (root != NULL && !remote_json_copy_id(json_object_get(task, "task_id"), id, sizeof id))
        snprintf(why, sizeof why, "no task_id");
    else if (root != NULL && remote_json_string(task, "task_status") == NULL)
        snprintf(why, sizeof why, "no task_status");
    else if (root != NULL) {
        read_task(task, KL_WEBHOOK, out);
        json_decref(root);
        return 0;
    }
    json_decref(root);
    remote_reply_set(out, REMOTE_FAILED, "not a Kling callback: %s", why);
    return -1;
}

/* The list's data is an array of tasks; ours carries task_info.external_task_id. */
static int kl_parse_lookup(const struct remote_http *http, const char *generation_id, struct remote_reply *out)
{
    char why[300];
    size_t i;
    const json_t *task;
    json_t *root = remote_json_load(http->body, http->body_len, 0, why, sizeof why);
    const json_t *code = root ? json_object_get(root, "code") : NULL, *data = json_object_get(root, "data");
    int found = -1;
    if (!(json_is_integer(code) && json_integer_value(code) == 0 && json_is_array(data))) {
        json_decref(root);
        parse(http, KL_POLL, out);
        if (out->state != REMOTE_FAILED) {
            int64_t wait = out->retry_after_ms;
            snprintf(why, sizeof why, "%.250s", out->message[0] ? out->message : "not a list of tasks");
            remote_reply_init(out);
            out->retry_after_ms = wait;
            remote_reply_set(out, REMOTE_RETRY, "Kling's task list could not be read: %s", why);
        }
        return -1;
    }
    found = 0;
    json_array_foreach(data, i, task)
    {
        const char *ext = remote_json_string(json_object_get(task, "task_info"), "external_task_id");
        if (ext != NULL && generation_id != NULL && strcmp(ext, generation_id) == 0) {
            read_task(task, KL_SUBMIT, out);
            found = out->job_id[0] != '\0' ? 1 : -1;
            break;
        }
    }
    if (found == 0 && json_array_size(data) >= KL_LOOKUP_SIZE)
        found = -1, remote_reply_init(out),
        remote_reply_set(out, REMOTE_FAILED, "not among Kling's %d newest tasks: it cannot tell", KL_LOOKUP_SIZE);
    else if (found == 0)
        remote_reply_init(out), remote_reply_set(out, REMOTE_FAILED, "Kling holds no task of this generation");
    json_decref(root);
    return found;
}

const struct provider provider_kling = {
    .name = "kling",
    .display_name = "Kling AI",
    .kind = PROVIDER_HTTP,
    .available = kl_available,
    .build_submit = kl_build_submit,
    .build_poll = kl_build_poll,
    .build_cancel = NULL, /* Kling documents no cancel */
    .parse_submit = kl_parse_submit,
    .parse_poll = kl_parse_poll,
    .parse_webhook = kl_parse_webhook,
    .build_lookup = kl_build_lookup,
    .parse_lookup = kl_parse_lookup,
};
