#include "api/store_pool.h"

#include <stdio.h>

#include "http/offload.h"
#include "store/store.h"
#include "util/log.h"

/* One request's trip to the pool and back. Lives in the request's pool. */
struct pooled_call {
    struct http_offload offload;
    struct api_call call;
    struct api_thread *loop_thread; /* the loop's: given back to the call for the send */
    int (*run)(struct api_call *c);
    int (*then)(struct api_call *c); /* to run on the loop in place of the reply (api_then_on_loop) */
    bool answered;                   /* the reply below, or `then`, was given */
    int status;
    const char *content_type, *body; /* live as long as the request */
    size_t len;
};

/* The pool thread's own store connection, opened on its first request (and again after a
 * failed open), and the call it is running now. */
static _Thread_local struct api_thread pool_thread;
static _Thread_local struct pooled_call *running;

static void thread_init(void *arg)
{
    pool_thread.api = arg;
}

static bool open_store(void)
{
    char err[512];
    if (pool_thread.store != NULL)
        return true;
    if ((pool_thread.store = store_try_open(pool_thread.api->cfg->database_url, err, sizeof err)) == NULL)
        log_error("api: store pool: %s", err);
    return pool_thread.store != NULL;
}

struct http_pool *api_store_pool_start(const struct api *api, int threads, char *err, size_t errlen)
{
    struct http_pool *pool = http_pool_start(threads, thread_init, (void *)api);
    if (pool == NULL)
        snprintf(err, errlen, "cannot start the store threads (VIDGEN_STORE_THREADS=%d)", threads);
    return pool;
}

static void run_off_loop(struct http_offload *o)
{
    struct pooled_call *p = H2O_STRUCT_FROM_MEMBER(struct pooled_call, offload, o);
    running = p;
    if (!open_store())
        api_fail_with(&p->call, VG_ERR_UNAVAILABLE, "", "the database is unreachable; try again");
    else {
        p->call.t = &pool_thread;
        p->run(&p->call);
    }
    running = NULL;
}

static void send_on_loop(struct http_offload *o)
{
    struct pooled_call *p = H2O_STRUCT_FROM_MEMBER(struct pooled_call, offload, o);
    p->call.t = p->loop_thread;
    if (p->then != NULL) {
        p->then(&p->call);
        return;
    }
    if (!p->answered) {
        log_error("api: a handler run off the loop gave no reply");
        h2o_send_error_500(p->call.req, "Internal Server Error", "no reply", 0);
        return;
    }
    api_send_bytes(p->call.req, p->status, p->content_type, p->body, p->len);
}

int api_store_pool_call(struct http_pool *pool, const struct api_call *c, int (*run)(struct api_call *c))
{
    struct pooled_call *p = h2o_mem_alloc_pool(&c->req->pool, sizeof *p);
    *p = (struct pooled_call){.call = *c, .loop_thread = c->t, .run = run};
    p->offload.work = run_off_loop;
    p->offload.done = send_on_loop;
    http_pool_run(pool, c->req->conn->ctx, &p->offload);
    return 0;
}

bool api_store_pool_defer(struct api_call *c, int (*then)(struct api_call *c))
{
    struct pooled_call *p = running;
    if (p == NULL || p->call.req != c->req)
        return false;
    if (p->answered)
        log_error("api: a handler answered twice; the second answer is dropped");
    else
        p->answered = true, p->then = then;
    return true;
}

bool api_store_pool_capture(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    struct pooled_call *p = running;
    if (p == NULL || p->call.req != req)
        return false;
    if (p->answered) {
        log_error("api: a handler answered twice; the second reply is dropped");
        return true;
    }
    p->answered = true;
    p->status = status, p->content_type = content_type, p->body = body, p->len = len;
    return true;
}
