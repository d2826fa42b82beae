/* ModelsLab (providers/modelslab.c) against its contract (../shared/providers/modelslab.md):
 * the exact JSON of each family's submit and fetch, and every reply shape the contract
 * records, malformed ones included. */
#include "remote_test.h"

static const struct provider *ml(void)
{
    return &provider_modelslab;
}

/* veo3 as the catalog routes it: v7 text-to-video. */
static struct remote_job v7_job(void)
{
    return (struct remote_job){
        .generation_id = "gen_01HZX",
        .base_url = "https://ml.test/api",
        .api_key = "ml-key",
        .model = "veo3",
        .endpoint = "/v7/video-fusion/text-to-video",
        .prompt = "a red fox in the snow",
        .resolution = "720p",
        .aspect_ratio = "16:9",
        .duration = 8,
    };
}

/* text-to-video-ultra as the catalog routes it: v6 text2video_ultra with wan2.2. */
static struct remote_job v6_job(void)
{
    struct remote_job j = v7_job();
    j.model = "wan2.2";
    j.endpoint = "/v6/video/text2video_ultra";
    return j;
}

static json_t *build(const struct remote_job *j, struct remote_request *r)
{
    char err[256] = "";
    cr_assert_eq(ml()->build_submit(j, r, err, sizeof err), 0, "refused: %s", err);
    return body_of(r);
}

static void expect_refused(const struct remote_job *j, const char *why, const char *what)
{
    struct remote_request r;
    char err[256] = "";
    cr_expect_eq(ml()->build_submit(j, &r, err, sizeof err), -1, "%s was accepted", what);
    cr_expect(strcasestr(err, why) != NULL, "%s: message '%s' does not say '%s'", what, err, why);
    remote_request_free(&r);
}

/* Every ModelsLab call is a JSON POST with the key in the body and no Authorization header. */
static void expect_ml_call(const struct remote_request *r, const char *url)
{
    cr_expect_str_eq(r->method, "POST");
    cr_expect_str_eq(r->url, url);
    cr_expect(has_header(r, "Content-Type: application/json"));
    cr_expect_not(has_header_named(r, "Authorization"), "ModelsLab takes the key in the body only");
    cr_expect_not(has_header_named(r, "key"), "ModelsLab takes the key in the body only");
}

/* --- submit: v7 --- */

Test(modelslab, v7_text_to_video_sends_duration_as_a_string_and_says_audio_and_enhancement)
{
    struct remote_job j = v7_job();
    struct remote_request r;
    json_t *b = build(&j, &r);
    expect_ml_call(&r, "https://ml.test/api/v7/video-fusion/text-to-video");
    expect_str(b, "key", "ml-key");
    expect_str(b, "model_id", "veo3");
    expect_str(b, "prompt", "a red fox in the snow");
    expect_str(b, "aspect_ratio", "16:9");
    expect_str(b, "duration", "8"); /* a string, not the number 8 */
    expect_str(b, "resolution", "720p");
    expect_bool(b, "generate_audio", false); /* Veo 3 makes audio unless told not to */
    expect_bool(b, "enhance_prompt", false);
    cr_expect_eq(json_object_size(b), 8, "unexpected fields in %s", r.body);
    expect_absent(b, "negative_prompt");
    expect_absent(b, "init_image");
    expect_absent(b, "webhook");
    expect_absent(b, "track_id");
    json_decref(b);
    remote_request_free(&r);
}

Test(modelslab, v7_sends_options_negative_prompt_and_webhook_with_track_id)
{
    struct remote_job j = v7_job();
    struct remote_request r;
    j.generate_audio = j.enhance_prompt = true;
    j.negative_prompt = "blurry";
    j.resolution = "1080p";
    j.aspect_ratio = "9:16";
    j.webhook_url = "https://vidgen.test/api/apps/video-generator/webhooks/modelslab/tok";
    json_t *b = build(&j, &r);
    expect_bool(b, "generate_audio", true);
    expect_bool(b, "enhance_prompt", true);
    expect_str(b, "negative_prompt", "blurry");
    expect_str(b, "resolution", "1080p");
    expect_str(b, "aspect_ratio", "9:16");
    expect_str(b, "webhook", "https://vidgen.test/api/apps/video-generator/webhooks/modelslab/tok");
    expect_str(b, "track_id", "gen_01HZX");
    json_decref(b);
    remote_request_free(&r);
}

