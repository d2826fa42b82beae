/* The helpers every remote provider shares (providers/remote.c, providers/remote_util.c):
 * freeing a request, a reply from an HTTP status alone, Retry-After, and the safe copies of
 * untrusted text, ids and URLs into fixed buffers. */
#include "providers/remote_util.h"
#include "remote_test.h"

/* --- remote_request_free --- */

Test(remote, request_free_is_safe_on_zeroed_half_built_and_freed_requests)
{
    struct remote_request r;
    char err[128];
    memset(&r, 0, sizeof r);
    remote_request_free(&r);
    cr_assert_eq(remote_request_init(&r, "POST", "https://x.test", "/a", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(remote_request_header(&r, "Accept", "application/json", err, sizeof err), 0, "%s", err);
    json_t *b = json_pack("{s:s}", "k", "v");
    cr_assert_eq(remote_request_json(&r, b, err, sizeof err), 0, "%s", err);
    json_decref(b);
    remote_request_free(&r);
    cr_expect_null(r.url);
    cr_expect_null(r.body);
    cr_expect_null(r.headers[0]);
    cr_expect_eq(r.body_len, 0);
    remote_request_free(&r); /* twice: a zeroed request again */
}

Test(remote, request_url_joins_base_path_and_id_with_one_slash)
{
    struct remote_request r;
    char err[128];
    cr_assert_eq(remote_request_init(&r, "GET", "https://x.test/api//", "/v3/a", "abc-1", err, sizeof err), 0);
    cr_expect_str_eq(r.url, "https://x.test/api/v3/a/abc-1");
    cr_expect_str_eq(r.method, "GET");
    remote_request_free(&r);
}

Test(remote, request_refuses_what_cannot_go_into_a_url_or_header)
{
    struct remote_request r;
    char err[128] = "";
    static const char *const bad_ids[] = {"", ".", "..", "../etc", "a/b", "a b", "a?b", "a#b", "a%2f", "é"};
    for (size_t i = 0; i < N(bad_ids); i++) {
        cr_expect_eq(remote_request_init(&r, "GET", "https://x.test", "/p", bad_ids[i], err, sizeof err), -1,
                     "id '%s' went into a URL", bad_ids[i]);
        remote_request_free(&r);
    }
    cr_expect_eq(remote_request_init(&r, "GET", "", "/p", NULL, err, sizeof err), -1, "empty base URL");
    cr_expect_eq(remote_request_init(&r, "GET", "https://x.test", "p", NULL, err, sizeof err), -1, "relative path");
    cr_assert_eq(remote_request_init(&r, "GET", "https://x.test", "/p", NULL, err, sizeof err), 0);
    cr_expect_eq(remote_request_header(&r, "Authorization", "Bearer k\r\nX-Evil: 1", err, sizeof err), -1);
    cr_expect_eq(remote_request_header(&r, "Authorization", "Bearer k\n", err, sizeof err), -1);
    cr_expect_null(r.headers[0], "a refused header was kept");
    cr_expect_neq(err[0], '\0', "no message");
    remote_request_free(&r);
}

Test(remote, request_holds_at_most_its_header_slots)
{
    struct remote_request r;
    char err[128];
    cr_assert_eq(remote_request_init(&r, "GET", "https://x.test", "/p", NULL, err, sizeof err), 0);
    for (int i = 0; i < REMOTE_MAX_HEADERS; i++)
        cr_assert_eq(remote_request_header(&r, "X-N", "1", err, sizeof err), 0);
    cr_expect_eq(remote_request_header(&r, "X-N", "1", err, sizeof err), -1);
    cr_expect_null(r.headers[REMOTE_MAX_HEADERS], "the header list is not NULL-terminated");
    remote_request_free(&r);
}

/* A body written without a tree is the one jansson would write: a key of any text a user or
 * an operator can set (quotes, backslashes, control bytes, '/', non-ASCII) reaches the
 * provider as the same bytes. */
Test(remote, json_pair_writes_the_bytes_json_dumps_writes)
{
    static const char *const values[] = {"ml-test-key",      "",        "a\"b\\c",      "tab\there\nnew\rline",
                                         "\b\f\x01\x1f\x7f", "a/b</c>", "clé ☃ 𝄞 日本", "{\"key\":\"x\"}"};
    for (size_t i = 0; i < N(values); i++) {
        struct remote_request r;
        char err[128];
        memset(&r, 0, sizeof r);
        json_t *o = json_pack("{s:s}", "key", values[i]);
        char *want = json_dumps(o, JSON_COMPACT);
        cr_assert_eq(remote_request_json_pair(&r, "key", values[i], "the key", err, sizeof err), 0, "%s", err);
        cr_expect_str_eq(r.body, want, "value %zu", i);
        cr_expect_eq(r.body_len, strlen(want));
        free(want);
        json_decref(o);
        remote_request_free(&r);
    }
}

Test(remote, json_pair_refuses_text_that_is_not_utf8)
{
    static const char *const values[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "ok\x80"};
    for (size_t i = 0; i < N(values); i++) {
        struct remote_request r;
        char err[128] = "";
        memset(&r, 0, sizeof r);
        cr_expect_eq(remote_request_json_pair(&r, "key", values[i], "the key", err, sizeof err), -1, "value %zu", i);
        cr_expect_str_eq(err, "the key is not valid UTF-8 text");
        cr_expect_null(r.body);
        remote_request_free(&r);
    }
}

/* --- remote_reply_from_status --- */

static const struct {
    long status;
    enum remote_state want;
} statuses[] = {
    {0, REMOTE_RETRY},    {408, REMOTE_RETRY},  {429, REMOTE_RETRY},  {500, REMOTE_RETRY},  {502, REMOTE_RETRY},
    {503, REMOTE_RETRY},  {599, REMOTE_RETRY},  {400, REMOTE_FAILED}, {401, REMOTE_FAILED}, {403, REMOTE_FAILED},
    {404, REMOTE_FAILED}, {422, REMOTE_FAILED}, {499, REMOTE_FAILED},
};

Test(remote, from_status_retries_0_408_429_5xx_and_fails_other_4xx)
{
    for (size_t i = 0; i < N(statuses); i++) {
        struct remote_http h = http_reply(statuses[i].status, NULL);
        struct remote_reply r;
        char what[32], code[16];
        snprintf(what, sizeof what, "HTTP %ld", statuses[i].status);
        remote_reply_from_status(&h, &r);
        expect_state(&r, statuses[i].want, what);
        snprintf(code, sizeof code, "%ld", statuses[i].status);
        if (statuses[i].status != 0)
            cr_expect(strstr(r.message, code) != NULL, "%s: message does not name the status: %s", what, r.message);
        else
            cr_expect(says(&r, "no reply"), "status 0: %s", r.message);
        cr_expect_eq(r.job_id[0], '\0');
        cr_expect_eq(r.video_url[0], '\0');
        cr_expect_eq(r.eta_ms, -1);
        cr_expect_eq(r.progress, -1);
    }
}

Test(remote, from_status_reads_retry_after)
{
    struct remote_http h = http_reply(429, NULL);
    struct remote_reply r;
    h.retry_after = "30";
    remote_reply_from_status(&h, &r);
    cr_expect_eq(r.retry_after_ms, 30000);
    h.retry_after = NULL;
    remote_reply_from_status(&h, &r);
    cr_expect_eq(r.retry_after_ms, -1);
}

/* --- remote_retry_after_ms --- */

#define T0 784111777000LL /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct {
    const char *value;
    long long want;
} retry_after[] = {
    {"120", 120000},
    {"0", 0},
    {" 5 ", 5000},
    {"1.5", 1500},
    {"007", 7000},
    {"Sun, 06 Nov 1994 08:49:47 GMT", 10000},  /* IMF-fixdate */
    {"Sunday, 06-Nov-94 08:49:47 GMT", 10000}, /* RFC 850 */
    {"Sun Nov  6 08:49:47 1994", 10000},       /* asctime */
    {"Sun, 06 Nov 1994 08:49:37 GMT", 0},      /* now */
    {"Sat, 05 Nov 1994 08:49:37 GMT", 0},      /* past */
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},      /* long past */
    {"99999999999999999999999", REMOTE_MAX_WAIT_MS},
    {"Fri, 31 Dec 9999 23:59:59 GMT", REMOTE_MAX_WAIT_MS},
    {"", -1},
    {"   ", -1},
    {"-5", -1},
    {"+5", -1},
    {"5x", -1},
    {"5.", -1},
    {".5", -1},
    {"1e3", -1},
    {"soon", -1},
    {"Sun, 06 Nov 1994 08:49:47 GMT trailing", -1},
    {"Sun, 06 Nov 1994 08:49:47", -1},
    {"Sun, 32 Nov 1994 08:49:47 GMT", -1},
};

