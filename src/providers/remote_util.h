/* What the provider files (providers/modelslab.c, providers/edenai.c) share to build requests
 * and to read replies without trusting them: every JSON value is type-checked, every string
 * copied into the fixed buffers of `struct remote_reply` is cut at a UTF-8 boundary with
 * control bytes replaced, and ids and URLs are checked before use. Only the provider files
 * include this header; everyone else uses providers/remote.h. */
#ifndef VIDGEN_PROVIDERS_REMOTE_UTIL_H
#define VIDGEN_PROVIDERS_REMOTE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/remote.h"

/* The longest wait read from a reply (eta, Retry-After, retry_after): a day. */
#define REMOTE_MAX_WAIT_MS (24LL * 3600 * 1000)

/* --- building requests: each returns 0, or -1 with a message in `err`; on -1 the request
 * may be half-built and the caller frees it (remote_request_free) --- */

/* Zeroes `out` and sets its method and URL: base_url (a trailing '/' dropped) + path, then
 * "/" + id when id is not NULL. path starts with '/'; id must pass remote_id_is_safe. */
int remote_request_init(struct remote_request *out, const char *method, const char *base_url, const char *path,
                        const char *id, char *err, size_t errlen);

/* Appends "name: value"; refuses a value with a CR, LF or other control byte. */
int remote_request_header(struct remote_request *out, const char *name, const char *value, char *err, size_t errlen);

/* Sets the body to `body` encoded as compact JSON (body is borrowed, not consumed). */
int remote_request_json(struct remote_request *out, const json_t *body, char *err, size_t errlen);

/* Sets the body to the JSON object {name: value} with a single string member, the bytes
 * remote_request_json would encode (json_dumps, JSON_COMPACT), written without building a
 * tree: for a constant body such as a poll's. -1 when value is NULL or not valid UTF-8
 * (message names `what`). */
int remote_request_json_pair(struct remote_request *out, const char *name, const char *value, const char *what,
                             char *err, size_t errlen);

/* remote_request_init as a POST of `body` as JSON (Content-Type set); the provider adds its
 * own headers after. */
int remote_request_post_json(struct remote_request *out, const char *base_url, const char *path, const char *id,
                             const json_t *body, char *err, size_t errlen);

/* obj[key] = the string `value`; -1 when value is not valid UTF-8 (message names `what`). */
int remote_json_put_str(json_t *obj, const char *key, const char *value, const char *what, char *err, size_t errlen);

/* Whether `id` can go into a URL path as it is: 1 to 127 bytes of [A-Za-z0-9._-], not "." or "..". */
bool remote_id_is_safe(const char *id);

/* Whether a header value is free of control bytes (no CR/LF injection). */
bool remote_header_value_is_safe(const char *value);

/* True when `key` is set; else false with "<var> is not set" in `reason`. */
bool remote_key_available(const char *key, const char *var, char *reason, size_t reason_len);

/* --- reading replies --- */

/* An empty reply in the RETRY state: eta, retry_after and progress unknown (-1). */
void remote_reply_init(struct remote_reply *out);

/* Sets the state and the message (printf format), truncated safely into out->message. */
void remote_reply_set(struct remote_reply *out, enum remote_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* remote_reply_from_status with `who` ("ModelsLab") naming the provider in the message. */
void remote_reply_status_named(const struct remote_http *http, const char *who, struct remote_reply *out);

/* Parses `len` bytes as a JSON object (jansson `flags`). The caller owns the result
 * (json_decref). NULL when it is not one, with what it is instead in `why` ("an empty
 * reply", "a reply that is not JSON (…)", "malformed or truncated JSON (…)", …). */
json_t *remote_json_load(const char *body, size_t len, size_t flags, char *why, size_t whylen);

/* obj[key] when it is a non-empty string, else NULL. Borrowed from obj. */
const char *remote_json_string(const json_t *obj, const char *key);

/* A job id given as a non-negative integer or a string passing remote_id_is_safe, copied
 * into dst; false (dst untouched) for anything else. */
bool remote_json_copy_id(const json_t *v, char *dst, size_t cap);

/* An http(s) URL with a host and no space or control byte that fits in `cap`, copied into
 * dst; false (dst untouched) for anything else. */
bool remote_json_copy_url(const json_t *v, char *dst, size_t cap);

/* A JSON number of seconds (integer or real, >= 0) in milliseconds, capped at
 * REMOTE_MAX_WAIT_MS; -1 for anything else. */
int64_t remote_json_seconds_ms(const json_t *v);

/* The longer of the Retry-After header and a body field of seconds (`body_value`, may be
 * NULL); -1 when neither is readable. */
int64_t remote_http_retry_after_ms(const struct remote_http *http, const json_t *body_value);

/* The largest cost read from a reply, in whole units: anything larger is not believed. */
#define REMOTE_COST_MAX_UNITS 1000000000LL

/* A cost as providers send it: a decimal string ("0.48", "5", "12.000") or a JSON number,
 * non-negative and below REMOTE_COST_MAX_UNITS, in millionths (digits past the sixth
 * decimal are dropped). False (*micros untouched) for anything else: a negative or signed
 * value, an exponent, spaces, an empty string, a boolean, null. */
bool remote_json_cost(const json_t *v, int64_t *micros);

/* When `v` is a cost (remote_json_cost), sets out->cost_micros and out->cost_unit; else
 * leaves both as they are (a reply without a readable cost reports none). */
void remote_reply_cost(struct remote_reply *out, const json_t *v, enum remote_cost_unit unit);

/* A readable text for `v`: a string as it is, any other JSON value compact; "" for NULL or
 * null. Truncated safely into dst. */
void remote_json_text(const json_t *v, char *dst, size_t cap);

/* Copies `len` bytes of `src` into dst as valid UTF-8: control bytes become spaces, bytes
 * that are not UTF-8 become '?', and it stops before a character that would not fit. */
void remote_text_copy(char *dst, size_t cap, const char *src, size_t len);

/* Whether `needle` (lower case ASCII) occurs in `hay`, ignoring ASCII case. */
bool remote_text_has(const char *hay, const char *needle);

/* Whether a provider's free-text reason reads as a moderation refusal (NSFW, safety, content
 * policy, …), for providers whose replies carry no code for it (ModelsLab, Eden AI). It errs
 * towards yes: such a refusal is never sent on to another provider. */
bool remote_text_is_moderation(const char *text);

#endif