Test(modelslab, v7_image_to_video_sends_init_image_and_the_image_model)
{
    struct remote_job j = v7_job();
    struct remote_request r;
    j.model = "seedance-i2v";
    j.endpoint = "/v7/video-fusion/image-to-video";
    j.aspect_ratio = "4:3";
    j.duration = 5;
    j.start_image_url = "https://vidgen.test/u/start.png";
    json_t *b = build(&j, &r);
    expect_ml_call(&r, "https://ml.test/api/v7/video-fusion/image-to-video");
    expect_str(b, "model_id", "seedance-i2v");
    expect_str(b, "init_image", "https://vidgen.test/u/start.png");
    expect_str(b, "aspect_ratio", "4:3");
    expect_str(b, "duration", "5");
    json_decref(b);
    remote_request_free(&r);
}

/* --- submit: v6 --- */

Test(modelslab, v6_ultra_sends_frames_fps_portrait_and_track_id_and_nothing_of_v7)
{
    struct remote_job j = v6_job();
    struct remote_request r;
    json_t *b = build(&j, &r);
    expect_ml_call(&r, "https://ml.test/api/v6/video/text2video_ultra");
    expect_str(b, "key", "ml-key");
    expect_str(b, "model_id", "wan2.2");
    expect_str(b, "prompt", "a red fox in the snow");
    expect_bool(b, "portrait", false);
    expect_int(b, "num_frames", 8 * 16 + 1);
    expect_int(b, "fps", 16);
    expect_str(b, "track_id", "gen_01HZX"); /* always on v6: it is how a lost submit is found again */
    cr_expect_eq(json_object_size(b), 7, "unexpected fields in %s", r.body);
    static const char *const v7_only[] = {"duration", "aspect_ratio", "resolution", "generate_audio", "enhance_prompt"};
    for (size_t i = 0; i < N(v7_only); i++)
        expect_absent(b, v7_only[i]);
    json_decref(b);
    remote_request_free(&r);
}

Test(modelslab, v6_portrait_is_9_16_and_5_seconds_is_the_default_81_frames)
{
    struct remote_job j = v6_job();
    struct remote_request r;
    j.aspect_ratio = "9:16";
    j.duration = 5;
    j.negative_prompt = "text, watermark";
    j.webhook_url = "https://vidgen.test/wh/x";
    json_t *b = build(&j, &r);
    expect_bool(b, "portrait", true);
    expect_int(b, "num_frames", 81);
    expect_str(b, "negative_prompt", "text, watermark");
    expect_str(b, "webhook", "https://vidgen.test/wh/x");
    json_decref(b);
    remote_request_free(&r);
}

Test(modelslab, v6_img2video_ultra_sends_init_image)
{
    struct remote_job j = v6_job();
    struct remote_request r;
    j.endpoint = "/v6/video/img2video_ultra";
    j.start_image_url = "https://vidgen.test/u/a.jpg";
    json_t *b = build(&j, &r);
    expect_ml_call(&r, "https://ml.test/api/v6/video/img2video_ultra");
    expect_str(b, "init_image", "https://vidgen.test/u/a.jpg");
    json_decref(b);
    remote_request_free(&r);
}

Test(modelslab, base_url_with_a_trailing_slash_gives_one_slash)
{
    struct remote_job j = v7_job();
    struct remote_request r;
    j.base_url = "http://127.0.0.1:9000/api/";
    json_t *b = build(&j, &r);
    cr_expect_str_eq(r.url, "http://127.0.0.1:9000/api/v7/video-fusion/text-to-video");
    json_decref(b);
    remote_request_free(&r);
}

/* --- submit: what cannot be said --- */

Test(modelslab, v6_refuses_what_it_has_no_field_for)
{
    struct remote_job j = v6_job();
    j.generate_audio = true;
    expect_refused(&j, "audio", "audio on v6");
    j = v6_job(), j.enhance_prompt = true;
    expect_refused(&j, "enhancement", "prompt enhancement on v6");
    j = v6_job(), j.aspect_ratio = "1:1";
    expect_refused(&j, "16:9 or 9:16", "1:1 on v6");
    j = v6_job(), j.resolution = "1080p";
    expect_refused(&j, "resolution", "1080p on v6");
}

