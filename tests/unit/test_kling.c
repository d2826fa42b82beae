/* Kling (providers/kling.c) against its contract (../shared/providers/kling.md): the token
 * (claims and signature, checked here with libsodium), the exact JSON of a submit by mode and
 * family, the poll and lookup requests, and every reply shape, malformed ones included. */
#include <sodium.h>
#include <time.h>

#include "remote_test.h"

#define AK "AkTestAccessKey"
#define SK "SkTestSecret/+=:x"
#define TASK "822953089408827433"

static const struct provider *kl(void)
{
    return &provider_kling;
}

static struct remote_job text_job(void)
{
    return (struct remote_job){
        .generation_id = "gen_01HZX",
        .base_url = "https://kling.test",
        .api_key = AK ":" SK,
        .model = "kling-v2-5-turbo",
        .endpoint = "/v1/videos/text2video",
        .prompt = "a red fox",
        .resolution = "720p",
        .aspect_ratio = "16:9",
        .duration = 5,
    };
}

static json_t *build(const struct remote_job *j, struct remote_request *r)
{
    char err[256] = "";
    cr_assert_eq(kl()->build_submit(j, r, err, sizeof err), 0, "refused: %s", err);
    return body_of(r);
}

static void expect_refused(const struct remote_job *j, const char *why, const char *what)
{
    struct remote_request r;
    char err[256] = "";
    cr_expect_eq(kl()->build_submit(j, &r, err, sizeof err), -1, "%s was accepted", what);
    cr_expect(strcasestr(err, why) != NULL, "%s: message '%s' does not say '%s'", what, err, why);
    remote_request_free(&r);
}

static struct remote_reply parsed(long status, const char *body, bool poll)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    (poll ? kl()->parse_poll : kl()->parse_submit)(&h, &r);
    return r;
}

static json_t *b64json(const char *part, size_t len)
{
    unsigned char bin[512];
    size_t n = 0;
    cr_assert_eq(
        sodium_base642bin(bin, sizeof bin, part, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0,
        "not base64url without padding: %.*s", (int)len, part);
    return json_loadb((const char *)bin, n, 0, NULL);
}

/* The request's token: its signature checked with SK, its claims returned. */
static json_t *token_claims(const struct remote_request *r)
{
    const char *auth = NULL;
    for (int i = 0; r->headers[i]; i++)
        if (strncmp(r->headers[i], "Authorization: Bearer ", 22) == 0)
            auth = r->headers[i] + 22;
    cr_assert_not_null(auth, "no Bearer token");
    const char *dot1 = strchr(auth, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    cr_assert(dot1 && dot2 && !strchr(dot2 + 1, '.'), "not three parts: %s", auth);
    json_t *head = b64json(auth, (size_t)(dot1 - auth));
    cr_expect_str_eq(json_string_value(json_object_get(head, "alg")), "HS256");
    cr_expect_str_eq(json_string_value(json_object_get(head, "typ")), "JWT");
    json_decref(head);
    unsigned char mac[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)SK, strlen(SK));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)auth, (size_t)(dot2 - auth));
    crypto_auth_hmacsha256_final(&st, want);
    cr_assert_eq(sodium_base642bin(mac, sizeof mac, dot2 + 1, strlen(dot2 + 1), NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                 0);
    cr_expect(n == sizeof mac && memcmp(mac, want, sizeof mac) == 0, "the signature is not HS256 with the secret");
    return b64json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
}

Test(kling, text2video_posts_the_exact_json_with_a_fresh_signed_token)
{
    struct remote_job j = text_job();
    struct remote_request r;
    long long now = (long long)time(NULL);
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.url, "https://kling.test/v1/videos/text2video");
    cr_expect(has_header(&r, "Content-Type: application/json"));
    cr_expect_str_eq(r.body, "{\"model_name\":\"kling-v2-5-turbo\",\"prompt\":\"a red fox\",\"mode\":\"std\","
                             "\"aspect_ratio\":\"16:9\",\"duration\":\"5\",\"external_task_id\":\"gen_01HZX\"}");
    cr_expect(strstr(r.body, SK) == NULL && strstr(r.headers[0], SK) == NULL, "the secret leaked");
    json_t *c = token_claims(&r);
    cr_expect_str_eq(json_string_value(json_object_get(c, "iss")), AK);
    long long exp = json_integer_value(json_object_get(c, "exp")), nbf = json_integer_value(json_object_get(c, "nbf"));
    cr_expect(exp >= now + 1800 && exp <= now + 1802, "exp %lld, now %lld", exp, now);
    cr_expect(nbf >= now - 5 && nbf <= now - 3, "nbf %lld, now %lld", nbf, now);
    cr_expect_eq(json_object_size(c), 3);
    json_decref(c);
    json_decref(b);
    remote_request_free(&r);
}

