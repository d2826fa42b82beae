#include "http/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define SSE_HEARTBEAT ": heartbeat\n\n"
#define SSE_BUF_MIN 512

struct sse_buf {
    char *p; /* owned */
    size_t len, cap;
};

struct sse_stream {
    h2o_generator_t super; /* first: h2o hands it back to proceed and stop */
    h2o_req_t *req;
    h2o_timeout_t *heartbeat; /* borrowed from the caller */
    h2o_timeout_entry_t beat;
    struct sse_buf out;   /* handed to h2o: untouched until proceed */
    struct sse_buf queue; /* what came while `out` was in flight */
    size_t max_pending;
    sse_gone_cb on_gone;
    void *arg;
    unsigned in_flight : 1; /* an h2o_send awaits proceed */
    unsigned closing : 1;   /* sse_close called: nothing more is queued; the final chunk follows */
    unsigned done : 1;      /* final chunk sent or client gone: h2o_send is no longer allowed */
};

static int buf_append(struct sse_buf *b, const char *text, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : SSE_BUF_MIN;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, text, len);
    b->len += len;
    return 0;
}

/* Hands what is queued to h2o: the final chunk once closing, else the queued bytes if
 * nothing is in flight. `s` stays valid after it: h2o 2.2 never completes a write or
 * disposes a request inside h2o_send (results come back through the loop). */
static void flush(struct sse_stream *s)
{
    if (s->done || s->in_flight || (!s->closing && s->queue.len == 0))
        return;
    struct sse_buf t = s->out;
    s->out = s->queue, s->queue = t;
    s->queue.len = 0;
    h2o_iovec_t iov = h2o_iovec_init(s->out.p, s->out.len);
    if (s->closing) {
        s->done = 1;
        h2o_timeout_unlink(&s->beat);
        h2o_send(s->req, &iov, iov.len ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    s->in_flight = 1;
    h2o_send(s->req, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* h2o: the previous h2o_send is written; `out` may be reused. */
static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    struct sse_stream *s = (struct sse_stream *)g;
    (void)req;
    s->in_flight = 0;
    s->out.len = 0;
    flush(s);
}

/* h2o: the client has gone; the request is disposed right after (on_dispose). */
static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    struct sse_stream *s = (struct sse_stream *)g;
    (void)req;
    s->done = 1;
    h2o_timeout_unlink(&s->beat);
}

/* The request's pool is being cleared: the one place a stream ends, whichever way. */
static void on_dispose(void *p)
{
    struct sse_stream *s = p;
    h2o_timeout_unlink(&s->beat);
    free(s->out.p);
    free(s->queue.p);
    if (s->on_gone != NULL)
        s->on_gone(s, s->arg);
}

/* A comment now and then, so that proxies see traffic; skipped while data is moving. */
static void on_beat(h2o_timeout_entry_t *entry)
{
    struct sse_stream *s = H2O_STRUCT_FROM_MEMBER(struct sse_stream, beat, entry);
    if (s->done || s->closing)
        return;
    h2o_timeout_link(s->req->conn->ctx->loop, s->heartbeat, &s->beat);
    if (s->in_flight || s->queue.len != 0)
        return;
    if (buf_append(&s->queue, SSE_HEARTBEAT, sizeof SSE_HEARTBEAT - 1) == 0)
        flush(s);
}

static void set_headers(h2o_req_t *req)
{
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    /* nginx would otherwise hold events back in its buffers */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL, H2O_STRLIT("no"));
    /* A stream ends when the server ends it (stop, slow client) or the client leaves:
     * keeping that connection alive afterwards would only hold a graceful stop up. */
    req->http1_is_persistent = 0;
}

struct sse_stream *sse_start(h2o_req_t *req, h2o_timeout_t *heartbeat, size_t max_pending, sse_gone_cb on_gone,
                             void *arg)
{
    char preamble[64];
    int n = snprintf(preamble, sizeof preamble, "retry: %d\n: vidgen events\n\n", SSE_RETRY_MS);
    struct sse_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, on_dispose);
    memset(s, 0, sizeof *s); /* on_gone stays NULL until the stream has started */
    s->super.proceed = on_proceed;
    s->super.stop = on_stop;
    s->req = req;
    s->heartbeat = heartbeat;
    s->beat.cb = on_beat;
    s->max_pending = max_pending;
    if (buf_append(&s->queue, preamble, (size_t)n) != 0)
        return NULL;
    s->on_gone = on_gone;
    s->arg = arg;
    set_headers(req);
    h2o_start_response(req, &s->super);
    h2o_timeout_link(req->conn->ctx->loop, heartbeat, &s->beat);
    flush(s);
    return s;
}

int sse_write(struct sse_stream *s, const char *text, size_t len)
{
    if (s->done || s->closing)
        return -1;
    if (s->queue.len + len > s->max_pending || buf_append(&s->queue, text, len) != 0) {
        log_warn("sse: a client fell %zu bytes behind; closing its stream", s->queue.len + len);
        s->queue.len = 0; /* dropped: the client reads the current state when it reconnects */
        sse_close(s);
        return -1;
    }
    flush(s);
    return 0;
}

void sse_close(struct sse_stream *s)
{
    if (s->done || s->closing)
        return;
    s->closing = 1;
    h2o_timeout_unlink(&s->beat);
    flush(s);
}

/* Bytes sse_format writes for `data`: "data: " and "\n" around every line. */
static size_t data_size(const char *data)
{
    size_t n = 7;
    for (const char *p = data; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            p++;
        n += (*p == '\r' || *p == '\n') ? 7 : 1;
    }
    return n;
}

char *sse_format(const char *event, const char *data, size_t *len)
{
    if (data == NULL)
        data = "";
    if (event != NULL && strpbrk(event, "\r\n") != NULL)
        return NULL;
    size_t cap = (event ? strlen(event) + 8 : 0) + data_size(data) + 2;
    char *out = malloc(cap), *w = out;
    if (out == NULL)
        return NULL;
    if (event != NULL)
        w += sprintf(w, "event: %s\n", event);
    w = stpcpy(w, "data: ");
    for (const char *p = data; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p[1] == '\n')
                p++;
            w = stpcpy(w, "\ndata: ");
        } else {
            *w++ = *p;
        }
    }
    w = stpcpy(w, "\n\n");
    *len = (size_t)(w - out);
    return out;
}