Test(modelslab, refuses_jobs_the_contract_cannot_express)
{
    struct remote_job j = v7_job();
    j.end_image_url = "https://vidgen.test/u/end.png";
    expect_refused(&j, "end image", "an end image");
    j = v6_job(), j.end_image_url = "https://vidgen.test/u/end.png";
    expect_refused(&j, "end image", "an end image on v6");
    j = v7_job(), j.start_image_url = "https://vidgen.test/u/s.png";
    expect_refused(&j, "start image", "a start image on a text endpoint");
    j = v7_job(), j.endpoint = "/v7/video-fusion/image-to-video";
    expect_refused(&j, "start image", "image-to-video without an image");
    j = v7_job(), j.endpoint = "/v6/video/text2video";
    expect_refused(&j, "not one this client speaks", "an endpoint it does not speak");
    j = v7_job(), j.endpoint = NULL;
    expect_refused(&j, "not one this client speaks", "no endpoint");
    j = v7_job(), j.api_key = "";
    expect_refused(&j, "MODELSLAB_API_KEY", "no key");
    j = v7_job(), j.prompt = NULL;
    expect_refused(&j, "prompt", "no prompt");
    j = v7_job(), j.model = "";
    expect_refused(&j, "model", "no model");
    j = v7_job(), j.duration = 0;
    expect_refused(&j, "second", "a 0-second clip");
    j = v6_job(), j.duration = 2000000000;
    expect_refused(&j, "second", "a frame count that overflows");
    j = v7_job(), j.prompt = "bad \xff utf-8";
    expect_refused(&j, "UTF-8", "a prompt that is not UTF-8");
}

Test(modelslab, has_no_cancel)
{
    cr_expect_null(ml()->build_cancel, "ModelsLab documents no cancel");
}

/* --- fetch --- */

Test(modelslab, fetch_is_a_post_with_only_the_key_on_the_family_of_the_endpoint)
{
    static const struct {
        const char *endpoint, *url;
    } cases[] = {
        {"/v6/video/text2video_ultra", "https://ml.test/api/v6/video/fetch/65919758"},
        {"/v6/video/img2video_ultra", "https://ml.test/api/v6/video/fetch/65919758"},
        {"/v7/video-fusion/text-to-video", "https://ml.test/api/v7/video-fusion/fetch/65919758"},
        {"/v7/video-fusion/image-to-video", "https://ml.test/api/v7/video-fusion/fetch/65919758"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_job j = v7_job();
        struct remote_request r;
        char err[256] = "";
        j.endpoint = cases[i].endpoint;
        cr_assert_eq(ml()->build_poll(&j, "65919758", &r, err, sizeof err), 0, "%s", err);
        expect_ml_call(&r, cases[i].url);
        json_t *b = body_of(&r);
        expect_str(b, "key", "ml-key");
        cr_expect_eq(json_object_size(b), 1, "the fetch body is only the key: %s", r.body);
        json_decref(b);
        remote_request_free(&r);
    }
}

Test(modelslab, fetch_refuses_an_id_that_cannot_go_into_the_path)
{
    static const char *const ids[] = {"", "../../v6/x", "1/2", "1?x=2", "a b"};
    struct remote_job j = v7_job();
    struct remote_request r;
    char err[256];
    for (size_t i = 0; i < N(ids); i++) {
        cr_expect_eq(ml()->build_poll(&j, ids[i], &r, err, sizeof err), -1, "'%s'", ids[i]);
        remote_request_free(&r);
    }
    cr_expect_eq(ml()->build_poll(&j, NULL, &r, err, sizeof err), -1);
    remote_request_free(&r);
    j.endpoint = "/v8/new";
    cr_expect_eq(ml()->build_poll(&j, "1", &r, err, sizeof err), -1, "an endpoint of no known family");
    remote_request_free(&r);
}

/* --- replies: the contract's recorded shapes --- */

static struct remote_reply submit(long status, const char *body)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    memset(&r, 0x5a, sizeof r); /* whatever was there must be overwritten */
    ml()->parse_submit(&h, &r);
    return r;
}

