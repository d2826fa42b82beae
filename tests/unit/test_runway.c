/* Runway (providers/runway.c) against its contract (../shared/providers/runway.md): the exact
 * JSON and headers of a submit, the poll and cancel requests, and every reply shape the
 * contract records, malformed ones included. */
#include "remote_test.h"

#define KEY "key_0123456789abcdef"
#define TASK "3086a6a1-44b4-4e3f-9d0e-3f8ad6d1e2c1"

static const struct provider *rw(void)
{
    return &provider_runway;
}

/* runway-gen3 from text, as the catalog routes it. */
static struct remote_job text_job(void)
{
    return (struct remote_job){
        .generation_id = "gen_01HZX",
        .base_url = "https://api.runway.test",
        .api_key = KEY,
        .model = "gen4.5",
        .endpoint = "/v1/text_to_video",
        .prompt = "a red fox in the snow",
        .resolution = "720p",
        .aspect_ratio = "16:9",
        .duration = 10,
    };
}

static struct remote_job image_job(void)
{
    struct remote_job j = text_job();
    j.model = "gen4_turbo";
    j.endpoint = "/v1/image_to_video";
    j.start_image_url = "https://vidgen.test/i/start.png?exp=1&sig=x";
    return j;
}

static json_t *build(const struct remote_job *j, struct remote_request *r)
{
    char err[256] = "";
    cr_assert_eq(rw()->build_submit(j, r, err, sizeof err), 0, "refused: %s", err);
    return body_of(r);
}

static void expect_refused(const struct remote_job *j, const char *why, const char *what)
{
    struct remote_request r;
    char err[256] = "";
    cr_expect_eq(rw()->build_submit(j, &r, err, sizeof err), -1, "%s was accepted", what);
    cr_expect(strcasestr(err, why) != NULL, "%s: message '%s' does not say '%s'", what, err, why);
    remote_request_free(&r);
}

static struct remote_reply parsed(long status, const char *body, bool poll)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    (poll ? rw()->parse_poll : rw()->parse_submit)(&h, &r);
    return r;
}

Test(runway, text_to_video_posts_gen45_with_ratio_and_integer_duration)
{
    struct remote_job j = text_job();
    struct remote_request r;
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.method, "POST");
    cr_expect_str_eq(r.url, "https://api.runway.test/v1/text_to_video");
    cr_expect(has_header(&r, "Authorization: Bearer " KEY));
    cr_expect(has_header(&r, "X-Runway-Version: 2024-11-06"));
    cr_expect(has_header(&r, "Content-Type: application/json"));
    cr_expect_str_eq(r.body, "{\"model\":\"gen4.5\",\"promptText\":\"a red fox in the snow\",\"ratio\":\"1280:720\","
                             "\"duration\":10}");
    json_decref(b);
    remote_request_free(&r);
}

Test(runway, image_to_video_posts_gen4_turbo_with_the_start_image_link)
{
    struct remote_job j = image_job();
    struct remote_request r;
    j.aspect_ratio = "9:16";
    j.duration = 5;
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.url, "https://api.runway.test/v1/image_to_video");
    expect_str(b, "model", "gen4_turbo");
    expect_str(b, "promptImage", "https://vidgen.test/i/start.png?exp=1&sig=x");
    expect_str(b, "promptText", "a red fox in the snow");
    expect_str(b, "ratio", "720:1280");
    expect_int(b, "duration", 5);
    cr_expect_eq(json_object_size(b), 5, "unexpected fields in %s", r.body);
    json_decref(b);
    remote_request_free(&r);
    j.prompt = NULL; /* optional with an image */
    b = build(&j, &r);
    expect_absent(b, "promptText");
    json_decref(b);
    remote_request_free(&r);
}

