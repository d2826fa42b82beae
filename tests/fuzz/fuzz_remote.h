/* What the provider fuzz targets share: the input's first two bytes choose the HTTP status
 * and the Retry-After header, the rest is the body; and the invariants every parsed reply
 * must keep, whatever the bytes. A broken invariant traps. */
#ifndef VIDGEN_TESTS_FUZZ_REMOTE_H
#define VIDGEN_TESTS_FUZZ_REMOTE_H

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "providers/registry.h"
#include "providers/remote_util.h"

static const long fuzz_statuses[] = {200, 0,   201, 202, 204, 301, 400, 401, 402, 403, 404, 408,
                                     413, 422, 429, 451, 500, 502, 503, 504, 599, 999, -1,  100};
static const char *const fuzz_retry_after[] = {NULL,  "30",
                                               "1.5", "Sun, 06 Nov 1994 08:49:47 GMT",
                                               "-1",  "99999999999999999999",
                                               "",    "Fri, 31 Dec 9999 23:59:59 GMT"};

static inline int fuzz_terminated(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static inline int fuzz_wait_ok(int64_t ms)
{
    return ms == -1 || (ms >= 0 && ms <= REMOTE_MAX_WAIT_MS);
}

static inline void fuzz_check_reply(const struct remote_reply *r)
{
    if (r->state != REMOTE_RUNNING && r->state != REMOTE_SUCCEEDED && r->state != REMOTE_RETRY &&
        r->state != REMOTE_FAILED)
        __builtin_trap();
    if (!fuzz_terminated(r->job_id, sizeof r->job_id) || !fuzz_terminated(r->video_url, sizeof r->video_url) ||
        !fuzz_terminated(r->message, sizeof r->message))
        __builtin_trap();
    /* the message goes into JSON and logs: valid UTF-8, no control byte */
    json_t *m = json_string(r->message);
    if (m == NULL)
        __builtin_trap();
    json_decref(m);
    for (const unsigned char *p = (const unsigned char *)r->message; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            __builtin_trap();
    /* an id goes into a URL path; a video URL is downloaded */
    if (r->job_id[0] != '\0' && !remote_id_is_safe(r->job_id))
        __builtin_trap();
    if ((r->state == REMOTE_SUCCEEDED) != (r->video_url[0] != '\0'))
        __builtin_trap();
    if (r->state == REMOTE_SUCCEEDED && strncasecmp(r->video_url, "https://", 8) != 0 &&
        strncasecmp(r->video_url, "http://", 7) != 0)
        __builtin_trap();
    if ((r->state == REMOTE_RETRY || r->state == REMOTE_FAILED) && r->message[0] == '\0')
        __builtin_trap();
    if (!fuzz_wait_ok(r->eta_ms) || !fuzz_wait_ok(r->retry_after_ms) || r->progress < -1 || r->progress > 100)
        __builtin_trap();
}

/* Feeds one input to every parser of `p`. */
static inline void fuzz_provider(const struct provider *p, const uint8_t *data, size_t size)
{
    struct remote_reply r;
    if (size < 2)
        return;
    struct remote_http h = {
        .status = fuzz_statuses[data[0] % (sizeof fuzz_statuses / sizeof fuzz_statuses[0])],
        .retry_after = fuzz_retry_after[data[1] % (sizeof fuzz_retry_after / sizeof fuzz_retry_after[0])],
        .body = size > 2 ? (const char *)data + 2 : NULL,
        .body_len = size - 2,
        .now_unix_ms = 784111777000LL,
    };
    p->parse_submit(&h, &r);
    fuzz_check_reply(&r);
    if (r.state == REMOTE_RUNNING && r.job_id[0] == '\0')
        __builtin_trap(); /* a submit accepted must give the id to follow it by */
    p->parse_poll(&h, &r);
    fuzz_check_reply(&r);
    if (p->parse_webhook != NULL) {
        if (p->parse_webhook(h.body, h.body_len, &r) == 0 && r.state == REMOTE_RETRY && r.message[0] == '\0')
            __builtin_trap();
        fuzz_check_reply(&r);
    }
    if (p->parse_lookup != NULL) {
        int found = p->parse_lookup(&h, "gen_fuzz", &r);
        fuzz_check_reply(&r);
        if (found < -1 || found > 1 || (found == 1 && r.job_id[0] == '\0'))
            __builtin_trap();
    }
}

#endif