Test(kling, image2video_by_mode_with_start_and_end_frames_and_no_aspect_ratio)
{
    struct remote_job j = text_job();
    struct remote_request r;
    j.endpoint = "/v1/videos/image2video";
    j.resolution = "1080p";
    j.duration = 10;
    j.start_image_url = "https://vidgen.test/s.png";
    j.end_image_url = "https://vidgen.test/e.png";
    j.negative_prompt = "blur";
    j.webhook_url = "https://vidgen.test/hook/t";
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.url, "https://kling.test/v1/videos/image2video");
    expect_str(b, "mode", "pro");
    expect_str(b, "duration", "10");
    expect_str(b, "image", "https://vidgen.test/s.png");
    expect_str(b, "image_tail", "https://vidgen.test/e.png");
    expect_str(b, "negative_prompt", "blur");
    expect_str(b, "callback_url", "https://vidgen.test/hook/t");
    expect_absent(b, "aspect_ratio");
    expect_absent(b, "cfg_scale");
    expect_absent(b, "sound");
    json_decref(b);
    remote_request_free(&r);
    /* An end frame alone comes with the text endpoint (the worker picks by the start image). */
    j = text_job(), j.resolution = "1080p", j.end_image_url = "https://vidgen.test/e.png";
    b = build(&j, &r);
    cr_expect_str_eq(r.url, "https://kling.test/v1/videos/image2video");
    expect_absent(b, "image");
    json_decref(b);
    remote_request_free(&r);
    char err[256];
    cr_assert_eq(kl()->build_poll(&j, TASK, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(r.url, "https://kling.test/v1/videos/image2video/" TASK);
    remote_request_free(&r);
}

Test(kling, refuses_what_the_contract_cannot_say)
{
    struct remote_job j = text_job();
    j.end_image_url = "https://vidgen.test/e.png";
    expect_refused(&j, "1080p", "an end frame in std mode");
    j = text_job(), j.duration = 7;
    expect_refused(&j, "5 or 10", "7 s");
    j = text_job(), j.resolution = "4K";
    expect_refused(&j, "4K", "4K");
    j = text_job(), j.aspect_ratio = "4:3";
    expect_refused(&j, "4:3", "4:3");
    j = text_job(), j.prompt = "";
    expect_refused(&j, "prompt", "no prompt from text");
    j = text_job(), j.generate_audio = true;
    expect_refused(&j, "audio", "audio");
    j = text_job(), j.api_key = "only-an-access-key";
    expect_refused(&j, "KLING_SECRET_KEY", "no secret");
    j = text_job(), j.api_key = NULL;
    expect_refused(&j, "KLING_ACCESS_KEY", "no keys");
    j = text_job(), j.endpoint = "/v1/videos/extend";
    expect_refused(&j, "endpoint", "another endpoint");
}

Test(kling, submit_and_poll_replies_read_the_envelope)
{
    struct remote_reply r = parsed(200,
                                   "{\"code\":0,\"message\":\"SUCCEED\",\"request_id\":\"0e7\",\"data\":{\"task_id\":"
                                   "\"" TASK "\",\"task_status\":\"submitted\",\"task_info\":{\"external_task_id\":"
                                   "\"job-1\"},\"created_at\":1764235825029,\"updated_at\":1764235825029}}",
                                   false);
    expect_state(&r, REMOTE_RUNNING, "submitted");
    cr_expect(strcmp(r.job_id, TASK) == 0 && r.queued && r.eta_ms * 4 / 5 >= 5000);
    r = parsed(200,
               "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"processing\",\"task_result\":{}}}",
               true);
    cr_expect(r.state == REMOTE_RUNNING && !r.queued);
    r = parsed(200,
               "{\"code\":0,\"message\":\"SUCCEED\",\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"succeed\","
               "\"task_status_msg\":\"\",\"task_result\":{\"videos\":[{\"id\":\"8229\",\"url\":\"https://v16-kling-fdl."
               "klingai.com/a.mp4?x=1\",\"duration\":\"5.1\"}]}}}",
               true);
    expect_state(&r, REMOTE_SUCCEEDED, "succeed");
    cr_expect_str_eq(r.video_url, "https://v16-kling-fdl.klingai.com/a.mp4?x=1");
    r = parsed(200, "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"succeed\",\"task_result\":{}}}",
               true);
    expect_state(&r, REMOTE_FAILED, "succeed without a video");
    r = parsed(200,
               "{\"code\":0,\"data\":{\"task_id\":\"" TASK
               "\",\"task_status\":\"failed\",\"task_status_msg\":\"Failure "
               "to pass the risk control system\"}}",
               true);
    expect_state(&r, REMOTE_FAILED, "failed");
    cr_expect(says(&r, "risk control"));
    r = parsed(200, "{\"code\":0,\"data\":{\"task_status\":\"submitted\"}}", false);
    expect_state(&r, REMOTE_FAILED, "accepted without a task id");
}

/* final_unit_deduction (a string) in resource pack units, from a poll or a callback;
 * absent while Kling has not said it; a malformed one is none. */
Test(kling, final_unit_deduction_is_the_cost_in_units)
{
    struct remote_reply r = parsed(200,
                                   "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"succeed\","
                                   "\"final_unit_deduction\":\"5\",\"task_result\":{\"videos\":[{\"id\":\"1\","
                                   "\"url\":\"https://v16-kling-fdl.klingai.com/a.mp4\",\"duration\":\"5.1\"}]}}}",
                                   true);
    expect_state(&r, REMOTE_SUCCEEDED, "succeed");
    cr_expect(r.cost_unit == REMOTE_COST_UNITS && r.cost_micros == 5000000, "unit %d, %lld", r.cost_unit,
              (long long)r.cost_micros);
    r = parsed(200, "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"processing\"}}", true);
    cr_expect(r.state == REMOTE_RUNNING && r.cost_unit == REMOTE_COST_NONE, "not said yet");
    r = parsed(200,
               "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"processing\","
               "\"final_unit_deduction\":\"two\"}}",
               true);
    cr_expect(r.state == REMOTE_RUNNING && r.cost_unit == REMOTE_COST_NONE, "not a number: no cost");
    const char *cb = "{\"task_id\":\"" TASK "\",\"task_status\":\"failed\",\"task_status_msg\":\"x\","
                     "\"final_unit_deduction\":\"0.5\"}";
    cr_assert_eq(kl()->parse_webhook(cb, strlen(cb), &r), 0);
    cr_expect(r.state == REMOTE_FAILED && r.cost_unit == REMOTE_COST_UNITS && r.cost_micros == 500000,
              "a callback says it too");
    r = parsed(200, "{\"code\":1303,\"message\":\"busy\",\"data\":{\"final_unit_deduction\":\"1\"}}", true);
    cr_expect_eq(r.cost_unit, REMOTE_COST_NONE, "an error envelope: no cost");
}

Test(kling, errors_branch_on_the_code_not_the_http_status)
{
    static const struct {
        long http;
        int code;
        bool poll;
        enum remote_state want;
        const char *says;
    } cases[] = {
        {401, 1000, false, REMOTE_FAILED, "KLING_ACCESS_KEY"},
        {401, 1002, true, REMOTE_FAILED, "KLING_SECRET_KEY"},
        {401, 1004, false, REMOTE_FAILED, "clock"},
        {401, 1004, true, REMOTE_RETRY, "expired"},
        {429, 1102, false, REMOTE_FAILED, "pay"},
        {429, 1101, true, REMOTE_FAILED, "pay"},
        {403, 1103, false, REMOTE_FAILED, "access"},
        {400, 1201, false, REMOTE_FAILED, "invalid"},
        {404, 1203, true, REMOTE_FAILED, "no longer knows"},
        {400, 1301, false, REMOTE_FAILED, "content"},
        {200, 1301, false, REMOTE_FAILED, "content"},
        {429, 1302, false, REMOTE_RETRY, "rate"},
        {429, 1303, false, REMOTE_RETRY, "at once"},
        {429, 1304, false, REMOTE_FAILED, "access"},
        {500, 5000, true, REMOTE_RETRY, "failing"},
        {503, 5001, false, REMOTE_RETRY, "failing"},
        {504, 5002, true, REMOTE_RETRY, "failing"},
    };
    char body[200];
    for (size_t i = 0; i < N(cases); i++) {
        snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"words\",\"request_id\":\"8cfa\"}", cases[i].code);
        struct remote_reply r = parsed(cases[i].http, body, cases[i].poll);
        expect_state(&r, cases[i].want, body);
        cr_expect(says(&r, cases[i].says) && says(&r, "words"), "%d: %s", cases[i].code, r.message);
        cr_expect_eq(r.content_refused, cases[i].code == 1301, "%d: only a content refusal stops a fallback",
                     cases[i].code);
    }
    struct remote_reply r =
        parsed(429, "{\"code\":1303,\"message\":\"parallel task over resource pack limit\"}", false);
    cr_expect_geq(r.retry_after_ms, 1000, "1303 waits at least a second");
}