Test(remote, retry_after_reads_seconds_and_the_three_http_dates)
{
    cr_expect_eq(remote_retry_after_ms(NULL, T0), -1);
    for (size_t i = 0; i < N(retry_after); i++)
        cr_expect_eq(remote_retry_after_ms(retry_after[i].value, T0), retry_after[i].want,
                     "'%s' read as %lld, want %lld", retry_after[i].value,
                     (long long)remote_retry_after_ms(retry_after[i].value, T0), retry_after[i].want);
}

Test(remote, retry_after_header_and_body_field_take_the_longer)
{
    struct remote_http h = http_reply(429, NULL);
    json_t *body = json_real(2.5);
    h.retry_after = "1";
    cr_expect_eq(remote_http_retry_after_ms(&h, body), 2500);
    h.retry_after = "9";
    cr_expect_eq(remote_http_retry_after_ms(&h, body), 9000);
    h.retry_after = "junk";
    cr_expect_eq(remote_http_retry_after_ms(&h, body), 2500);
    cr_expect_eq(remote_http_retry_after_ms(&h, NULL), -1);
    json_decref(body);
    body = json_string("30"); /* a string is not seconds */
    cr_expect_eq(remote_http_retry_after_ms(&h, body), -1);
    json_decref(body);
    h.retry_after = "Sun, 06 Nov 1994 08:49:57 GMT";
    h.now_unix_ms = T0;
    cr_expect_eq(remote_http_retry_after_ms(&h, NULL), 20000, "the reply's arrival time is the reference");
}