static struct remote_reply poll(long status, const char *body)
{
    struct remote_http h = http_reply(status, body);
    struct remote_reply r;
    memset(&r, 0x5a, sizeof r);
    ml()->parse_poll(&h, &r);
    return r;
}

#define SUCCESS_BODY                                                                                                   \
    "{\"status\":\"success\",\"generationTime\":45.2,\"id\":65919758,"                                                 \
    "\"output\":[\"https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/X.mp4\"],"                          \
    "\"proxy_links\":[\"https://cdn2.stablediffusionapi.com/generations/X.mp4\"],\"meta\":{}}"

#define PROCESSING_BODY                                                                                                \
    "{\"status\":\"processing\",\"eta\":10,\"message\":\"Try to fetch request after seconds estimated\","              \
    "\"fetch_result\":\"https://modelslab.com/api/v6/video/fetch/65919758\",\"id\":65919758,\"output\":[],"            \
    "\"meta\":{\"model_id\":\"zeroscope\"},\"future_links\":[\"https://pub-x.r2.dev/generations/37c0.gif\"]}"

Test(modelslab, success_gives_output_0_whatever_the_phase)
{
    struct remote_reply r = submit(200, SUCCESS_BODY);
    expect_state(&r, REMOTE_SUCCEEDED, "success at submit");
    cr_expect_str_eq(r.video_url, "https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/X.mp4");
    cr_expect_str_eq(r.job_id, "65919758");
    r = poll(200, SUCCESS_BODY);
    expect_state(&r, REMOTE_SUCCEEDED, "success at fetch");
    cr_expect_str_eq(r.video_url, "https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/X.mp4");
}

Test(modelslab, processing_is_running_with_the_id_and_eta_in_ms)
{
    struct remote_reply r = submit(200, PROCESSING_BODY);
    expect_state(&r, REMOTE_RUNNING, "processing");
    cr_expect_str_eq(r.job_id, "65919758");
    cr_expect_eq(r.eta_ms, 10000);
    cr_expect_eq(r.retry_after_ms, -1);
    cr_expect_eq(r.progress, -1);
    cr_expect_eq(r.video_url[0], '\0');
    r = poll(200, "{\"status\":\"processing\",\"eta\":12.75,\"id\":\"65919758\"}");
    expect_state(&r, REMOTE_RUNNING, "processing with a float eta and a string id");
    cr_expect_eq(r.eta_ms, 12750);
    cr_expect_str_eq(r.job_id, "65919758");
}

Test(modelslab, eta_of_the_wrong_type_or_sign_is_unknown)
{
    static const char *const bodies[] = {
        "{\"status\":\"processing\",\"id\":1,\"eta\":\"10\"}",
        "{\"status\":\"processing\",\"id\":1,\"eta\":-4}",
        "{\"status\":\"processing\",\"id\":1,\"eta\":null}",
        "{\"status\":\"processing\",\"id\":1,\"eta\":[10]}",
        "{\"status\":\"processing\",\"id\":1}",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r = poll(200, bodies[i]);
        expect_state(&r, REMOTE_RUNNING, bodies[i]);
        cr_expect_eq(r.eta_ms, -1, "%s", bodies[i]);
    }
}

Test(modelslab, submit_accepted_without_a_usable_id_fails_rather_than_submitting_again)
{
    static const char *const bodies[] = {
        "{\"status\":\"processing\",\"eta\":10}",  "{\"status\":\"processing\",\"id\":\"\"}",
        "{\"status\":\"processing\",\"id\":true}", "{\"status\":\"processing\",\"id\":\"../../x\"}",
        "{\"status\":\"processing\",\"id\":-5}",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r = submit(200, bodies[i]);
        expect_state(&r, REMOTE_FAILED, bodies[i]);
        cr_expect(says(&r, "id"), "%s: %s", bodies[i], r.message);
    }
    /* a fetch already knows its id */
    struct remote_reply r = poll(200, bodies[0]);
    expect_state(&r, REMOTE_RUNNING, "processing at fetch without an id");
}

