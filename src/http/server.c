#include "http/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/accept.h"
#include "http/offload.h"
#include "util/allocator.h"
#include "util/id.h"
#include "util/log.h"

struct loop {
    h2o_context_t ctx; /* first: handlers find their loop from req->conn->ctx */
    h2o_accept_ctx_t accept_ctx;
    struct accept_gate gate; /* owns the listening socket once the loop runs */
    int listen_fd;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t stop_receiver;
    h2o_multithread_receiver_t offload_receiver; /* work done off the loop (http/offload.h) */
    pthread_t thread;
    int index;
    int abandoned;     /* connections were still open when the loop stopped */
    int stop_received; /* the main thread's stop message has been handled */
    void *data;
    const struct http_server_config *cfg;
    struct server *server;
};

struct server {
    h2o_globalconf_t globalconf;
    struct accept_limit limit;
    struct loop *loops;
    atomic_int failed;
    pthread_barrier_t ready;
};

/* A server whose loops had to be abandoned at exit (see loop_main); kept reachable. */
static struct server *volatile left_for_exit;

struct dispatch_handler {
    h2o_handler_t super;
    const struct http_server_config *cfg;
};

h2o_multithread_receiver_t *http_server_offload_receiver(h2o_context_t *ctx)
{
    return &((struct loop *)ctx)->offload_receiver;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct dispatch_handler *h = (struct dispatch_handler *)self;
    struct loop *loop = (struct loop *)req->conn->ctx;
    return h->cfg->on_request(req, loop->data);
}

/* Opens a listening socket on host:port; with SO_REUSEPORT, so that every loop of this
 * process has its own, when `shared`. */