/* --- safe copies --- */

Test(remote, text_copy_cuts_at_a_utf8_boundary_and_cleans_bytes)
{
    char out[8];
    remote_text_copy(out, 4, "h\xc3\xa9llo", 6); /* "héllo": é takes 2 bytes */
    cr_expect_str_eq(out, "h\xc3\xa9");
    remote_text_copy(out, 3, "h\xc3\xa9llo", 6);
    cr_expect_str_eq(out, "h", "a character was cut in half");
    remote_text_copy(out, sizeof out, "a\nb\tc\x7f", 6);
    cr_expect_str_eq(out, "a b c ");
    remote_text_copy(out, sizeof out, "\xff\xc3(\xed\xa0\x80", 6); /* stray, truncated, surrogate */
    cr_expect_str_eq(out, "?"
                          "?(?"
                          "?"
                          "?");
    remote_text_copy(out, sizeof out, "\xe2\x82", 2); /* a sequence cut at the end */
    cr_expect_str_eq(out, "??");
    remote_text_copy(out, sizeof out, "ab\0cd", 5);
    cr_expect_str_eq(out, "ab cd", "a NUL byte must not end the text early");
    remote_text_copy(out, 1, "abc", 3);
    cr_expect_str_eq(out, "");
}

Test(remote, json_id_is_a_number_or_a_safe_string_never_truncated)
{
    char id[128];
    static const char *const good[][2] = {
        {"65919758", "65919758"},
        {"\"65919758\"", "65919758"},
        {"\"3c90c3cc-0d44-4b50-8888-8dd25736052a\"", "3c90c3cc-0d44-4b50-8888-8dd25736052a"},
        {"0", "0"},
    };
    static const char *const bad[] = {"-1",   "1.5",      "true",    "null",    "[]",   "{}",
                                      "\"\"", "\"../x\"", "\"a/b\"", "\"a b\"", "\"é\""};
    for (size_t i = 0; i < N(good); i++) {
        json_t *v = json_loads(good[i][0], JSON_DECODE_ANY, NULL);
        strcpy(id, "x");
        cr_expect(remote_json_copy_id(v, id, sizeof id), "%s refused", good[i][0]);
        cr_expect_str_eq(id, good[i][1]);
        json_decref(v);
    }
    for (size_t i = 0; i < N(bad); i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        strcpy(id, "x");
        cr_expect_not(remote_json_copy_id(v, id, sizeof id), "%s accepted", bad[i]);
        cr_expect_str_eq(id, "x", "%s changed the output", bad[i]);
        json_decref(v);
    }
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    json_t *v = json_string(long_id);
    cr_expect_not(remote_json_copy_id(v, id, sizeof id), "a 199-byte id was truncated into 128");
    json_decref(v);
}