Test(runway, refuses_what_its_models_cannot_take)
{
    struct remote_job j = text_job();
    j.end_image_url = "https://vidgen.test/end.png";
    expect_refused(&j, "end frame", "an end image");
    j = text_job(), j.negative_prompt = "blur";
    expect_refused(&j, "negative", "a negative prompt");
    j = text_job(), j.generate_audio = true;
    expect_refused(&j, "audio", "audio");
    j = text_job(), j.resolution = "1080p";
    expect_refused(&j, "720p", "1080p");
    j = text_job(), j.aspect_ratio = "1:1";
    expect_refused(&j, "1:1", "a square video from text");
    j = text_job(), j.duration = 11;
    expect_refused(&j, "10 seconds", "11 s");
    j = text_job(), j.start_image_url = "https://vidgen.test/a.png";
    expect_refused(&j, "takes no image", "an image on the text endpoint");
    j = image_job(), j.start_image_url = NULL;
    expect_refused(&j, "start image", "no image on the image endpoint");
    j = text_job(), j.endpoint = "/v1/video_to_video";
    expect_refused(&j, "endpoint", "an unknown endpoint");
    j = text_job(), j.api_key = "";
    expect_refused(&j, "RUNWAY_API_KEY", "no key");
    j = text_job(), j.api_key = "k\r\nX: 1";
    expect_refused(&j, "Authorization", "a key that would inject a header");
    char prompt[1100];
    memset(prompt, 'a', sizeof prompt - 1), prompt[sizeof prompt - 1] = '\0';
    j = text_job(), j.prompt = prompt;
    expect_refused(&j, "1000", "a prompt over 1000 characters");
    struct remote_job ok = image_job();
    ok.aspect_ratio = "1:1";
    struct remote_request r;
    json_t *b = build(&ok, &r);
    expect_str(b, "ratio", "960:960");
    json_decref(b);
    remote_request_free(&r);
}

Test(runway, poll_gets_and_cancel_deletes_the_task)
{
    struct remote_job j = text_job();
    struct remote_request r;
    char err[256];
    cr_assert_eq(rw()->build_poll(&j, TASK, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(r.method, "GET");
    cr_expect_str_eq(r.url, "https://api.runway.test/v1/tasks/" TASK);
    cr_expect(has_header(&r, "X-Runway-Version: 2024-11-06") && r.body == NULL);
    remote_request_free(&r);
    cr_assert_eq(rw()->build_cancel(&j, TASK, &r, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(r.method, "DELETE");
    cr_expect_str_eq(r.url, "https://api.runway.test/v1/tasks/" TASK);
    remote_request_free(&r);
    cr_expect_eq(rw()->build_poll(&j, "../x", &r, err, sizeof err), -1);
    remote_request_free(&r);
}

Test(runway, submit_reply_gives_the_task_to_poll_no_sooner_than_5_s)
{
    struct remote_reply r = parsed(200, "{\"id\":\"" TASK "\",\"estimatedCost\":{\"credits\":120}}", false);
    expect_state(&r, REMOTE_RUNNING, "submit");
    cr_expect_str_eq(r.job_id, TASK);
    cr_expect_geq(r.eta_ms * 4 / 5, 5000, "polled before 5 s (%lld ms less a fifth)", (long long)r.eta_ms);
    r = parsed(200, "{}", false);
    expect_state(&r, REMOTE_FAILED, "accepted without an id");
}

Test(runway, task_states_map_to_running_queued_progress_and_success)
{
    struct remote_reply r = parsed(200, "{\"id\":\"" TASK "\",\"createdAt\":\"x\",\"status\":\"THROTTLED\"}", true);
    expect_state(&r, REMOTE_RUNNING, "THROTTLED");
    cr_expect(r.queued && r.progress == 0 && r.eta_ms >= 6250);
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"PENDING\"}", true);
    cr_expect(r.state == REMOTE_RUNNING && r.queued);
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\",\"progress\":0.45}", true);
    expect_state(&r, REMOTE_RUNNING, "RUNNING");
    cr_expect(!r.queued && r.progress == 45, "progress %d", r.progress);
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\"}", true);
    cr_expect(r.state == REMOTE_RUNNING && r.progress == -1);
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\",\"progress\":7}", true);
    cr_expect(r.progress == -1, "a progress outside 0..1 is not believed");
    r = parsed(200,
               "{\"id\":\"" TASK "\",\"status\":\"SUCCEEDED\",\"output\":[\"https://dnznrvs05pmza.cloudfront.net/"
               "x.mp4?_jwt=a\"]}",
               true);
    expect_state(&r, REMOTE_SUCCEEDED, "SUCCEEDED");
    cr_expect_str_eq(r.video_url, "https://dnznrvs05pmza.cloudfront.net/x.mp4?_jwt=a");
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"SUCCEEDED\",\"output\":[]}", true);
    expect_state(&r, REMOTE_FAILED, "success without a video");
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"SUCCEEDED\",\"output\":[\"javascript:x\"]}", true);
    expect_state(&r, REMOTE_FAILED, "an unusable URL");
    for (int i = 0; i < 2; i++) {
        r = parsed(
            200, i ? "{\"id\":\"" TASK "\",\"status\":\"CANCELED\"}" : "{\"id\":\"" TASK "\",\"status\":\"CANCELLED\"}",
            true);
        expect_state(&r, REMOTE_FAILED, "cancelled");
    }
}

