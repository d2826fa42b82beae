/* The HTTP server: libh2o, one event loop per thread, each with its own listening socket
 * bound with SO_REUSEPORT so the kernel spreads connections without a shared accept
 * (http/accept.h keeps the number of connections within limits).
 *
 * The server knows nothing of the API: every request goes to `on_request` together with the
 * per-thread data that `thread_init` made for its loop. */
#ifndef VIDGEN_HTTP_SERVER_H
#define VIDGEN_HTTP_SERVER_H

#include <h2o.h>
#include <stddef.h>

#include "http/head.h"

/* A request h2o refuses itself before any handler runs (a body over max_body: 413; a
 * malformed request: 400; an unknown Expect: 417) is redirected internally to GET
 * HTTP_SERVER_ERROR_PREFIX "<status>", so that on_request can answer it in its own format;
 * the client gets the original status. */
#define HTTP_SERVER_ERROR_PREFIX "/.well-known/vidgen-error/"

struct http_server_config {
    const char *host;
    unsigned short port;     /* 0 = any free port (logged) */
    int threads;             /* >= 1 */
    const char *access_log;  /* path, "-" for stderr, "off" or NULL for none */
    size_t max_body;         /* h2o refuses larger bodies with 413 before any handler runs */
    int shutdown_timeout_ms; /* how long a graceful stop waits for responses under way */
    int max_connections;     /* open client connections, 0 = from the open-file limit */
    int http2_cleartext;     /* accept HTTP/2 without TLS (prior knowledge, Upgrade: h2c) */

    /* Called once on each loop thread before it serves, with the loop's h2o context;
     * returns that thread's data, or NULL to abort the start. thread_stopping (may be NULL)
     * runs on the loop thread when a stop begins, to end long-lived responses (SSE);
     * thread_done releases the data when the loop has stopped. */
    void *(*thread_init)(int index, h2o_context_t *ctx, void *arg);
    void (*thread_stopping)(void *data, void *arg);
    void (*thread_done)(void *data, void *arg);
    /* h2o handler contract: return 0 once a response is started, -1 to decline. */
    int (*on_request)(h2o_req_t *req, void *thread_data);
    /* Routes whose handler reads its body itself (http/head.h, http/body.h); may be NULL. */
    http_head_defers_body defers_body;
    void *arg;
};

/* 0 when host:port is free to listen on, -1 (message logged) when another process holds
 * it or it cannot be used. http_server_run checks too; this lets a caller check first. */
int http_server_check_address(const char *host, unsigned short port);

/* Serves until SIGINT or SIGTERM, then stops gracefully: the listening sockets close,
 * thread_stopping ends long-lived streams (SSE), responses under way such as downloads
 * finish (up to shutdown_timeout_ms), idle keep-alive connections close after a short
 * grace, and every thread_done runs.
 * Returns 0 after a clean stop, -1 if it could not start (message logged). */
int http_server_run(const struct http_server_config *cfg);

#endif
