/* The HTTP server: libh2o, one event loop per thread, each with its own listening socket
 * bound with SO_REUSEPORT so the kernel spreads connections without a shared accept.
 *
 * The server knows nothing of the API: every request goes to `on_request` together with the
 * per-thread data that `thread_init` made for its loop. */
#ifndef VIDGEN_HTTP_SERVER_H
#define VIDGEN_HTTP_SERVER_H

#include <h2o.h>
#include <stddef.h>

struct http_server_config {
    const char *host;
    unsigned short port;       /* 0 = any free port (logged) */
    int threads;               /* >= 1 */
    const char *access_log;    /* path, "-" for stderr, "off" or NULL for none */
    size_t max_body;           /* h2o refuses larger bodies with 413 before any handler runs */
    int shutdown_timeout_ms;   /* how long a graceful stop waits for open connections */

    /* Called once on each loop thread before it serves, with the loop's h2o context;
     * returns that thread's data, or NULL to abort the start. thread_stopping (may be NULL)
     * runs on the loop thread when a stop begins, to end long-lived responses (SSE);
     * thread_done releases the data when the loop has stopped. */
    void *(*thread_init)(int index, h2o_context_t *ctx, void *arg);
    void (*thread_stopping)(void *data, void *arg);
    void (*thread_done)(void *data, void *arg);
    /* h2o handler contract: return 0 once a response is started, -1 to decline. */
    int (*on_request)(h2o_req_t *req, void *thread_data);
    void *arg;
};

/* A long-lived response (a file stream, an SSE stream) holds its loop open while it runs:
 * a graceful stop waits for every hold to be released (up to shutdown_timeout_ms), while
 * idle keep-alive connections are closed after a short grace. Loop thread only. */
void http_server_hold(h2o_context_t *ctx);
void http_server_release(h2o_context_t *ctx);

/* Serves until SIGINT or SIGTERM, then stops gracefully: the listening sockets close,
 * responses under way finish (up to shutdown_timeout_ms), and every thread_done runs.
 * Returns 0 after a clean stop, -1 if it could not start (message logged). */
int http_server_run(const struct http_server_config *cfg);

#endif
