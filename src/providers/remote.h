/* What a remote provider does, as data in and data out: it builds the HTTP requests of a
 * job (submit, poll, fetch the result) and reads the replies and webhooks into one shape.
 * It never sends anything, blocks, sleeps or touches the store: the worker sends the
 * requests through its libcurl loop and decides what a reply means for the job (DESIGN §3,
 * §6). Each provider is one file (providers/modelslab.c, providers/edenai.c) filling the
 * function pointers of its `struct provider` (providers/registry.h). */
#ifndef VIDGEN_PROVIDERS_REMOTE_H
#define VIDGEN_PROVIDERS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REMOTE_MAX_HEADERS 8

/* A request to send. Built by a provider; the caller owns it (remote_request_free). */
struct remote_request {
    char method[8];                        /* "GET", "POST", "DELETE" */
    char *url;                             /* malloc'd, absolute */
    char *headers[REMOTE_MAX_HEADERS + 1]; /* malloc'd "Name: value" lines, NULL-terminated */
    char *body;                            /* malloc'd, or NULL for none */
    size_t body_len;
};

/* Frees what the request owns and zeroes it; safe on a zeroed or half-built request. */
void remote_request_free(struct remote_request *r);

/* What a job needs to be submitted: the generation as the user asked for it, the route's
 * provider model string and endpoint (already the image-to-video ones when an image is
 * given), and the provider's settings. Every string is borrowed; optional ones are NULL. */
struct remote_job {
    const char *generation_id; /* ours; unique, usable as the provider's de-duplication key */
    const char *base_url;      /* the provider's base URL, no trailing slash (config) */
    const char *api_key;       /* Kling: "ACCESS:SECRET", the two keys it signs its tokens with */
    const char *model;         /* the route's provider model string */
    const char *endpoint;      /* the route's path on base_url */
    const char *prompt;
    const char *negative_prompt; /* NULL: none */
    const char *resolution;      /* "720p", "1080p", "4K" */
    const char *aspect_ratio;    /* "16:9", … */
    int duration;                /* seconds */
    bool generate_audio, enhance_prompt;
    const char *start_image_url; /* NULL: text to video */
    const char *end_image_url;   /* NULL: none */
    const char *webhook_url;     /* NULL: no webhook */
};

/* What the provider said, in one shape for every reply (submit, poll, webhook). */
enum remote_state {
    REMOTE_RUNNING,   /* accepted or still working: poll again (job_id is set) */
    REMOTE_SUCCEEDED, /* done: video_url is set */
    REMOTE_RETRY,     /* a passing fault (429, 5xx, timeout, garbage): same request again later. After a
                         submit, a RETRY on status 0 or 2xx (no reply, or an unreadable one) means the
                         provider may have accepted the job: resubmitting blindly could run it twice */
    REMOTE_FAILED,    /* a permanent fault (bad key, refused prompt, unsafe content, no video) */
};

/* The unit a provider reports what a job cost it in (the unit names of
 * remote_cost_unit_name): Eden AI's `cost` is in its credits, 1 credit = 1 US dollar;
 * Runway's `cost`/`estimatedCost` in Runway credits; Kling's `final_unit_deduction` in the
 * units of its resource packs. REMOTE_COST_NONE (0, what a zeroed reply holds): no cost
 * reported. */
enum remote_cost_unit {
    REMOTE_COST_NONE,
    REMOTE_COST_USD,
    REMOTE_COST_CREDITS,
    REMOTE_COST_UNITS,
    REMOTE_COST_UNIT_COUNT
};

/* "usd", "credits", "units"; NULL for REMOTE_COST_NONE or a value out of range. Static. */
const char *remote_cost_unit_name(enum remote_cost_unit unit);

struct remote_reply {
    enum remote_state state;
    char job_id[128];       /* the provider's id of the job ("" when the reply had none) */
    char video_url[2048];   /* REMOTE_SUCCEEDED: where to download the result */
    int64_t eta_ms;         /* when the provider says to look again; -1 unknown */
    int64_t retry_after_ms; /* REMOTE_RETRY: how long the provider asks to wait; -1 unknown */
    int progress;           /* 0..100, -1 unknown */
    bool queued;            /* REMOTE_RUNNING: waiting in the provider's own queue, not yet started */
    bool resubmit;          /* REMOTE_FAILED: the provider's job ended on a fault of its own that a new
                               submit (a new job, charged again by the provider) may not meet */
    bool content_refused;   /* REMOTE_FAILED: the provider's moderation refused the prompt, an image or the
                               result: no other provider is asked (a model's fallback routes never are) */
    char message[512];      /* REMOTE_RETRY / REMOTE_FAILED: what went wrong, readable */
    /* What the provider says the job cost (or, Runway's estimatedCost, will cost), in millionths
     * of cost_unit, whatever the state; cost_unit REMOTE_COST_NONE when the reply says nothing */
    enum remote_cost_unit cost_unit;
    int64_t cost_micros;
};

/* An HTTP reply as the worker received it. `body` need not be NUL-terminated. */
struct remote_http {
    long status; /* HTTP status; 0 when no reply came (timeout, reset) */
    const char *body;
    size_t body_len;
    const char *retry_after; /* the Retry-After header's value, or NULL */
    int64_t now_unix_ms;     /* when it arrived, for a Retry-After date; 0: the parse reads the clock */
};

/* The reply "no answer" (status 0) and any status the provider's parse does not know map
 * here: 0, 408, 429 and 5xx are REMOTE_RETRY, other 4xx REMOTE_FAILED. Fills `out` with a
 * message naming the status. Providers call it for replies their contract does not cover. */
void remote_reply_from_status(const struct remote_http *http, struct remote_reply *out);

/* Retry-After as seconds or an HTTP date, in milliseconds from `now_unix_ms`; -1 when
 * absent or unreadable. */
int64_t remote_retry_after_ms(const char *value, int64_t now_unix_ms);

#endif
