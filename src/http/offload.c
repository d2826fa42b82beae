#include "http/offload.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"

struct http_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct http_offload *head, **tail; /* waiting work, first in first out */
    void (*thread_init)(void *arg);
    void *arg;
};

static struct http_offload *take(struct http_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->head == NULL)
        pthread_cond_wait(&p->wake, &p->lock);
    struct http_offload *o = p->head;
    if ((p->head = o->next) == NULL)
        p->tail = &p->head;
    pthread_mutex_unlock(&p->lock);
    return o;
}

static void *pool_main(void *arg)
{
    struct http_pool *p = arg;
    if (p->thread_init)
        p->thread_init(p->arg);
    for (;;) {
        struct http_offload *o = take(p);
        o->work(o);
        h2o_multithread_send_message(o->back, &o->message);
    }
    return NULL;
}

struct http_pool *http_pool_start(int threads, void (*thread_init)(void *arg), void *arg)
{
    struct http_pool *p = calloc(1, sizeof *p);
    int started = 0;
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->tail = &p->head;
    p->thread_init = thread_init;
    p->arg = arg;
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pool_main, p) == 0 && pthread_detach(t) == 0)
            started++;
    }
    if (started == 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    if (started < threads)
        log_warn("http: started %d of %d pool threads", started, threads);
    return p;
}

void http_pool_run(struct http_pool *p, h2o_context_t *ctx, struct http_offload *o)
{
    o->back = http_server_offload_receiver(ctx);
    o->message = (h2o_multithread_message_t){{NULL, NULL}};
    o->next = NULL;
    pthread_mutex_lock(&p->lock);
    *p->tail = o;
    p->tail = &o->next;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

static struct http_pool *shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void start_shared(void)
{
    if ((shared = http_pool_start(HTTP_OFFLOAD_THREADS, NULL, NULL)) == NULL) {
        log_error("http: cannot start the offload threads");
        abort();
    }
}

void http_offload(h2o_context_t *ctx, struct http_offload *o)
{
    pthread_once(&shared_once, start_shared);
    http_pool_run(shared, ctx, o);
}

void http_offload_receive(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct http_offload *o = H2O_STRUCT_FROM_MEMBER(struct http_offload, message, m);
        o->done(o);
    }
}