Test(modelslab, unknown_id_at_fetch_fails)
{
    struct remote_reply r = poll(
        200, "{\"status\":\"failed\",\"id\":\"\",\"message\":\"Request not found\",\"output\":\"\",\"tip\":\"...\"}");
    expect_state(&r, REMOTE_FAILED, "Request not found");
    cr_expect(says(&r, "no longer knows"), "%s", r.message);
    cr_expect_eq(r.job_id[0], '\0');
    r = poll(404, "{\"status\":\"error\",\"message\":\"not here\"}");
    expect_state(&r, REMOTE_FAILED, "404 at fetch");
    cr_expect(says(&r, "no longer knows"), "%s", r.message);
}

Test(modelslab, error_fails_with_modelslabs_message_in_either_spelling)
{
    struct remote_reply r = submit(200, "{\"status\":\"error\",\"message\":\"Invalid API Request\",\"tip\":\"...\"}");
    expect_state(&r, REMOTE_FAILED, "error");
    cr_expect(says(&r, "Invalid API Request"), "%s", r.message);
    cr_expect(!r.content_refused, "a bad request may go to a model's next route");
    r = submit(400, "{\"status\":\"error\",\"messege\":\"prompt is required\"}");
    expect_state(&r, REMOTE_FAILED, "messege");
    cr_expect(says(&r, "prompt is required"), "messege was not read: %s", r.message);
    r = submit(400, "{\"status\":\"error\",\"message\":{\"prompt\":[\"The prompt field is required.\"]}}");
    expect_state(&r, REMOTE_FAILED, "a message that is an object");
    cr_expect(says(&r, "The prompt field is required."), "%s", r.message);
    r = poll(200, "{\"status\":\"failed\",\"id\":7,\"message\":\"NSFW content detected\"}");
    expect_state(&r, REMOTE_FAILED, "a failed job");
    cr_expect(says(&r, "NSFW content detected"), "%s", r.message);
    cr_expect(r.content_refused, "a moderation refusal never goes to another provider");
    r = poll(200, "{\"status\":\"failed\",\"id\":7}");
    expect_state(&r, REMOTE_FAILED, "a failed job without a reason");
    cr_expect(says(&r, "without a reason"), "%s", r.message);
}

/* --- replies: account faults a user can act on --- */