/* Credits: the submit's estimatedCost ({"credits": N}, 2026-08 captures), then the task's
 * cost once Runway says it (the later wins); both may be absent; a malformed one is none. */
Test(runway, cost_and_estimated_cost_are_read_in_credits_when_present)
{
    struct remote_reply r = parsed(200, "{\"id\":\"" TASK "\",\"estimatedCost\":{\"credits\":120}}", false);
    cr_expect(r.state == REMOTE_RUNNING && r.cost_unit == REMOTE_COST_CREDITS && r.cost_micros == 120000000,
              "estimatedCost at submit: unit %d, %lld", r.cost_unit, (long long)r.cost_micros);
    r = parsed(200, "{\"id\":\"" TASK "\"}", false);
    cr_expect(r.state == REMOTE_RUNNING && r.cost_unit == REMOTE_COST_NONE, "no cost said: none");
    r = parsed(200,
               "{\"id\":\"" TASK "\",\"status\":\"SUCCEEDED\",\"estimatedCost\":{\"credits\":120},"
               "\"cost\":{\"credits\":100},\"output\":[\"https://dnznrvs05pmza.cloudfront.net/x.mp4\"]}",
               true);
    cr_expect(r.state == REMOTE_SUCCEEDED && r.cost_unit == REMOTE_COST_CREDITS && r.cost_micros == 100000000,
              "cost wins over the estimate: %lld", (long long)r.cost_micros);
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\",\"cost\":25}", true);
    cr_expect(r.cost_unit == REMOTE_COST_CREDITS && r.cost_micros == 25000000, "a bare number");
    r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\",\"cost\":\"12.5\"}", true);
    cr_expect(r.cost_unit == REMOTE_COST_CREDITS && r.cost_micros == 12500000, "a decimal string");
    static const char *const bad[] = {"{\"credits\":-5}", "{\"credits\":\"x\"}", "{\"usd\":5}", "[5]", "true", "-1"};
    char body[256];
    for (size_t i = 0; i < N(bad); i++) {
        snprintf(body, sizeof body, "{\"id\":\"" TASK "\",\"status\":\"RUNNING\",\"cost\":%s}", bad[i]);
        r = parsed(200, body, true);
        cr_expect(r.state == REMOTE_RUNNING && r.cost_unit == REMOTE_COST_NONE, "%s read as a cost", bad[i]);
    }
}

