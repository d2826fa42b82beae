#include "http/accept.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "util/log.h"

/* Descriptors kept for what is not a client connection: the database, the worker, logs. */
#define FD_RESERVE 64
/* How long a paused listener waits before it looks again. */
#define RETRY_MS 100
/* While clients wait, connections idle for longer than this are closed. h2o keeps its
 * idle connections in registration order, so shortening its timeout closes the oldest. */
#define SHED_IDLE_MS 1000
/* At most one warning about running out of descriptors per this long. */
#define WARN_EVERY_MS 10000

static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1u << 20 : rl.rlim_max;
        struct rlimit raised = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur;
}

void accept_limit_init(struct accept_limit *limit, int configured)
{
    rlim_t nofile = raise_nofile();
    /* A download holds a file open beside its connection: two descriptors each. */
    long fit = nofile > 2 * FD_RESERVE ? (long)(nofile - FD_RESERVE) / 2 : FD_RESERVE / 2;
    long max = configured > 0 ? configured : fit < ACCEPT_DEFAULT_MAX ? fit : ACCEPT_DEFAULT_MAX;
    if (max > fit) {
        log_warn("http: VIDGEN_MAX_CONNECTIONS=%d needs more open files than the limit of %lu allows; "
                 "using %ld (raise the hard limit: ulimit -Hn)",
                 configured, (unsigned long)nofile, fit);
        max = fit;
    }
    atomic_init(&limit->open, 0);
    limit->max = (int)max;
    log_info("http: at most %d open connections (open-file limit %lu)", limit->max, (unsigned long)nofile);
}

/* Shortens (or restores) h2o's idle timeouts on this loop; see SHED_IDLE_MS. */
static void shed_idle(struct accept_gate *g, bool on)
{
    h2o_context_t *ctx = g->accept_ctx->ctx;
    ctx->http1.req_timeout.timeout = on ? SHED_IDLE_MS : g->http1_idle_ms;
    ctx->http2.idle_timeout.timeout = on ? SHED_IDLE_MS : g->http2_idle_ms;
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void pause_listener(struct accept_gate *g, bool out_of_fds)
{
    g->out_of_fds = g->out_of_fds || out_of_fds;
    if (!g->paused) {
        g->paused = true;
        h2o_socket_read_stop(g->listener);
        shed_idle(g, true);
    }
    if (!h2o_timeout_is_linked(&g->retry_entry))
        h2o_timeout_link(g->accept_ctx->ctx->loop, &g->retry, &g->retry_entry);
}

static void resume_listener(struct accept_gate *g)
{
    if (!g->paused || g->listener == NULL)
        return;
    g->paused = g->out_of_fds = false;
    shed_idle(g, false);
    if (h2o_timeout_is_linked(&g->retry_entry))
        h2o_timeout_unlink(&g->retry_entry);
    h2o_socket_read_start(g->listener, on_accept);
}

static bool at_cap(const struct accept_gate *g)
{
    return atomic_load(&g->limit->open) >= g->limit->max;
}

static void on_retry(h2o_timeout_entry_t *entry)
{
    struct accept_gate *g = H2O_STRUCT_FROM_MEMBER(struct accept_gate, retry_entry, entry);
    if (g->listener == NULL)
        return;
    if (at_cap(g))
        pause_listener(g, false); /* looks again later */
    else
        resume_listener(g);
}

static void on_connection_closed(void *data)
{
    struct accept_gate *g = data;
    atomic_fetch_sub(&g->limit->open, 1);
    if (g->paused && !g->out_of_fds && !at_cap(g))
        resume_listener(g);
}

static bool out_of_descriptors(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

static void warn_out_of_fds(struct accept_gate *g)
{
    uint64_t now = h2o_now(g->accept_ctx->ctx->loop);
    if (g->warned_at == 0 || now - g->warned_at >= WARN_EVERY_MS) {
        g->warned_at = now;
        log_warn("http: cannot accept a connection: %s; pausing, closing idle connections", strerror(EMFILE));
    }
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct accept_gate *g = listener->data;
    if (err != NULL)
        return;
    if (at_cap(g)) {
        pause_listener(g, false);
        return;
    }
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) {
        if (out_of_descriptors(errno)) {
            warn_out_of_fds(g);
            pause_listener(g, true);
        }
        return;
    }
    atomic_fetch_add(&g->limit->open, 1);
    sock->on_close.cb = on_connection_closed; /* unused by h2o for accepted sockets */
    sock->on_close.data = g;
    h2o_accept(g->accept_ctx, sock);
}

void accept_gate_start(struct accept_gate *g, h2o_accept_ctx_t *accept_ctx, h2o_socket_t *listener,
                       struct accept_limit *limit)
{
    *g = (struct accept_gate){.accept_ctx = accept_ctx, .listener = listener, .limit = limit};
    g->http1_idle_ms = accept_ctx->ctx->http1.req_timeout.timeout;
    g->http2_idle_ms = accept_ctx->ctx->http2.idle_timeout.timeout;
    h2o_timeout_init(accept_ctx->ctx->loop, &g->retry, RETRY_MS);
    g->retry_entry.cb = on_retry;
    listener->data = g;
    h2o_socket_read_start(listener, on_accept);
}

void accept_gate_stop(struct accept_gate *g)
{
    if (h2o_timeout_is_linked(&g->retry_entry))
        h2o_timeout_unlink(&g->retry_entry);
    if (g->listener != NULL) {
        h2o_socket_read_stop(g->listener);
        h2o_socket_close(g->listener);
        g->listener = NULL;
    }
}

void accept_gate_close_idle(struct accept_gate *g)
{
    h2o_context_t *ctx = g->accept_ctx->ctx;
    ctx->http1.req_timeout.timeout = 0;
    ctx->http2.idle_timeout.timeout = 0;
}

void accept_gate_dispose(struct accept_gate *g)
{
    accept_gate_stop(g);
    h2o_timeout_dispose(g->accept_ctx->ctx->loop, &g->retry);
}
