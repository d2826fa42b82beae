/* Work that must not hold up an event loop — decoding a large image, a store call over the
 * network — runs on a pool of threads, and its completion comes back to the loop that
 * asked, through h2o's multithread queue.
 *
 * Two kinds of pool: the process's shared one (http_offload: CPU work, HTTP_OFFLOAD_THREADS
 * threads, started on first use), and pools made for one purpose (http_pool_start: e.g. the
 * API's store calls, whose threads mostly wait on the database and so may be more than the
 * cores).
 *
 * A request waiting on such work stays open: h2o 2.2 reads nothing from its connection
 * meanwhile, and a graceful stop waits for it like any response under way. */
#ifndef VIDGEN_HTTP_OFFLOAD_H
#define VIDGEN_HTTP_OFFLOAD_H

#include <h2o.h>

#define HTTP_OFFLOAD_THREADS 2

struct http_offload {
    void (*work)(struct http_offload *o); /* on a pool thread */
    void (*done)(struct http_offload *o); /* then on the loop's thread */
    /* Internal. */
    h2o_multithread_message_t message;
    h2o_multithread_receiver_t *back;
    struct http_offload *next;
};

struct http_pool;

/* Runs o->work on the shared pool, then o->done on the thread of the loop of `ctx`. `o`
 * (the caller's, e.g. in the request's pool) must stay valid until done has returned. */
void http_offload(h2o_context_t *ctx, struct http_offload *o);

/* Starts a pool of `threads` threads (1 or more), each calling thread_init(arg) once before
 * its first work (NULL for none: e.g. to open the thread's own store connection). The pool
 * lives as long as the process: its threads are detached and never stopped. NULL when no
 * thread could start. */
struct http_pool *http_pool_start(int threads, void (*thread_init)(void *arg), void *arg);
/* As http_offload, on `pool`. */
void http_pool_run(struct http_pool *pool, h2o_context_t *ctx, struct http_offload *o);

/* For http/server.c: each loop's receiver of finished work. */
void http_offload_receive(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* Provided by http/server.c: the receiver of `ctx`'s loop. */
h2o_multithread_receiver_t *http_server_offload_receiver(h2o_context_t *ctx);

#endif