Test(runway, failure_codes_are_final_and_only_runways_own_faults_may_be_resubmitted)
{
    static const struct {
        const char *code;
        bool resubmit;
        const char *says;
    } cases[] = {
        {"\"SAFETY.INPUT.TEXT\"", false, "moderation"},
        {"\"SAFETY.OUTPUT.VIDEO\"", false, "moderation"},
        {"\"INPUT_PREPROCESSING.SAFETY.TEXT\"", false, "moderation"},
        {"\"INTERNAL.BAD_OUTPUT.CODE01\"", true, "INTERNAL.BAD_OUTPUT.CODE01"},
        {"\"INPUT_PREPROCESSING.INTERNAL\"", true, "INTERNAL"},
        {"\"THIRD_PARTY.UNAVAILABLE\"", true, "THIRD_PARTY"},
        {"\"ASSET.INVALID\"", false, "ASSET.INVALID"},
        {"\"SOMETHING.NEW\"", false, "SOMETHING.NEW"},
        {"null", false, "no code"},
    };
    char body[300];
    for (size_t i = 0; i < N(cases); i++) {
        snprintf(body, sizeof body,
                 "{\"id\":\"" TASK "\",\"status\":\"FAILED\",\"failure\":\"human text\",\"failureCode\":%s}",
                 cases[i].code);
        struct remote_reply r = parsed(200, body, true);
        expect_state(&r, REMOTE_FAILED, cases[i].code);
        cr_expect_eq(r.resubmit, cases[i].resubmit, "%s", cases[i].code);
        /* only moderation keeps a model's next route from being tried */
        cr_expect_eq(r.content_refused, strcmp(cases[i].says, "moderation") == 0, "%s", cases[i].code);
        cr_expect(says(&r, cases[i].says) && says(&r, "human text"), "%s: %s", cases[i].code, r.message);
    }
    struct remote_reply r = parsed(200, "{\"id\":\"" TASK "\",\"status\":\"FAILED\"}", true);
    expect_state(&r, REMOTE_FAILED, "no code, no text");
    cr_expect(!r.resubmit);
}

Test(runway, http_faults_map_as_the_contract_says)
{
    struct remote_reply r = parsed(400, "{\"error\":\"You do not have enough credits to run this task.\"}", false);
    expect_state(&r, REMOTE_FAILED, "no credits");
    cr_expect(says(&r, "out of credits"));
    r = parsed(400,
               "{\"error\":\"Validation of body failed\",\"issues\":[{\"code\":\"invalid_value\",\"path\":[\"ratio\"],"
               "\"message\":\"Invalid option\"}],\"docUrl\":\"x\"}",
               false);
    expect_state(&r, REMOTE_FAILED, "validation");
    cr_expect(says(&r, "ratio: Invalid option"), "%s", r.message);
    r = parsed(400, "{\"error\":\"The API version that was provided in the X-Runway-Version header is not valid.\"}",
               false);
    cr_expect(r.state == REMOTE_FAILED && says(&r, "2024-11-06"), "%s", r.message);
    r = parsed(401, "{\"error\":\"bad key\"}", false);
    cr_expect(r.state == REMOTE_FAILED && says(&r, "RUNWAY_API_KEY"));
    r = parsed(404, "{\"error\":\"Task not found\"}", true);
    cr_expect(r.state == REMOTE_FAILED && says(&r, "no longer knows"));
    struct remote_http h = http_reply(429, "{\"error\":\"daily\"}");
    h.retry_after = "2";
    rw()->parse_submit(&h, &r);
    expect_state(&r, REMOTE_RETRY, "429");
    cr_expect_eq(r.retry_after_ms, 2000);
    static const long transient[] = {0, 500, 502, 503, 504};
    for (size_t i = 0; i < N(transient); i++) {
        r = parsed(transient[i], "<html><body>502 Bad Gateway</body></html>", true);
        expect_state(&r, REMOTE_RETRY, "5xx");
    }
    static const char *const junk[] = {"", "{\"id\":", "not json", "[1,2]", "{\"id\":\"" TASK "\"}"};
    for (size_t i = 0; i < N(junk); i++) {
        r = parsed(200, junk[i], true);
        expect_state(&r, REMOTE_RETRY, junk[i]);
    }
}

Test(runway, is_registered_without_webhooks)
{
    struct config cfg;
    char why[256] = "";
    memset(&cfg, 0, sizeof cfg);
    cr_expect_eq(provider_find("runway"), &provider_runway);
    cr_expect_null(provider_runway.parse_webhook);
    cr_expect_not(provider_available("runway", &cfg, why, sizeof why));
    cr_expect(strstr(why, "RUNWAY_API_KEY") != NULL, "%s", why);
    strcpy(cfg.runway_api_key, "k");
    cr_expect(provider_available("runway", &cfg, why, sizeof why));
    cr_expect_eq(provider_limits_of(&provider_runway, &cfg), &cfg.runway_limits);
}
