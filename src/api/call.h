/* One API request being handled: the h2o request, its thread, route parameters and the
 * authenticated user, with the helpers every handler uses to read and answer. */
#ifndef VIDGEN_API_CALL_H
#define VIDGEN_API_CALL_H

#include <h2o.h>
#include <jansson.h>

#include "api/api.h"
#include "core/err.h"
#include "core/token.h"
#include "http/body.h"
#include "http/router.h"
#include "store/store.h"

struct api_call {
    h2o_req_t *req;
    struct api_thread *t;
    struct route_match match;
    struct user user;                    /* filled when the route needs auth */
    char token_hash[TOKEN_HASH_LEN + 1]; /* the hash of its API token (core/token.h), likewise */
    h2o_iovec_t session;                 /* authenticated by the session cookie: its value (in the
                                          * request's headers); {NULL, 0} with a Bearer token */
    bool body_deferred;                  /* the body is unread (API_DEFER_BODY): read it with body */
    struct http_body body;
    void *carry; /* what a handler hands to its part on the loop (api_then_on_loop); request's pool */
};

typedef int (*api_handler)(struct api_call *c);

/* Route flags. */
#define API_AUTH 1u /* Authorization: Bearer, or the session cookie (api/auth.h), required */
#define API_BODY 2u /* a JSON object body expected */
/* The handler runs on the head alone and reads a body larger than API_MAX_BODY itself
 * (http/body.h); h2o's limit still applies when the body comes chunked or over HTTP/2. */
#define API_DEFER_BODY 4u
/* An admin's token only: anyone else, with no token or a bad one too, gets 404. */
#define API_ADMIN 8u
/* Runs on the loop thread even when handlers run off the loops (api/store_pool.h): it
 * streams or sends a file (h2o calls that belong to the loop), reads its own body, or never
 * calls the store. */
#define API_ON_LOOP 16u

/* Sends `len` bytes that live at least as long as the request (pool or static memory)
 * with a Content-Length. Returns 0. */
int api_send_bytes(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
/* Sends `body` (a reference is stolen) as JSON with `status`. Returns 0 (h2o's "handled"). */
int api_reply(struct api_call *c, int status, json_t *body);
/* Sends {"success": true} merged with `fields` (stolen; may be NULL) with 200. */
int api_ok(struct api_call *c, json_t *fields);
/* Sends the error shape of DESIGN §7 with the status of e->code. */
int api_fail(struct api_call *c, const struct vg_error *e);
/* Builds the error in place and sends it. */
int api_fail_with(struct api_call *c, enum vg_err code, const char *field, const char *message);

/* Runs then(c) on the loop thread — at once when the handler runs there, else once the
 * handler has returned on its store thread (api/store_pool.h) — for what only the loop may
 * do: send a file, open a stream. What then needs goes in c->carry. Instead of a reply:
 * returns 0. */
int api_then_on_loop(struct api_call *c, int (*then)(struct api_call *c));

/* Parses the request body as a JSON object. 415 without a JSON content type, 400 for
 * malformed JSON or a non-object; the caller owns *out (json_decref). */
enum vg_err api_read_json(struct api_call *c, json_t **out, struct vg_error *err);

/* The captured path parameter `name` (route patterns guarantee it exists). */
const char *api_param(const struct api_call *c, const char *name);

/* Copies the URL-decoded query parameter `name` into buf (NUL-terminated). Returns its
 * length, 0 when absent or empty, -1 when too long or badly encoded. */
int api_query(const struct api_call *c, const char *name, char *buf, size_t cap);

/* ISO 8601 time as a JSON string, or JSON null for 0. */
json_t *api_time(int64_t ms);
/* A JSON string, or JSON null for NULL. */
json_t *api_string_or_null(const char *s);

#endif
