/* Work that must not hold up an event loop — decoding a large image, later a store call over
 * the network — runs on a small pool of threads shared by the process, and its completion
 * comes back to the loop that asked, through h2o's multithread queue.
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

/* Runs o->work, then o->done on the thread of the loop of `ctx`. `o` (the caller's, e.g. in
 * the request's pool) must stay valid until done has returned. */
void http_offload(h2o_context_t *ctx, struct http_offload *o);

/* For http/server.c: each loop's receiver of finished work. */
void http_offload_receive(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* Provided by http/server.c: the receiver of `ctx`'s loop. */
h2o_multithread_receiver_t *http_server_offload_receiver(h2o_context_t *ctx);

#endif
