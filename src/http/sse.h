/* One Server-Sent Events response on h2o: the headers, the `retry:` preamble, events as
 * they come, a heartbeat comment, and h2o's flow control.
 *
 * Threads: everything here runs on the loop thread that owns the request.
 *
 * Flow control: h2o allows one h2o_send in flight per request; its buffers must stay valid
 * until h2o calls the generator's `proceed`. A stream therefore has two buffers: the one
 * being written and the one that collects what comes meanwhile. The second is bounded
 * (`max_pending`): a client so slow that it would pass the bound loses its stream (it is
 * closed, the queued events dropped) instead of growing the server's memory. The client
 * reconnects and reads the current state again.
 *
 * Lifetime: the stream lives in the request's memory pool and dies with the request, when
 * the client has gone (h2o's `stop`, or a write error) or after the last chunk of a closed
 * stream has been written. `on_gone` is called exactly once, then; the stream pointer is
 * invalid when it returns. Until then the owner may call sse_write and sse_close at any
 * time: on a stream that is closing or whose client has gone they do nothing.
 *
 * h2o 2.2 stops reading an HTTP/1 connection while it sends a response, so a client that
 * disconnects is noticed at the next write: the heartbeat bounds that to two periods. */
#ifndef VIDGEN_HTTP_SSE_H
#define VIDGEN_HTTP_SSE_H

#include <h2o.h>
#include <stddef.h>

#define SSE_HEARTBEAT_MS 15000 /* a comment this often keeps proxies from closing an idle stream */
#define SSE_RETRY_MS 3000      /* what clients are told to wait before reconnecting */

struct sse_stream;

/* Called once when the stream is gone (see above), with the `arg` given to sse_start. */
typedef void (*sse_gone_cb)(struct sse_stream *s, void *arg);

/* Starts the 200 response (text/event-stream, no-store, X-Accel-Buffering: no) and writes
 * the preamble. `heartbeat` is a timeout the caller initialised on the request's loop with
 * SSE_HEARTBEAT_MS and disposes only once every stream using it is gone or closed.
 * The HTTP/1 connection is not kept alive after the stream, so a graceful stop is not held
 * up by idle connections. Returns NULL when out of memory (nothing sent; the caller answers). */
struct sse_stream *sse_start(h2o_req_t *req, h2o_timeout_t *heartbeat, size_t max_pending, sse_gone_cb on_gone,
                             void *arg);

/* Queues `len` bytes already in SSE form (see sse_format). Returns 0, or -1 when the stream
 * is closing or gone, or when this would pass max_pending: the stream is then closed. */
int sse_write(struct sse_stream *s, const char *text, size_t len);

/* Ends the stream: what is queued is written, then the final chunk. Idempotent. After it
 * the stream no longer uses `heartbeat`. */
void sse_close(struct sse_stream *s);

/* Formats one event: "event: NAME\ndata: LINE\n" for each line of `data`, then "\n".
 * Lines may end in \n, \r\n or \r (SSE's own rule); `event` may be NULL for an unnamed
 * event. Returns a malloc'd, NUL-terminated string (the caller frees) with its length in
 * *len, or NULL when out of memory or when `event` contains CR or LF. */
char *sse_format(const char *event, const char *data, size_t *len);

#endif