Test(kling, replies_without_an_envelope_go_by_http_status)
{
    static const struct {
        long http;
        const char *body;
        enum remote_state want;
    } cases[] = {
        {502, "<html>502 Bad Gateway</html>", REMOTE_RETRY},
        {0, "", REMOTE_RETRY},
        {200, "{\"code\":0", REMOTE_RETRY},
        {200, "{\"code\":0,\"message\":\"SUCCEED\"}", REMOTE_RETRY},
        {200, "{\"code\":\"0\",\"data\":{}}", REMOTE_RETRY},
        {401, "Unauthorized", REMOTE_FAILED},
        {200, "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\"}}", REMOTE_RETRY},
        /* a poll knows its task: an id that cannot go into a URL is dropped, the status read */
        {200, "{\"code\":0,\"data\":{\"task_id\":\"../../x\",\"task_status\":\"processing\"}}", REMOTE_RUNNING},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_reply r = parsed(cases[i].http, cases[i].body, true);
        expect_state(&r, cases[i].want, cases[i].body);
    }
}

Test(kling, callbacks_bare_or_enveloped)
{
    struct remote_reply r;
    const char *bare = "{\"task_id\":\"" TASK "\",\"task_status\":\"succeed\",\"task_info\":{\"external_task_id\":"
                       "\"g\"},\"task_result\":{\"videos\":[{\"url\":\"https://k.test/v.mp4\"}]}}";
    cr_expect_eq(kl()->parse_webhook(bare, strlen(bare), &r), 0);
    expect_state(&r, REMOTE_SUCCEEDED, "bare callback");
    const char *env = "{\"code\":0,\"data\":{\"task_id\":\"" TASK "\",\"task_status\":\"processing\"}}";
    cr_expect_eq(kl()->parse_webhook(env, strlen(env), &r), 0);
    cr_expect(r.state == REMOTE_RUNNING && strcmp(r.job_id, TASK) == 0);
    static const char *const bad[] = {"", "[]", "{\"task_status\":\"succeed\"}", "{\"task_id\":\"1\"}",
                                      "{\"task_id\":\"1\",\"task_id\":\"2\",\"task_status\":\"succeed\"}"};
    for (size_t i = 0; i < N(bad); i++) {
        cr_expect_eq(kl()->parse_webhook(bad[i], strlen(bad[i]), &r), -1, "'%s' taken", bad[i]);
        expect_clean_message(&r);
    }
}

