/* Eden AI (providers/edenai.c) against its v3 async contract (../shared/providers/edenai.md):
 * the exact JSON of a submit, the poll and cancel requests, and every reply shape the
 * contract records, malformed ones included. */
#include "remote_test.h"

#define NOVA "video/generation_async/amazon/amazon.nova-reel-v1:1"
#define JOB_ID "3c90c3cc-0d44-4b50-8888-8dd25736052a"

static const struct provider *ed(void)
{
    return &provider_edenai;
}

/* nova-reel as the catalog routes it. */
static struct remote_job nova_job(void)
{
    return (struct remote_job){
        .generation_id = "gen_01HZX",
        .base_url = "https://eden.test",
        .api_key = "eden-key",
        .model = NOVA,
        .endpoint = "/v3/universal-ai/async",
        .prompt = "a red fox in the snow",
        .resolution = "720p",
        .aspect_ratio = "16:9",
        .duration = 6,
    };
}

static json_t *build(const struct remote_job *j, struct remote_request *r)
{
    char err[256] = "";
    cr_assert_eq(ed()->build_submit(j, r, err, sizeof err), 0, "refused: %s", err);
    return body_of(r);
}

static void expect_refused(const struct remote_job *j, const char *why, const char *what)
{
    struct remote_request r;
    char err[256] = "";
    cr_expect_eq(ed()->build_submit(j, &r, err, sizeof err), -1, "%s was accepted", what);
    cr_expect(strcasestr(err, why) != NULL, "%s: message '%s' does not say '%s'", what, err, why);
    remote_request_free(&r);
}

/* --- submit --- */

Test(edenai, submit_posts_model_and_input_with_a_bearer_key)
{
    struct remote_job j = nova_job();
    struct remote_request r;
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.method, "POST");
    cr_expect_str_eq(r.url, "https://eden.test/v3/universal-ai/async");
    cr_expect(has_header(&r, "Authorization: Bearer eden-key"));
    cr_expect(has_header(&r, "Content-Type: application/json"));
    cr_expect(strstr(r.body, "eden-key") == NULL, "the key leaked into the body");
    expect_str(b, "model", NOVA);
    cr_expect_eq(json_object_size(b), 2, "unexpected fields in %s", r.body);
    json_t *in = json_object_get(b, "input");
    cr_assert(json_is_object(in), "input is not an object");
    expect_str(in, "text", "a red fox in the snow");
    expect_int(in, "duration", 6); /* a number, not "6" */
    expect_str(in, "dimension", "1280x720");
    cr_expect_eq(json_object_size(in), 3, "unexpected input fields in %s", r.body);
    static const char *const never[] = {"fps", "seed", "resolution", "aspect_ratio", "negative_prompt", "file"};
    for (size_t i = 0; i < N(never); i++)
        expect_absent(in, never[i]);
    expect_absent(b, "webhook_receiver");
    expect_absent(b, "providers");
    json_decref(b);
    remote_request_free(&r);
}

Test(edenai, submit_sends_a_start_image_as_input_file_and_the_webhook_receiver)
{
    struct remote_job j = nova_job();
    struct remote_request r;
    j.start_image_url = "https://vidgen.test/u/start.png";
    j.webhook_url = "https://vidgen.test/api/apps/video-generator/webhooks/edenai/tok";
    json_t *b = build(&j, &r);
    json_t *in = json_object_get(b, "input");
    expect_str(in, "file", "https://vidgen.test/u/start.png");
    expect_str(b, "webhook_receiver", "https://vidgen.test/api/apps/video-generator/webhooks/edenai/tok");
    json_decref(b);
    remote_request_free(&r);
}

