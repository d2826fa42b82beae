/* http_client: the CLI's blocking JSON client of a running vidgen server (libcurl easy
 * interface). One request in, one reply out: the HTTP status and the body parsed as JSON.
 *
 * A client keeps one curl handle, so the connection is reused from request to request
 * (a --wait loop polls over one keep-alive connection). Not thread-safe: one client per
 * thread. libcurl wants its global state set up once per process, before any handle:
 * http_client_global_init() first, http_client_global_cleanup() after the last client. */
#ifndef VIDGEN_CLI_HTTP_CLIENT_H
#define VIDGEN_CLI_HTTP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct http_client;

struct http_reply {
    long status;     /* the HTTP status; 0 when no reply arrived */
    json_t *json;    /* the body parsed as JSON; NULL when empty or not JSON. Owned: http_reply_clear() */
    char error[512]; /* when no reply arrived: why, in words a user can act on */
};

/* Once per process, before the first client; 0, or -1 after printing why. */
int http_client_global_init(void);
/* After the last client is freed. */
void http_client_global_cleanup(void);

/* A client of the server at `base_url` ("http://host:port", optionally with a path prefix;
 * a trailing '/' is dropped) that sends "Authorization: Bearer TOKEN" when `token` is not
 * NULL. Both strings are copied. NULL when out of memory. Freed with http_client_free(). */
struct http_client *http_client_new(const char *base_url, const char *token);

/* The client of the server the configuration names: VIDGEN_URL, else http://VIDGEN_ADDR
 * (a wildcard listen address is reached on loopback), with the token VIDGEN_TOKEN, else
 * the first line of DATA_DIR/admin-token (present on the server's own host). NULL after
 * printing why on stderr: no token means telling the user to set VIDGEN_TOKEN. */
struct http_client *http_client_for_config(const struct config *cfg);

void http_client_free(struct http_client *c);

/* The server's URL without a trailing '/'. Borrowed: lives as long as the client. */
const char *http_client_base_url(const struct http_client *c);

/* Sends METHOD base_url+path with `body` serialised as JSON (NULL: no body) and the extra
 * header lines in `headers` ("Name: value", NULL-terminated; the array may be NULL). Returns
 * 0 when a reply arrived, whatever its status (see http_reply_ok), or -1 when none did, with
 * the reason in reply->error. Either way the caller calls http_reply_clear(reply). `body`
 * and `headers` are borrowed for the call. */
int http_client_request(struct http_client *c, const char *method, const char *path, json_t *body,
                        const char *const *headers, struct http_reply *reply);

/* Percent-encodes `s` for use as one path segment into out[len]; 0, or -1 when it does not fit. */
int http_client_escape(const char *s, char *out, size_t len);

/* True for a 2xx reply whose body is a JSON object with "success": true. */
bool http_reply_ok(const struct http_reply *r);

/* True when trying again later may help: no reply, 429, or a 5xx. */
bool http_reply_transient(const struct http_reply *r);

/* Describes a failed exchange in one line, into buf[len] (returned): the server's error
 * message with " (field F)" when it names one, else the transport error, else the status. */
const char *http_reply_describe(const struct http_reply *r, char *buf, size_t len);

/* Frees the parsed body; the reply may be reused. */
void http_reply_clear(struct http_reply *r);

#endif