Test(kling, lookup_lists_the_newest_tasks_and_finds_ours_by_external_task_id)
{
    struct remote_job j = text_job();
    struct remote_request req;
    struct remote_reply r;
    char err[256];
    cr_assert_eq(kl()->build_lookup(&j, &req, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(req.method, "GET");
    cr_expect_str_eq(req.url, "https://kling.test/v1/videos/text2video?pageNum=1&pageSize=500");
    remote_request_free(&req);
    const char *list = "{\"code\":0,\"data\":[{\"task_id\":\"1\",\"task_status\":\"succeed\",\"task_info\":{"
                       "\"external_task_id\":\"other\"}},{\"task_id\":\"" TASK "\",\"task_status\":\"processing\","
                       "\"task_info\":{\"external_task_id\":\"gen_01HZX\"}}]}";
    struct remote_http h = http_reply(200, list);
    cr_expect_eq(kl()->parse_lookup(&h, "gen_01HZX", &r), 1);
    cr_expect(r.state == REMOTE_RUNNING && strcmp(r.job_id, TASK) == 0);
    cr_expect_eq(kl()->parse_lookup(&h, "gen_none", &r), 0);
    h = http_reply(200, "{\"code\":0,\"data\":[]}");
    cr_expect_eq(kl()->parse_lookup(&h, "gen_01HZX", &r), 0);
    h = http_reply(503, "<html></html>");
    cr_expect_eq(kl()->parse_lookup(&h, "gen_01HZX", &r), -1);
    expect_state(&r, REMOTE_RETRY, "a lookup that failed");
    h = http_reply(401, "{\"code\":1000,\"message\":\"auth\"}");
    cr_expect_eq(kl()->parse_lookup(&h, "gen_01HZX", &r), -1);
    expect_state(&r, REMOTE_FAILED, "a lookup refused");
}

Test(kling, is_registered_and_needs_both_keys)
{
    struct config cfg;
    char why[256] = "";
    memset(&cfg, 0, sizeof cfg);
    cr_expect_eq(provider_find("kling"), &provider_kling);
    cr_expect_null(provider_kling.build_cancel);
    cr_expect_not(provider_available("kling", &cfg, why, sizeof why));
    cr_expect(strstr(why, "KLING_ACCESS_KEY") != NULL, "%s", why);
    strcpy(cfg.kling_access_key, "a");
    cr_expect_not(provider_available("kling", &cfg, why, sizeof why));
    cr_expect(strstr(why, "KLING_SECRET_KEY") != NULL, "%s", why);
    strcpy(cfg.kling_secret_key, "s");
    strcpy(cfg.kling_credential, "a:s");
    cr_expect(provider_available("kling", &cfg, why, sizeof why));
    const char *base, *key;
    provider_settings(&provider_kling, &cfg, &base, &key);
    cr_expect_str_eq(key, "a:s");
    cr_expect_eq(provider_limits_of(&provider_kling, &cfg), &cfg.kling_limits);
}