Test(edenai, dimension_comes_from_resolution_and_aspect_ratio)
{
    static const struct {
        const char *res, *aspect, *want;
    } cases[] = {
        {"720p", "16:9", "1280x720"},   {"720p", "9:16", "720x1280"}, {"1080p", "16:9", "1920x1080"},
        {"4K", "16:9", "3840x2160"},    {"720p", "1:1", "720x720"},   {"720p", "4:3", "960x720"},
        {"1080p", "9:21", "1080x2520"}, {NULL, NULL, "1280x720"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_job j = nova_job();
        struct remote_request r;
        j.resolution = cases[i].res;
        j.aspect_ratio = cases[i].aspect;
        json_t *b = build(&j, &r);
        expect_str(json_object_get(b, "input"), "dimension", cases[i].want);
        json_decref(b);
        remote_request_free(&r);
    }
}

Test(edenai, refuses_what_the_v3_input_has_no_field_for)
{
    struct remote_job j = nova_job();
    j.negative_prompt = "blurry";
    expect_refused(&j, "negative prompt", "a negative prompt");
    j = nova_job(), j.end_image_url = "https://vidgen.test/u/end.png";
    expect_refused(&j, "end image", "an end image");
    j = nova_job(), j.generate_audio = true;
    expect_refused(&j, "audio", "audio");
    j = nova_job(), j.enhance_prompt = true;
    expect_refused(&j, "enhancement", "prompt enhancement");
    j = nova_job(), j.aspect_ratio = "wide";
    expect_refused(&j, "aspect ratio", "an aspect ratio that is not A:B");
    j = nova_job(), j.aspect_ratio = "16:9:1";
    expect_refused(&j, "aspect ratio", "three numbers");
    j = nova_job(), j.resolution = "8K";
    expect_refused(&j, "resolution", "an unknown resolution");
    j = nova_job(), j.api_key = NULL;
    expect_refused(&j, "EDENAI_API_KEY", "no key");
    j = nova_job(), j.api_key = "k\r\nX-Injected: 1";
    expect_refused(&j, "Authorization", "a key that would inject a header");
    j = nova_job(), j.prompt = "";
    expect_refused(&j, "prompt", "an empty prompt");
    j = nova_job(), j.model = NULL;
    expect_refused(&j, "model", "no model");
    j = nova_job(), j.duration = -6;
    expect_refused(&j, "second", "a negative duration");
    j = nova_job(), j.endpoint = "v3/universal-ai/async";
    expect_refused(&j, "endpoint", "an endpoint without its slash");
    char url[2100];
    memset(url, 'a', sizeof url - 1);
    memcpy(url, "https://", 8);
    url[sizeof url - 1] = '\0';
    j = nova_job(), j.webhook_url = url;
    expect_refused(&j, "2083", "a webhook URL over Eden AI's limit");
}

/* --- poll and cancel --- */

Test(edenai, poll_is_a_get_and_cancel_a_delete_of_the_job_url)
{
    struct remote_job j = nova_job();
    struct remote_request r;
    char err[256] = "";
    cr_assert_eq(ed()->build_poll(&j, JOB_ID, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(r.method, "GET");
    cr_expect_str_eq(r.url, "https://eden.test/v3/universal-ai/async/" JOB_ID);
    cr_expect(has_header(&r, "Authorization: Bearer eden-key"));
    cr_expect_null(r.body, "a GET with a body");
    remote_request_free(&r);
    cr_assert_not_null(ed()->build_cancel, "Eden AI documents DELETE");
    cr_assert_eq(ed()->build_cancel(&j, JOB_ID, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(r.method, "DELETE");
    cr_expect_str_eq(r.url, "https://eden.test/v3/universal-ai/async/" JOB_ID);
    cr_expect(has_header(&r, "Authorization: Bearer eden-key"));
    cr_expect_null(r.body);
    remote_request_free(&r);
}

Test(edenai, poll_and_cancel_refuse_an_id_that_cannot_go_into_the_path)
{
    static const char *const ids[] = {"", "..", "../v2/x", "a/b", "a?b=1", "a\r\nb"};
    struct remote_job j = nova_job();
    struct remote_request r;
    char err[256];
    for (size_t i = 0; i < N(ids); i++) {
        cr_expect_eq(ed()->build_poll(&j, ids[i], &r, err, sizeof err), -1, "'%s'", ids[i]);
        remote_request_free(&r);
        cr_expect_eq(ed()->build_cancel(&j, ids[i], &r, err, sizeof err), -1, "'%s'", ids[i]);
        remote_request_free(&r);
    }
    cr_expect_eq(ed()->build_poll(&j, NULL, &r, err, sizeof err), -1);
    remote_request_free(&r);
}

/* --- replies: the contract's recorded shapes --- */

static struct remote_reply submit(long status, const char *body)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    memset(&r, 0x5a, sizeof r);
    ed()->parse_submit(&h, &r);
    return r;
}

static struct remote_reply poll(long status, const char *body)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    memset(&r, 0x5a, sizeof r);
    ed()->parse_poll(&h, &r);
    return r;
}

#define JOB_HEAD                                                                                                       \
    "{\"public_id\":\"" JOB_ID "\",\"cost\":\"0\",\"provider\":\"amazon\",\"feature\":\"video\","                      \
    "\"subfeature\":\"generation_async\",\"model\":\"amazon.nova-reel-v1:1\",\"created_at\":\"2026-05-01T10:00:00Z\","

Test(edenai, submit_202_processing_is_running_with_the_public_id)
{
    struct remote_reply r = submit(202, JOB_HEAD "\"status\":\"processing\",\"output\":null}");
    expect_state(&r, REMOTE_RUNNING, "202 processing");
    cr_expect_str_eq(r.job_id, JOB_ID);
    cr_expect_eq(r.eta_ms, -1);
    cr_expect_eq(r.retry_after_ms, -1);
    cr_expect_eq(r.progress, -1);
    r = poll(200, JOB_HEAD "\"status\":\"processing\",\"output\":null}");
    expect_state(&r, REMOTE_RUNNING, "processing at poll");
}

Test(edenai, success_gives_the_video_resource_url)
{
    struct remote_reply r =
        poll(200, JOB_HEAD "\"status\":\"success\",\"output\":{\"video\":\"AAAAGGZ0eXBtcDQy\","
                           "\"video_resource_url\":\"https://d14uq1pz7dzsdq.cloudfront.net/abc_.mp4?Expires=1&"
                           "Signature=x~y&Key-Pair-Id=K\"}}");
    expect_state(&r, REMOTE_SUCCEEDED, "success");
    cr_expect_str_eq(r.video_url,
                     "https://d14uq1pz7dzsdq.cloudfront.net/abc_.mp4?Expires=1&Signature=x~y&Key-Pair-Id=K");
    cr_expect_str_eq(r.job_id, JOB_ID);
}

/* v3's `cost` (a decimal string, 1 credit = 1 US dollar) as the reply gives it: kept in
 * millionths whatever the state; anything that is not a plain non-negative decimal is no
 * cost, and never changes what the reply means. */
Test(edenai, cost_is_read_as_a_decimal_in_dollars_or_not_at_all)
{
    static const struct {
        const char *cost; /* the JSON value, or NULL: no "cost" key */
        int64_t micros;   /* -1: no cost */
    } cases[] = {
        {"\"0.48\"", 480000},
        {"\"0\"", 0},
        {"\"12\"", 12000000},
        {"\"0.1234567\"", 123456},
        {"0.25", 250000},
        {"3", 3000000},
        {"\"-1\"", -1},
        {"-0.5", -1},
        {"\"abc\"", -1},
        {"\"1e3\"", -1},
        {"\"\"", -1},
        {"\" 1\"", -1},
        {"\"0.\"", -1},
        {"\".5\"", -1},
        {"\"1.2.3\"", -1},
        {"true", -1},
        {"null", -1},
        {"{}", -1},
        {"\"99999999999\"", -1},
        {NULL, -1},
    };
    char body[512];
    for (size_t i = 0; i < N(cases); i++) {
        snprintf(body, sizeof body,
                 "{\"public_id\":\"" JOB_ID "\",%s%s%s\"status\":\"success\",\"output\":{\"video_resource_url\":"
                 "\"https://d14uq1pz7dzsdq.cloudfront.net/a.mp4\"}}",
                 cases[i].cost ? "\"cost\":" : "", cases[i].cost ? cases[i].cost : "", cases[i].cost ? "," : "");
        struct remote_reply r = poll(200, body);
        expect_state(&r, REMOTE_SUCCEEDED, body);
        if (cases[i].micros < 0)
            cr_expect_eq(r.cost_unit, REMOTE_COST_NONE, "%s: read as a cost", body);
        else {
            cr_expect_eq(r.cost_unit, REMOTE_COST_USD, "%s: no cost read", body);
            cr_expect_eq(r.cost_micros, cases[i].micros, "%s: %lld millionths", body, (long long)r.cost_micros);
        }
    }
    struct remote_reply r = poll(200, JOB_HEAD "\"status\":\"processing\",\"output\":null}");
    cr_expect(r.cost_unit == REMOTE_COST_USD && r.cost_micros == 0, "processing says cost \"0\"");
    r = poll(200, JOB_HEAD "\"status\":\"fail\",\"error\":{\"message\":\"x\"}}");
    cr_expect(r.state == REMOTE_FAILED && r.cost_unit == REMOTE_COST_USD, "a failed job says its cost too");
    r = poll(500, "{\"cost\":\"1\",\"error\":{\"type\":\"x\",\"message\":\"down\"}}");
    cr_expect_eq(r.cost_unit, REMOTE_COST_NONE, "an error reply is no job: no cost");
    cr_expect_str_eq(remote_cost_unit_name(REMOTE_COST_USD), "usd");
}

Test(edenai, success_without_a_usable_video_fails)
{
    static const char *const bodies[] = {
        JOB_HEAD "\"status\":\"success\",\"output\":null}",
        JOB_HEAD "\"status\":\"success\"}",
        JOB_HEAD "\"status\":\"success\",\"output\":{\"video\":\"AAAA\"}}",
        JOB_HEAD "\"status\":\"success\",\"output\":{\"video_resource_url\":null}}",
        JOB_HEAD "\"status\":\"success\",\"output\":{\"video_resource_url\":7}}",
        JOB_HEAD "\"status\":\"success\",\"output\":[\"https://x.test/v.mp4\"]}",
        JOB_HEAD "\"status\":\"success\",\"output\":{\"video_resource_url\":\"s3://bucket/v.mp4\"}}",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r = poll(200, bodies[i]);
        expect_state(&r, REMOTE_FAILED, bodies[i]);
        cr_expect(says(&r, "success"), "%s", r.message);
        cr_expect_eq(r.video_url[0], '\0');
    }
}

Test(edenai, fail_ends_the_job_with_eden_ais_reason)
{
    struct remote_reply r =
        poll(200, JOB_HEAD "\"status\":\"fail\",\"output\":null,\"error\":{\"message\":\"Content blocked by the "
                           "provider's safety filter\"}}");
    expect_state(&r, REMOTE_FAILED, "fail");
    cr_expect(says(&r, "safety filter"), "%s", r.message);
    r = poll(200, JOB_HEAD "\"status\":\"fail\",\"error\":\"provider timeout\"}");
    expect_state(&r, REMOTE_FAILED, "fail with a string error (a job that ended is not retried)");
    cr_expect(says(&r, "provider timeout"), "%s", r.message);
    r = poll(200, JOB_HEAD "\"status\":\"fail\"}");
    expect_state(&r, REMOTE_FAILED, "fail without a reason");
    cr_expect(says(&r, "without a reason"), "%s", r.message);
    r = poll(200, JOB_HEAD "\"status\":\"failed\",\"error\":{\"message\":\"x\",\"error_code\":\"PROVIDER_ERROR\"}}");
    expect_state(&r, REMOTE_FAILED, "the v2 spelling");
    cr_expect(says(&r, "PROVIDER_ERROR"), "%s", r.message);
}

Test(edenai, a_job_accepted_without_an_id_fails_rather_than_submitting_again)
{
    static const char *const bodies[] = {
        "{\"status\":\"processing\",\"output\":null}",
        "{\"public_id\":\"\",\"status\":\"processing\"}",
        "{\"public_id\":{\"id\":1},\"status\":\"processing\"}",
        "{\"public_id\":\"a/../b\",\"status\":\"processing\"}",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r = submit(202, bodies[i]);
        expect_state(&r, REMOTE_FAILED, bodies[i]);
        cr_expect(says(&r, "id"), "%s", r.message);
    }
    struct remote_reply r = submit(200, "{\"public_id\":\"" JOB_ID "\"}");
    expect_state(&r, REMOTE_RUNNING, "v2's {public_id} alone");
    cr_expect_str_eq(r.job_id, JOB_ID);
    r = submit(202, "{\"public_id\":12345,\"status\":\"processing\"}");
    expect_state(&r, REMOTE_RUNNING, "a numeric public_id");
    cr_expect_str_eq(r.job_id, "12345");
}

/* --- replies: HTTP faults --- */

Test(edenai, http_faults_follow_the_v3_error_shapes)
{
    static const struct {
        long status;
        const char *body;
        enum remote_state want;
        const char *says;
    } cases[] = {
        {401, "{\"detail\":\"Invalid or missing authentication token\",\"error_code\":\"UNAUTHORIZED\"}", REMOTE_FAILED,
         "EDENAI_API_KEY"},
        {401, "<html>401</html>", REMOTE_FAILED, "EDENAI_API_KEY"},
        {402,
         "{\"detail\":\"User does not have sufficient credits\",\"error_code\":\"INSUFFICIENT_CREDIT\","
         "\"required_credits\":0.48,\"available_credits\":0}",
         REMOTE_FAILED, "top it up"},
        {402, "{\"error\":\"Insufficient credits\"}", REMOTE_FAILED, "Insufficient credits"},
        {400, "{\"detail\":\"Unknown model\",\"error_code\":\"INVALID_MODEL\"}", REMOTE_FAILED, "(INVALID_MODEL)"},
        {403, "{\"error\":{\"type\":\"forbidden\",\"message\":\"no access\"}}", REMOTE_FAILED, "no access"},
        {413, "{\"detail\":\"Request too large\"}", REMOTE_FAILED, "413"},
        {451, "{\"detail\":\"Unavailable for legal reasons\"}", REMOTE_FAILED, "region"},
        {422,
         "{\"detail\":[{\"loc\":[\"body\",\"input\",\"text\"],\"msg\":\"Field required\",\"type\":\"missing\"},"
         "{\"loc\":[\"body\",\"input\",\"duration\",0],\"msg\":\"bad\",\"type\":\"x\"}]}",
         REMOTE_FAILED, "body.input.text: Field required; body.input.duration.0: bad"},
        {422, "{\"detail\":[{\"msg\":\"odd\"}, 5, {\"loc\":\"x\"}]}", REMOTE_FAILED, "odd"},
        {429, "{\"detail\":\"Rate limit exceeded\",\"error_code\":\"RATE_LIMITED\",\"retry_after\":1.5}", REMOTE_RETRY,
         "Rate limit exceeded"},
        {500, "{\"error\":{\"type\":\"server\",\"message\":\"boom\"}}", REMOTE_RETRY, "boom"},
        {502, "{\"detail\":\"Provider error\"}", REMOTE_RETRY, "Provider error"},
        {503, "<html>Service Unavailable</html>", REMOTE_RETRY, "not JSON"},
        {504, "", REMOTE_RETRY, "504"},
        {0, "", REMOTE_RETRY, "no reply"},
        {301, "<html>Moved</html>", REMOTE_RETRY, "301"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char what[160];
        snprintf(what, sizeof what, "HTTP %ld %.100s", cases[i].status, cases[i].body);
        struct remote_reply r = submit(cases[i].status, cases[i].body);
        expect_state(&r, cases[i].want, what);
        cr_expect(says(&r, cases[i].says), "%s: %s", what, r.message);
    }
}

Test(edenai, rate_limit_waits_the_longer_of_body_and_header)
{
    const char *body = "{\"detail\":\"Rate limit exceeded\",\"error_code\":\"RATE_LIMITED\",\"retry_after\":1.5}";
    struct remote_reply r = submit(429, body);
    cr_expect_eq(r.retry_after_ms, 1500);
    cr_expect(says(&r, "rate limiting"), "%s", r.message);
    struct remote_http h = http_reply(429, body);
    h.retry_after = "4";
    ed()->parse_poll(&h, &r);
    expect_state(&r, REMOTE_RETRY, "429 with a header");
    cr_expect_eq(r.retry_after_ms, 4000);
    h = http_reply(503, "");
    h.retry_after = "Sun, 06 Nov 1994 08:49:47 GMT";
    h.now_unix_ms = 784111777000LL;
    ed()->parse_poll(&h, &r);
    cr_expect_eq(r.retry_after_ms, 10000, "an HTTP-date Retry-After");
}

Test(edenai, unknown_job_at_poll_fails)
{
    struct remote_reply r = poll(404, "{\"detail\":\"Not Found\"}");
    expect_state(&r, REMOTE_FAILED, "404 at poll");
    cr_expect(says(&r, "no longer knows"), "%s", r.message);
}

/* --- replies: malformed 2xx --- */

Test(edenai, unreadable_2xx_replies_retry_with_a_readable_message)
{
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"", "empty"},
        {NULL, "empty"},
        {"<html><body>hi</body></html>", "not JSON"},
        {"{\"public_id\":\"" JOB_ID "\",\"status\":\"succ", "truncated"},
        {"[{\"status\":\"success\"}]", "not an object"},
        {"null", "not an object"},
        {"{\"public_id\":\"" JOB_ID "\"}", "status"},
        {"{\"public_id\":\"" JOB_ID "\",\"status\":42}", "status"},
        {"{\"status\":\"mystery\"}", "status"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *b = cases[i].body ? cases[i].body : "(null)";
        struct remote_reply r = poll(200, cases[i].body);
        expect_state(&r, REMOTE_RETRY, b);
        cr_expect(says(&r, cases[i].says), "%s: %s", b, r.message);
    }
    struct remote_reply r = poll(200, "{\"public_id\":\"" JOB_ID "\",\"status\":\"mystery\"}");
    expect_state(&r, REMOTE_RUNNING, "an unknown status of a job it can name");
}

static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    size_t len = strlen(prefix) + strlen(unit) * n + strlen(suffix) + 1;
    char *s = malloc(len), *p = s;
    p = stpcpy(p, prefix);
    for (size_t i = 0; i < n; i++)
        p = stpcpy(p, unit);
    strcpy(p, suffix);
    return s;
}

Test(edenai, huge_strings_are_cut_safely_or_refused)
{
    char *body = repeat(JOB_HEAD "\"status\":\"fail\",\"error\":{\"message\":\"", "\xe2\x82\xac", 50000, "\"}}");
    struct remote_reply r = poll(200, body);
    expect_state(&r, REMOTE_FAILED, "a 150 KB reason of 3-byte characters");
    cr_expect_gt(strlen(r.message), 100);
    free(body);
    body = repeat("{\"detail\":[", "{\"loc\":[\"body\",\"input\",\"text\"],\"msg\":\"Field required\"},", 10000,
                  "{\"msg\":\"end\"}]}");
    r = submit(422, body);
    expect_state(&r, REMOTE_FAILED, "10000 validation errors");
    free(body);
    body = repeat(JOB_HEAD "\"status\":\"success\",\"output\":{\"video_resource_url\":\"https://cdn.test/", "a", 3000,
                  "\"}}");
    r = poll(200, body);
    expect_state(&r, REMOTE_FAILED, "a URL longer than the buffer");
    cr_expect_eq(r.video_url[0], '\0');
    free(body);
    body = repeat("{\"public_id\":\"", "f", 500, "\",\"status\":\"processing\"}");
    r = submit(202, body);
    expect_state(&r, REMOTE_FAILED, "a 500-byte id is refused, not truncated");
    free(body);
}

/* --- webhooks --- */

Test(edenai, webhook_v3_success_and_fail)
{
    struct remote_reply r;
    const char *ok = "{\"event\":\"async_job_completed\",\"job_id\":\"" JOB_ID "\",\"status\":\"success\","
                     "\"feature\":\"video\",\"subfeature\":\"generation_async\",\"provider\":\"amazon\","
                     "\"model\":\"amazon.nova-reel-v1:1\",\"created_at\":\"t\",\"finished_at\":\"t\","
                     "\"output\":{\"video_resource_url\":\"https://cdn.test/v.mp4\"},\"user_parameters\":null}";
    cr_expect_eq(ed()->parse_webhook(ok, strlen(ok), &r), 0);
    expect_state(&r, REMOTE_SUCCEEDED, "success webhook");
    cr_expect_str_eq(r.job_id, JOB_ID);
    cr_expect_str_eq(r.video_url, "https://cdn.test/v.mp4");
    const char *bad = "{\"event\":\"async_job_completed\",\"job_id\":\"" JOB_ID "\",\"status\":\"fail\","
                      "\"error\":{\"message\":\"unsafe prompt\"}}";
    cr_expect_eq(ed()->parse_webhook(bad, strlen(bad), &r), 0);
    expect_state(&r, REMOTE_FAILED, "fail webhook");
    cr_expect(says(&r, "unsafe prompt"));
    cr_expect(r.content_refused, "a moderation refusal never goes to another provider");
    const char *old = "{\"job_id\":\"" JOB_ID "\",\"status\":\"fail\",\"cost\":\"0\","
                      "\"error\":{\"message\":\"m\",\"error_code\":\"PROVIDER_ERROR\"}}";
    cr_expect_eq(ed()->parse_webhook(old, strlen(old), &r), 0, "the older unsigned form");
    expect_state(&r, REMOTE_FAILED, "older form");
    cr_expect(says(&r, "PROVIDER_ERROR"));
}

Test(edenai, webhook_refuses_what_is_not_an_eden_ai_callback)
{
    static const char *const bodies[] = {
        "",
        "<html>",
        "[]",
        "{}",
        "{\"event\":\"something_else\",\"job_id\":\"a\",\"status\":\"success\"}",
        "{\"event\":5,\"job_id\":\"a\",\"status\":\"success\"}",
        "{\"event\":\"async_job_completed\",\"status\":\"success\"}",
        "{\"event\":\"async_job_completed\",\"job_id\":\"a/b\",\"status\":\"success\"}",
        "{\"event\":\"async_job_completed\",\"job_id\":\"a\",\"status\":\"processing\"}",
        "{\"event\":\"async_job_completed\",\"job_id\":\"a\"}",
        /* duplicate keys */
        "{\"job_id\":\"a\",\"status\":\"fail\",\"job_id\":\"b\"}",
        /* ModelsLab's */
        "{\"status\":\"success\",\"id\":65919758,\"output\":[\"https://cdn.test/X.mp4\"],\"track_id\":\"g\"}",
        /* truncated */
        "{\"event\":\"async_job_completed\",\"job_id\":\"a\",\"status\":\"success\"",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r;
        cr_expect_eq(ed()->parse_webhook(bodies[i], strlen(bodies[i]), &r), -1, "'%s' taken", bodies[i]);
        expect_clean_message(&r);
        cr_expect_neq(r.state, REMOTE_SUCCEEDED);
    }
}

/* --- registry --- */

Test(edenai, is_registered_and_does_not_make_runway_or_kling_available)
{
    const struct provider *p = provider_find("edenai");
    cr_assert_eq(p, &provider_edenai);
    cr_expect_eq(p->kind, PROVIDER_HTTP);
    cr_expect(p->build_submit && p->build_poll && p->build_cancel && p->parse_submit && p->parse_poll &&
              p->parse_webhook);
    struct config cfg;
    char why[256] = "";
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.edenai_api_key, "k");
    strcpy(cfg.modelslab_api_key, "k");
    cr_expect_not(provider_available("runway", &cfg, why, sizeof why));
    cr_expect(strstr(why, "RUNWAY_API_KEY") != NULL, "%s", why);
    cr_expect_not(provider_available("kling", &cfg, why, sizeof why));
    cr_expect(strstr(why, "KLING_ACCESS_KEY") != NULL, "%s", why);
    cfg.edenai_api_key[0] = '\0';
    cr_expect_not(provider_available("edenai", &cfg, why, sizeof why));
    cr_expect(strstr(why, "EDENAI_API_KEY") != NULL, "%s", why);
    const struct provider *local = provider_find("local");
    cr_assert_not_null(local);
    cr_expect(local->build_submit == NULL && local->build_poll == NULL && local->build_cancel == NULL &&
                  local->parse_submit == NULL && local->parse_poll == NULL && local->parse_webhook == NULL,
              "local has no HTTP functions");
}