static int open_listener(const char *host, unsigned short port, int shared)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char portstr[8];
    int fd = -1, on = 1;
    snprintf(portstr, sizeof portstr, "%u", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        log_error("http: cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on)) ||
        bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4096)) {
        if (errno == EADDRINUSE)
            log_error("http: %s:%u is already in use by another process (another vidgen serve?); stop it "
                      "or choose another address with VIDGEN_ADDR or --addr",
                      host, port);
        else
            log_error("http: cannot listen on %s:%u: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static unsigned short bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Runs on the loop's own thread when the main thread asks it to stop. */
static void on_stop_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct loop *loop = H2O_STRUCT_FROM_MEMBER(struct loop, stop_receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
    accept_gate_stop(&loop->gate);
    loop->stop_received = 1;
    if (loop->data && loop->cfg->thread_stopping)
        loop->cfg->thread_stopping(loop->data, loop->cfg->arg);
    /* Keep-alive connections close after their current response; HTTP/2 gets GOAWAY. */
    h2o_context_request_shutdown(&loop->ctx);
}

/* Connections still open on this loop. h2o 2.2 keeps them in these lists and has no
 * public count, so a graceful stop reads them to let the last responses flush. */
static int open_connections(h2o_context_t *ctx)
{
    return !h2o_linklist_is_empty(&ctx->http1._conns) || !h2o_linklist_is_empty(&ctx->http2._conns);
}

/* A request that arrived just before the stop gets this long to reach its handler; h2o
 * 2.2 does not close idle HTTP/1 keep-alive connections on request_shutdown, so after it
 * the idle ones are closed. */
#define DRAIN_GRACE_MS 500

/* Serves what is open until it is done, up to the shutdown timeout: responses under way
 * (downloads) finish, idle connections close after the grace period. */
static void drain(struct loop *loop, h2o_evloop_t *evloop)
{
    uint64_t start = h2o_now(evloop);
    uint64_t grace = start + DRAIN_GRACE_MS, deadline = start + (uint64_t)loop->cfg->shutdown_timeout_ms;
    int idle_closed = 0;
    while (open_connections(&loop->ctx) && h2o_now(evloop) < deadline) {
        if (!idle_closed && h2o_now(evloop) >= grace) {
            accept_gate_close_idle(&loop->gate);
            idle_closed = 1;
        }
        h2o_evloop_run(evloop, 50);
    }
}

/* True while any of the context's timers has an entry: h2o_context_dispose() asserts that
 * none has. */
static int timers_pending(h2o_context_t *ctx)
{
    h2o_timeout_t *all[] = {&ctx->zero_timeout,
                            &ctx->one_sec_timeout,
                            &ctx->hundred_ms_timeout,
                            &ctx->handshake_timeout,
                            &ctx->http1.req_timeout,
                            &ctx->http2.idle_timeout,
                            &ctx->http2.graceful_shutdown_timeout,
                            &ctx->proxy.io_timeout};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!h2o_linklist_is_empty(&all[i]->_entries))
            return 1;
    return 0;
}

/* Lets the closing sockets' callbacks and deferred work run, up to a second. */
static void settle(struct loop *loop, h2o_evloop_t *evloop)
{
    uint64_t deadline = h2o_now(evloop) + 1000;
    h2o_evloop_run(evloop, 0);
    while ((open_connections(&loop->ctx) || timers_pending(&loop->ctx)) && h2o_now(evloop) < deadline)
        h2o_evloop_run(evloop, 10);
}

/* How often a loop gives its thread's free memory back (util/allocator.h). */
#define LOOP_GIVE_BACK_EVERY_MS 1000

/* Runs until the stop message itself is handled (not merely until a flag is seen), so no
 * message is left pending on the receiver when it is unregistered. Once a second the loop
 * gives its thread's free memory back: after a flood it falls back within a second
 * (tests/integration/test_hardening.py), busy or idle. */
static void run_until_stopped(struct loop *loop, h2o_evloop_t *evloop)
{
    int64_t given_back = clock_monotonic_ms();
    while (!loop->stop_received) {
        h2o_evloop_run(evloop, LOOP_GIVE_BACK_EVERY_MS);
        if (clock_monotonic_ms() - given_back >= LOOP_GIVE_BACK_EVERY_MS) {
            allocator_give_back();
            given_back = clock_monotonic_ms();
        }
    }
}

static void *loop_main(void *arg)
{
    struct loop *loop = arg;
    struct server *srv = loop->server;
    h2o_evloop_t *evloop = h2o_evloop_create();

    h2o_context_init(&loop->ctx, evloop, &srv->globalconf);
    loop->accept_ctx.ctx = &loop->ctx;
    loop->accept_ctx.hosts = srv->globalconf.hosts;
    loop->queue = h2o_multithread_create_queue(evloop);
    h2o_multithread_register_receiver(loop->queue, &loop->stop_receiver, on_stop_message);
    h2o_multithread_register_receiver(loop->queue, &loop->offload_receiver, http_offload_receive);
    accept_gate_start(&loop->gate, &loop->accept_ctx,
                      h2o_evloop_socket_create(evloop, loop->listen_fd, H2O_SOCKET_FLAG_DONT_READ), &srv->limit);
    loop->data = loop->cfg->thread_init(loop->index, &loop->ctx, loop->cfg->arg);
    if (loop->data == NULL)
        atomic_store(&srv->failed, 1);
    pthread_barrier_wait(&srv->ready);

    run_until_stopped(loop, evloop);
    drain(loop, evloop);

    /* request_shutdown armed HTTP/2's grace timer; with every connection gone it has
     * nothing left to do, and h2o_context_dispose() wants every timer unlinked. */
    if (h2o_timeout_is_linked(&loop->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&loop->ctx.http2._graceful_shutdown_timeout);
    accept_gate_stop(&loop->gate);
    settle(loop, evloop);
    if (loop->data)
        loop->cfg->thread_done(loop->data, loop->cfg->arg);
    h2o_multithread_unregister_receiver(loop->queue, &loop->stop_receiver);
    h2o_multithread_unregister_receiver(loop->queue, &loop->offload_receiver);
    /* Idle keep-alive connections past the grace cannot be closed through h2o 2.2's API,
     * and a context with connections cannot be disposed; the process is exiting, so such a
     * loop is left as it is (as h2o's own server does) and its memory stays reachable. */
    loop->abandoned = open_connections(&loop->ctx) || timers_pending(&loop->ctx);
    if (!loop->abandoned) {
        accept_gate_dispose(&loop->gate);
        h2o_context_dispose(&loop->ctx);
        h2o_multithread_destroy_queue(loop->queue);
    }
    return NULL;
}

/* Errors h2o sends itself, before any handler: see HTTP_SERVER_ERROR_PREFIX. */
static h2o_errordoc_t error_docs[] = {
    {400, {H2O_STRLIT(HTTP_SERVER_ERROR_PREFIX "400")}},
    {413, {H2O_STRLIT(HTTP_SERVER_ERROR_PREFIX "413")}},
    {417, {H2O_STRLIT(HTTP_SERVER_ERROR_PREFIX "417")}},
};

static void setup_globalconf(struct server *srv, const struct http_server_config *cfg)
{
    h2o_config_init(&srv->globalconf);
    srv->globalconf.max_request_entity_size = cfg->max_body;
    http_head_init(cfg->defers_body);
    srv->globalconf.http1.upgrade_to_http2 = cfg->http2_cleartext;
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("vidgen"));
    h2o_hostconf_t *host = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    /* h2o answers a request it refuses before routing from the host's fallback path. */
    h2o_errordoc_register(&host->fallback_path, error_docs, sizeof error_docs / sizeof error_docs[0]);
    struct dispatch_handler *h = (void *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->cfg = cfg;
    if (cfg->access_log && strcmp(cfg->access_log, "off") != 0) {
        const char *p = strcmp(cfg->access_log, "-") == 0 ? "/dev/stderr" : cfg->access_log;
        h2o_access_log_filehandle_t *fh = h2o_access_log_open_handle(p, NULL, H2O_LOGCONF_ESCAPE_APACHE);
        if (fh != NULL) {
            h2o_access_log_register(path, fh);
            h2o_mem_release_shared(fh); /* the logger holds its own reference */
        } else
            log_warn("http: cannot open access log %s; requests are not logged", p);
    }
}

/* Blocks SIGINT/SIGTERM/SIGPIPE in every thread; the main thread takes the first two with
 * sigwait(), so no handler ever runs inside an event loop. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* SO_REUSEPORT would let this process quietly share the port with another one that listens
 * there (half the requests each): a socket without it is refused instead. */
int http_server_check_address(const char *host, unsigned short port)
{
    if (port == 0)
        return 0;
    int probe = open_listener(host, port, 0);
    if (probe < 0)
        return -1;
    close(probe);
    return 0;
}

static int open_listeners(struct server *srv, const struct http_server_config *cfg)
{
    unsigned short port = cfg->port;
    if (http_server_check_address(cfg->host, port) != 0)
        return -1;
    for (int i = 0; i < cfg->threads; i++) {
        if ((srv->loops[i].listen_fd = open_listener(cfg->host, port, 1)) < 0)
            return -1;
        port = bound_port(srv->loops[i].listen_fd); /* port 0: the others join the one chosen */
    }
    log_info("http: listening on http://%s:%u with %d event loop%s", cfg->host, port, cfg->threads,
             cfg->threads == 1 ? "" : "s");
    return 0;
}

static void stop_loops(struct server *srv, int n)
{
    for (int i = 0; i < n; i++) {
        h2o_multithread_message_t *m = calloc(1, sizeof *m);
        h2o_multithread_send_message(&srv->loops[i].stop_receiver, m);
    }
}

int http_server_run(const struct http_server_config *cfg)
{
    struct server *srv = calloc(1, sizeof *srv);
    sigset_t set;
    int sig, rc = -1, started = 0;

    block_signals(&set);
    srv->loops = calloc(cfg->threads, sizeof *srv->loops);
    for (int i = 0; i < cfg->threads; i++)
        srv->loops[i].listen_fd = -1;
    setup_globalconf(srv, cfg);
    accept_limit_init(&srv->limit, cfg->max_connections, cfg->threads);
    pthread_barrier_init(&srv->ready, NULL, cfg->threads + 1);
    if (open_listeners(srv, cfg) != 0)
        goto done;
    for (; started < cfg->threads; started++) {
        struct loop *l = &srv->loops[started];
        l->index = started, l->cfg = cfg, l->server = srv;
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
            break;
    }
    if (started < cfg->threads) {
        log_error("http: cannot start threads");
        abort(); /* the barrier counts on every thread; nothing sensible to unwind */
    }
    pthread_barrier_wait(&srv->ready);
    if (!atomic_load(&srv->failed)) {
        sigwait(&set, &sig);
        log_info("http: %s received, stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
        rc = 0;
    }
    stop_loops(srv, started);
    for (int i = 0; i < started; i++)
        pthread_join(srv->loops[i].thread, NULL);
done:
    if (started == 0) /* else each loop's h2o socket owns and closes its fd */
        for (int i = 0; i < cfg->threads; i++)
            if (srv->loops[i].listen_fd >= 0)
                close(srv->loops[i].listen_fd);
    pthread_barrier_destroy(&srv->ready);
    for (int i = 0; i < started; i++)
        if (srv->loops[i].abandoned) {
            left_for_exit = srv; /* see loop_main: still referenced by open connections */
            return rc;
        }
    h2o_config_dispose(&srv->globalconf);
    free(srv->loops);
    free(srv);
    return rc;
}
