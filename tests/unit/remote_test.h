/* Helpers shared by the provider tests (test_modelslab.c, test_edenai.c): read a built
 * request back, feed a reply to a parser. Every helper is static; each test file has its own. */
#ifndef VIDGEN_TESTS_REMOTE_TEST_H
#define VIDGEN_TESTS_REMOTE_TEST_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "providers/registry.h"
#include "providers/remote.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The request's body parsed back; duplicate keys fail the test. The caller decrefs. */
static inline json_t *body_of(const struct remote_request *r)
{
    json_error_t e;
    cr_assert_not_null(r->body, "the request has no body");
    cr_assert_eq(r->body_len, strlen(r->body), "body_len does not match the body");
    json_t *b = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(b, "the body is not JSON: %s in %s", e.text, r->body);
    cr_assert(json_is_object(b), "the body is not a JSON object: %s", r->body);
    return b;
}

static inline bool has_header(const struct remote_request *r, const char *line)
{
    for (size_t i = 0; i < REMOTE_MAX_HEADERS && r->headers[i] != NULL; i++)
        if (strcmp(r->headers[i], line) == 0)
            return true;
    return false;
}

/* Whether any header's name is `name` (case-insensitive). */
static inline bool has_header_named(const struct remote_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < REMOTE_MAX_HEADERS && r->headers[i] != NULL; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return true;
    return false;
}

/* body[key] must be a string equal to `want`. */
static inline void expect_str(const json_t *o, const char *key, const char *want)
{
    const json_t *v = json_object_get(o, key);
    cr_expect(json_is_string(v), "%s is not a JSON string", key);
    if (json_is_string(v))
        cr_expect_str_eq(json_string_value(v), want, "%s", key);
}

static inline void expect_int(const json_t *o, const char *key, long long want)
{
    const json_t *v = json_object_get(o, key);
    cr_expect(json_is_integer(v), "%s is not a JSON integer", key);
    cr_expect_eq(json_integer_value(v), want, "%s is %lld, not %lld", key, (long long)json_integer_value(v), want);
}

static inline void expect_bool(const json_t *o, const char *key, bool want)
{
    const json_t *v = json_object_get(o, key);
    cr_expect(json_is_boolean(v), "%s is not a JSON boolean", key);
    cr_expect_eq(json_is_true(v), want, "%s", key);
}

static inline void expect_absent(const json_t *o, const char *key)
{
    cr_expect_null(json_object_get(o, key), "%s should not be sent", key);
}

/* The reply's message must be valid UTF-8 with no control byte and end inside its buffer. */
static inline void expect_clean_message(const struct remote_reply *r)
{
    size_t n = strnlen(r->message, sizeof r->message);
    cr_assert_lt(n, sizeof r->message, "message is not terminated");
    json_t *s = json_stringn(r->message, n);
    cr_expect_not_null(s, "message is not valid UTF-8: %s", r->message);
    json_decref(s);
    for (size_t i = 0; i < n; i++)
        cr_expect((unsigned char)r->message[i] >= 0x20 && r->message[i] != 0x7f, "control byte in message");
}

static inline void expect_state(const struct remote_reply *r, enum remote_state want, const char *what)
{
    static const char *const names[] = {"RUNNING", "SUCCEEDED", "RETRY", "FAILED"};
    cr_expect_eq(r->state, want, "%s: state %s, want %s (message: %s)", what, names[r->state], names[want], r->message);
    expect_clean_message(r);
}

/* Whether `needle` occurs in the message, ignoring case. */
static inline bool says(const struct remote_reply *r, const char *needle)
{
    return strcasestr(r->message, needle) != NULL;
}

static inline struct remote_http http_reply(long status, const char *body)
{
    return (struct remote_http){.status = status, .body = body, .body_len = body ? strlen(body) : 0};
}

#endif