Test(modelslab, bad_key_no_credits_and_plan_fail_with_advice_whatever_the_http_code)
{
    static const struct {
        long status;
        const char *body, *says;
    } cases[] = {
        {401, "{\"status\":\"error\",\"message\":\"Invalid API key\"}", "MODELSLAB_API_KEY"},
        {200, "{\"status\":\"error\",\"message\":\"Invalid API key\"}", "MODELSLAB_API_KEY"},
        {200, "{\"status\":\"error\",\"message\":\"API key required\"}", "MODELSLAB_API_KEY"},
        {401, "<html>Unauthorized</html>", "MODELSLAB_API_KEY"},
        {401, "", "MODELSLAB_API_KEY"},
        {402, "{\"status\":\"error\",\"message\":\"Insufficient credits\"}", "top it up"},
        {200, "{\"status\":\"error\",\"message\":\"Insufficient credits\"}", "top it up"},
        {402, "{\"message\":\"Payment Required\"}", "top it up"},
        {403, "{\"status\":\"error\",\"message\":\"Upgrade your plan\"}", "plan"},
        {403, "Forbidden", "plan"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_reply r = submit(cases[i].status, cases[i].body);
        char what[128];
        snprintf(what, sizeof what, "HTTP %ld %s", cases[i].status, cases[i].body);
        expect_state(&r, REMOTE_FAILED, what);
        cr_expect(says(&r, cases[i].says), "%s: %s", what, r.message);
    }
}

/* --- replies: passing faults --- */

Test(modelslab, rate_limit_and_queue_full_retry_after_the_time_asked)
{
    const char *body = "{\"status\":\"error\",\"message\":\"Rate limit exceeded. Maximum 5 queued requests "
                       "allowed.\",\"retry_after\":30}";
    struct remote_reply r = submit(429, body);
    expect_state(&r, REMOTE_RETRY, "429");
    cr_expect_eq(r.retry_after_ms, 30000);
    cr_expect(says(&r, "Rate limit exceeded"), "%s", r.message);
    cr_expect(says(&r, "rate limiting"), "%s", r.message);
    r = submit(200, body);
    expect_state(&r, REMOTE_RETRY, "the same in a 200");
    cr_expect_eq(r.retry_after_ms, 30000);
    struct remote_http h = http_reply(429, body);
    h.retry_after = "60";
    ml()->parse_submit(&h, &r);
    expect_state(&r, REMOTE_RETRY, "429 with a longer Retry-After header");
    cr_expect_eq(r.retry_after_ms, 60000, "the longer of header and body");
    h = http_reply(429, "{\"status\":\"error\",\"message\":\"slow down\"}");
    h.retry_after = "7";
    ml()->parse_submit(&h, &r);
    expect_state(&r, REMOTE_RETRY, "429 with the header alone");
    cr_expect_eq(r.retry_after_ms, 7000);
    r = submit(200, "{\"status\":\"error\",\"message\":\"Queue is full, try again\"}");
    expect_state(&r, REMOTE_RETRY, "queue full");
    cr_expect(says(&r, "queue is full"), "%s", r.message);
    r = submit(500, "{\"status\":\"error\",\"message\":\"boom\"}");
    cr_expect(says(&r, "busy or failing"), "%s", r.message);
}

Test(modelslab, server_side_errors_retry_by_status_or_message)
{
    static const struct {
        long status;
        const char *body;
    } cases[] = {
        {500, "{\"status\":\"error\",\"message\":\"Internal Server Error\"}"},
        {503, "{\"status\":\"error\",\"message\":\"Service Unavailable\"}"},
        {502, "{\"status\":\"error\",\"message\":\"bad\"}"},
        {200, "{\"status\":\"error\",\"message\":\"Server error, please retry\"}"},
        {200, "{\"status\":\"error\",\"message\":\"Model is overloaded\"}"},
        {200, "{\"status\":\"error\",\"message\":\"Request timed out\"}"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_reply r = submit(cases[i].status, cases[i].body);
        expect_state(&r, REMOTE_RETRY, cases[i].body);
        r = poll(cases[i].status, cases[i].body);
        expect_state(&r, REMOTE_RETRY, cases[i].body);
    }
}

Test(modelslab, a_failed_job_is_final_even_with_a_server_side_message)
{
    const char *body = "{\"status\":\"failed\",\"id\":9,\"message\":\"Internal server error during generation\"}";
    struct remote_reply r = poll(200, body);
    expect_state(&r, REMOTE_FAILED, "failed at fetch");
    cr_expect(says(&r, "Internal server error during generation"), "%s", r.message);
    r = poll(503, body);
    expect_state(&r, REMOTE_RETRY, "but a 503 means the fetch itself did not go through");
}

/* --- replies: malformed --- */

Test(modelslab, unreadable_replies_retry_with_a_readable_message)
{
    static const struct {
        long status;
        const char *body, *says;
    } cases[] = {
        {200, "", "empty"},
        {200, NULL, "empty"},
        {200, "   \n", "empty"},
        {200, "<!DOCTYPE html><html><body>Cloudflare</body></html>", "not JSON"},
        {502, "<html>Bad Gateway</html>", "not JSON"},
        {200, "{\"status\":\"success\",\"output\":[\"https://x.test/v.mp4\"", "truncated"},
        {200, "{\"status\":\"proc", "truncated"},
        {200, "[\"success\"]", "not an object"},
        {200, "\"success\"", "not an object"},
        {200, "{\"status\":1}", "without a status"},
        {200, "{\"status\":null,\"message\":\"huh\"}", "huh"},
        {200, "{}", "without a status"},
        {0, "", "no reply"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char what[160];
        snprintf(what, sizeof what, "HTTP %ld '%s'", cases[i].status, cases[i].body ? cases[i].body : "(null)");
        struct remote_reply r = poll(cases[i].status, cases[i].body);
        expect_state(&r, REMOTE_RETRY, what);
        cr_expect(says(&r, cases[i].says), "%s: %s", what, r.message);
        cr_expect_eq(r.video_url[0], '\0');
        r = submit(cases[i].status, cases[i].body);
        expect_state(&r, REMOTE_RETRY, what);
    }
}

Test(modelslab, unreadable_4xx_fails_naming_the_status)
{
    struct remote_reply r = submit(404, "<html>Not Found</html>");
    expect_state(&r, REMOTE_FAILED, "an HTML 404");
    cr_expect(says(&r, "404"), "%s", r.message);
}

Test(modelslab, success_without_a_usable_video_fails)
{
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"{\"status\":\"success\",\"id\":1,\"output\":[]}", "without a video"},
        {"{\"status\":\"success\",\"id\":1}", "without a video"},
        {"{\"status\":\"success\",\"id\":1,\"output\":\"\"}", "without a video"},
        {"{\"status\":\"success\",\"id\":1,\"output\":null}", "without a video"},
        {"{\"status\":\"success\",\"id\":1,\"output\":{}}", "without a video"},
        {"{\"status\":\"success\",\"id\":1,\"output\":[42]}", "cannot be used"},
        {"{\"status\":\"success\",\"id\":1,\"output\":[\"ftp://x.test/v.mp4\"]}", "cannot be used"},
        {"{\"status\":\"success\",\"id\":1,\"output\":[\"file:///etc/passwd\"]}", "cannot be used"},
        {"{\"status\":\"success\",\"id\":1,\"output\":[\"/relative.mp4\"]}", "cannot be used"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct remote_reply r = poll(200, cases[i].body);
        expect_state(&r, REMOTE_FAILED, cases[i].body);
        cr_expect(says(&r, cases[i].says), "%s: %s", cases[i].body, r.message);
        cr_expect_eq(r.video_url[0], '\0', "%s", cases[i].body);
    }
}

Test(modelslab, success_falls_back_to_proxy_links_and_takes_a_url_string)
{
    struct remote_reply r =
        poll(200, "{\"status\":\"success\",\"output\":[],\"proxy_links\":[\"https://cdn2.test/generations/X.mp4\"]}");
    expect_state(&r, REMOTE_SUCCEEDED, "proxy_links");
    cr_expect_str_eq(r.video_url, "https://cdn2.test/generations/X.mp4");
    r = poll(200, "{\"status\":\"success\",\"output\":\"https://cdn.test/v.mp4\"}");
    expect_state(&r, REMOTE_SUCCEEDED, "output as a string");
    cr_expect_str_eq(r.video_url, "https://cdn.test/v.mp4");
}

Test(modelslab, unknown_status_keeps_following_a_job_it_can_name)
{
    struct remote_reply r = poll(200, "{\"status\":\"queued\",\"id\":5}");
    expect_state(&r, REMOTE_RUNNING, "queued with an id");
    cr_expect_str_eq(r.job_id, "5");
    r = submit(200, "{\"status\":\"queued\",\"id\":5}");
    expect_state(&r, REMOTE_RUNNING, "queued with an id at submit");
}

/* --- replies: sizes --- */

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

Test(modelslab, huge_strings_are_cut_safely_or_refused_never_overflowed)
{
    /* a 200 KB message of 2-byte characters, cut at a character boundary */
    char *body = repeat("{\"status\":\"error\",\"message\":\"", "\xc3\xa9", 100000, "\"}");
    struct remote_reply r = submit(400, body);
    expect_state(&r, REMOTE_FAILED, "a huge message");
    cr_expect_gt(strlen(r.message), 100, "the message was dropped rather than cut");
    free(body);
    /* a 300-byte id does not fit: it is refused, not truncated into a wrong id */
    body = repeat("{\"status\":\"processing\",\"id\":\"", "1", 300, "\"}");
    r = poll(200, body);
    cr_expect_eq(r.job_id[0], '\0', "a 300-byte id was truncated");
    free(body);
    /* a 5000-byte URL does not fit video_url: a cut URL would download something else */
    body = repeat("{\"status\":\"success\",\"output\":[\"https://cdn.test/", "a", 5000, "\"]}");
    r = poll(200, body);
    expect_state(&r, REMOTE_FAILED, "a URL longer than the buffer");
    cr_expect_eq(r.video_url[0], '\0');
    free(body);
    /* a URL of exactly the largest size that fits */
    size_t room = sizeof r.video_url - 1 - strlen("https://cdn.test/");
    body = repeat("{\"status\":\"success\",\"output\":[\"https://cdn.test/", "a", room, "\"]}");
    r = poll(200, body);
    expect_state(&r, REMOTE_SUCCEEDED, "a URL that just fits");
    cr_expect_eq(strlen(r.video_url), sizeof r.video_url - 1);
    free(body);
    /* a huge HTML page: the message quotes only its start */
    body = repeat("<html>", "x", 100000, "</html>");
    r = poll(200, body);
    expect_state(&r, REMOTE_RETRY, "a huge HTML page");
    cr_expect_lt(strlen(r.message), 200, "%s", r.message);
    free(body);
}

Test(modelslab, deep_nesting_does_not_crash)
{
    char *body = repeat("{\"status\":\"error\",\"message\":", "[", 100000, "");
    struct remote_reply r = submit(200, body);
    expect_state(&r, REMOTE_RETRY, "100000 open brackets");
    free(body);
}

/* --- webhooks --- */

Test(modelslab, webhook_success_and_failure_read_like_a_fetch)
{
    struct remote_reply r;
    const char *ok = "{\"status\":\"success\",\"id\":65919758,\"output\":[\"https://cdn.test/X.mp4\"],"
                     "\"generationTime\":41.5,\"track_id\":\"gen_01HZX\",\"meta\":{}}";
    cr_expect_eq(ml()->parse_webhook(ok, strlen(ok), &r), 0);
    expect_state(&r, REMOTE_SUCCEEDED, "success webhook");
    cr_expect_str_eq(r.job_id, "65919758");
    cr_expect_str_eq(r.video_url, "https://cdn.test/X.mp4");
    const char *bad = "{\"status\":\"failed\",\"id\":\"65919758\",\"message\":\"NSFW\",\"track_id\":\"gen_01HZX\"}";
    cr_expect_eq(ml()->parse_webhook(bad, strlen(bad), &r), 0);
    expect_state(&r, REMOTE_FAILED, "failed webhook");
    cr_expect(says(&r, "NSFW"));
    const char *track_only = "{\"status\":\"failed\",\"message\":\"x\",\"track_id\":\"gen_01HZX\"}";
    cr_expect_eq(ml()->parse_webhook(track_only, strlen(track_only), &r), 0, "track_id alone names the job");
}

Test(modelslab, webhook_refuses_what_is_not_a_modelslab_callback)
{
    static const char *const bodies[] = {
        "",
        "garbage",
        "[]",
        "{}",
        "{\"status\":\"success\",\"output\":[\"https://cdn.test/X.mp4\"]}",               /* no id, no track_id */
        "{\"status\":\"teleported\",\"id\":1}",                                           /* unknown status */
        "{\"id\":1,\"output\":[\"https://cdn.test/X.mp4\"]}",                             /* no status */
        "{\"status\":\"success\",\"id\":{\"a\":1}}",                                      /* id of the wrong type */
        "{\"status\":\"failed\",\"id\":1,\"status\":\"success\"}",                        /* duplicate keys */
        "{\"event\":\"async_job_completed\",\"job_id\":\"3c90\",\"status\":\"success\"}", /* Eden AI's */
        "{\"status\":\"success\",\"id\":1",                                               /* truncated */
    };
    for (size_t i = 0; i < N(bodies); i++) {
        struct remote_reply r;
        cr_expect_eq(ml()->parse_webhook(bodies[i], strlen(bodies[i]), &r), -1, "'%s' taken", bodies[i]);
        expect_clean_message(&r);
        cr_expect_neq(r.state, REMOTE_SUCCEEDED, "'%s'", bodies[i]);
    }
    struct remote_reply r;
    cr_expect_eq(ml()->parse_webhook(NULL, 0, &r), -1);
}

/* --- registry --- */

Test(modelslab, is_registered_with_every_function_it_needs)
{
    const struct provider *p = provider_find("modelslab");
    cr_assert_eq(p, &provider_modelslab);
    cr_expect_eq(p->kind, PROVIDER_HTTP);
    cr_expect(p->build_submit && p->build_poll && p->parse_submit && p->parse_poll && p->parse_webhook);
    cr_expect_str_eq(p->display_name, "ModelsLab");
}
