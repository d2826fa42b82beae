#include "http/accept.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/log.h"

/* Descriptors kept for what is not a client connection: the database, the worker, logs. */
#define FD_RESERVE 64
/* How often a loop adds up its buffers and looks again at a paused listener. */
#define TICK_MS 100
/* While shedding, connections idle (or reading a request) for longer than this close. h2o
 * keeps them in registration order, so shortening its timeout closes the oldest first. */
#define SHED_IDLE_MS 1000
/* At most one warning about running out of descriptors per this long. */
#define WARN_EVERY_MS 10000

/* One open connection of the loop; freed when its socket closes. */
struct accept_conn {
    h2o_linklist_t link;
    h2o_socket_t *sock;
    struct accept_gate *gate;
};

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

void accept_limit_init(struct accept_limit *limit, int configured, int loops)
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
    limit->loop_budget = ACCEPT_BUFFER_BUDGET / (size_t)(loops > 0 ? loops : 1);
    log_info("http: at most %d open connections (open-file limit %lu)", limit->max, (unsigned long)nofile);
}

static bool at_cap(const struct accept_gate *g)
{
    return atomic_load(&g->limit->open) >= g->limit->max;
}

/* Shortens (or restores) h2o's idle timeouts on this loop; see SHED_IDLE_MS. */
static void shed(struct accept_gate *g, bool on)
{
    h2o_context_t *ctx = g->accept_ctx->ctx;
    if (g->shedding == on)
        return;
    g->shedding = on;
    ctx->http1.req_timeout.timeout = on ? SHED_IDLE_MS : g->http1_idle_ms;
    ctx->http2.idle_timeout.timeout = on ? SHED_IDLE_MS : g->http2_idle_ms;
}

static void on_accept(h2o_socket_t *listener, const char *err);

/* Pauses or resumes the listener, and sheds, as the three limits say. */
static void update(struct accept_gate *g)
{
    bool hold = at_cap(g) || g->out_of_fds || g->over_budget;
    shed(g, hold);
    if (g->listener == NULL || hold == g->paused)
        return;
    g->paused = hold;
    if (hold)
        h2o_socket_read_stop(g->listener);
    else
        h2o_socket_read_start(g->listener, on_accept);
}

/* Bytes held by the input buffers of this loop's connections. */
static size_t buffered(struct accept_gate *g)
{
    size_t sum = 0;
    for (h2o_linklist_t *l = g->conns.next; l != &g->conns; l = l->next) {
        h2o_buffer_t *in = H2O_STRUCT_FROM_MEMBER(struct accept_conn, link, l)->sock->input;
        sum += in->bytes != NULL ? in->capacity : 0;
    }
    return sum;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct accept_gate *g = H2O_STRUCT_FROM_MEMBER(struct accept_gate, tick_entry, entry);
    g->buffered = buffered(g);
    /* Over the budget until back under half of it, so it does not flap. */
    g->over_budget = g->buffered > (g->over_budget ? g->limit->loop_budget / 2 : g->limit->loop_budget);
    g->out_of_fds = false; /* try again; accept() says so if it still fails */
    update(g);
    h2o_timeout_link(g->accept_ctx->ctx->loop, &g->tick, &g->tick_entry);
}

static void on_connection_closed(void *data)
{
    struct accept_conn *c = data;
    struct accept_gate *g = c->gate;
    h2o_linklist_unlink(&c->link);
    free(c);
    atomic_fetch_sub(&g->limit->open, 1);
    if (g->paused)
        update(g);
}

static void warn_out_of_fds(struct accept_gate *g, int e)
{
    uint64_t now = h2o_now(g->accept_ctx->ctx->loop);
    if (g->warned_at == 0 || now - g->warned_at >= WARN_EVERY_MS) {
        g->warned_at = now;
        log_warn("http: cannot accept a connection: %s; pausing, closing idle connections", strerror(e));
    }
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct accept_gate *g = listener->data;
    struct accept_conn *c;
    if (err != NULL)
        return;
    if (at_cap(g) || (c = malloc(sizeof *c)) == NULL) {
        update(g);
        return;
    }
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) {
        int e = errno;
        free(c);
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            warn_out_of_fds(g, e);
            g->out_of_fds = true;
            update(g);
        }
        return;
    }
    *c = (struct accept_conn){.sock = sock, .gate = g};
    h2o_linklist_insert(&g->conns, &c->link);
    atomic_fetch_add(&g->limit->open, 1);
    sock->on_close.cb = on_connection_closed; /* unused by h2o for accepted sockets */
    sock->on_close.data = c;
    h2o_accept(g->accept_ctx, sock);
}

void accept_gate_start(struct accept_gate *g, h2o_accept_ctx_t *accept_ctx, h2o_socket_t *listener,
                       struct accept_limit *limit)
{
    *g = (struct accept_gate){.accept_ctx = accept_ctx, .listener = listener, .limit = limit};
    h2o_linklist_init_anchor(&g->conns);
    g->http1_idle_ms = accept_ctx->ctx->http1.req_timeout.timeout;
    g->http2_idle_ms = accept_ctx->ctx->http2.idle_timeout.timeout;
    h2o_timeout_init(accept_ctx->ctx->loop, &g->tick, TICK_MS);
    g->tick_entry.cb = on_tick;
    h2o_timeout_link(accept_ctx->ctx->loop, &g->tick, &g->tick_entry);
    listener->data = g;
    h2o_socket_read_start(listener, on_accept);
}

void accept_gate_stop(struct accept_gate *g)
{
    if (h2o_timeout_is_linked(&g->tick_entry))
        h2o_timeout_unlink(&g->tick_entry);
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
    h2o_timeout_dispose(g->accept_ctx->ctx->loop, &g->tick);
}
