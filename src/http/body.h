/* Reading a request body the handler asked for (http/head.h: the route defers its body),
 * piece by piece as it arrives, with bounds of its own: the handler has already looked at
 * the head and accepted it, so only then is anything past the head read.
 *
 * The connection is not reused after such a request unless its whole body was read. */
#ifndef VIDGEN_HTTP_BODY_H
#define VIDGEN_HTTP_BODY_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

/* A body left unread until the handler reads it. */
struct http_body {
    size_t length;   /* announced by Content-Length, > 0 */
    size_t head_len; /* where the body starts in the connection's input */
    bool keep_alive; /* what the request asked for, given back once the body is read */
};

/* Whether `req` (HTTP/1) came with its body unread: fills *body and makes the connection
 * close after the response until http_body_read has read the whole body. */
bool http_body_deferred(h2o_req_t *req, struct http_body *body);

/* How a read ended. */
enum http_body_end {
    HTTP_BODY_COMPLETE,  /* every announced byte was passed to on_data */
    HTTP_BODY_STOPPED,   /* on_data asked to stop */
    HTTP_BODY_CLOSED,    /* the client closed the connection or it failed */
    HTTP_BODY_TIMED_OUT, /* nothing arrived for HTTP_BODY_IDLE_MS */
};

#define HTTP_BODY_IDLE_MS 30000

struct http_body_reader {
    /* Each piece in order; the bytes are valid during the call only. 0 to go on, -1 to stop. */
    int (*on_data)(void *arg, const char *bytes, size_t len);
    /* Once, when the read ends (possibly before http_body_read returns); the handler
     * answers the request from here or later. After HTTP_BODY_CLOSED the answer goes nowhere
     * but must still be given, so that h2o ends the request. */
    void (*on_end)(void *arg, enum http_body_end end);
};

/* Starts reading `body` of `req` on the loop's thread. `reader` and `arg` must stay valid
 * until on_end. */
void http_body_read(h2o_req_t *req, const struct http_body *body, const struct http_body_reader *reader, void *arg);

#endif