Test(remote, json_url_is_http_or_https_with_a_host_and_fits)
{
    char url[64];
    static const char *const good[] = {"https://cdn.test/x.mp4", "http://127.0.0.1:9/v.mp4", "HTTPS://A.test/b"};
    static const char *const bad[] = {"",
                                      "ftp://x.test/v.mp4",
                                      "file:///etc/passwd",
                                      "javascript:alert(1)",
                                      "https://",
                                      "https:///path",
                                      "https://a.test/a b",
                                      "https://a.test/\n",
                                      "//a.test/v.mp4",
                                      "https://a.test/" /* then too long: */ "0123456789012345678901234567890123456789"
                                      "0123456789"};
    for (size_t i = 0; i < N(good); i++) {
        json_t *v = json_string(good[i]);
        cr_expect(remote_json_copy_url(v, url, sizeof url), "%s refused", good[i]);
        cr_expect_str_eq(url, good[i]);
        json_decref(v);
    }
    for (size_t i = 0; i < N(bad); i++) {
        json_t *v = json_string(bad[i]);
        strcpy(url, "x");
        cr_expect_not(remote_json_copy_url(v, url, sizeof url), "%s accepted", bad[i]);
        cr_expect_str_eq(url, "x");
        json_decref(v);
    }
    json_t *v = json_integer(5);
    cr_expect_not(remote_json_copy_url(v, url, sizeof url));
    json_decref(v);
}

Test(remote, json_seconds_are_non_negative_numbers_capped_at_a_day)
{
    static const struct {
        const char *json;
        long long want;
    } cases[] = {{"10", 10000},
                 {"10.25", 10250},
                 {"0", 0},
                 {"-1", -1},
                 {"\"10\"", -1},
                 {"null", -1},
                 {"true", -1},
                 {"1e300", REMOTE_MAX_WAIT_MS},
                 {"86401", REMOTE_MAX_WAIT_MS}};
    for (size_t i = 0; i < N(cases); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        cr_expect_eq(remote_json_seconds_ms(v), cases[i].want, "%s", cases[i].json);
        json_decref(v);
    }
    cr_expect_eq(remote_json_seconds_ms(NULL), -1);
}

Test(remote, json_load_says_what_came_instead_of_an_object)
{
    static const struct {
        const char *body;
        const char *says;
    } cases[] = {
        {"", "empty"},
        {"  \r\n", "empty"},
        {"<html><body>502 Bad Gateway</body></html>", "not JSON"},
        {"{\"status\":\"succ", "truncated"},
        {"[1,2]", "not an object"},
        {"\"text\"", "not an object"},
        {"{} trailing", "truncated"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char why[200] = "";
        json_t *j = remote_json_load(cases[i].body, strlen(cases[i].body), 0, why, sizeof why);
        cr_expect_null(j, "'%s' parsed", cases[i].body);
        json_decref(j);
        cr_expect(strcasestr(why, cases[i].says) != NULL, "'%s': %s", cases[i].body, why);
    }
    char why[200];
    cr_expect_null(remote_json_load(NULL, 10, 0, why, sizeof why), "a NULL body");
    json_t *j = remote_json_load("{\"a\":1,\"a\":2}", 13, JSON_REJECT_DUPLICATES, why, sizeof why);
    cr_expect_null(j, "duplicate keys with JSON_REJECT_DUPLICATES");
    json_decref(j);
}

Test(remote, key_availability_names_the_variable)
{
    char reason[64] = "";
    cr_expect(remote_key_available("k", "X_KEY", reason, sizeof reason));
    cr_expect_not(remote_key_available("", "X_KEY", reason, sizeof reason));
    cr_expect_str_eq(reason, "X_KEY is not set");
}
