#include "http/offload.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct http_offload *head, **tail = &head; /* waiting work, first in first out */
static pthread_once_t started = PTHREAD_ONCE_INIT;

static struct http_offload *take(void)
{
    pthread_mutex_lock(&lock);
    while (head == NULL)
        pthread_cond_wait(&wake, &lock);
    struct http_offload *o = head;
    if ((head = o->next) == NULL)
        tail = &head;
    pthread_mutex_unlock(&lock);
    return o;
}

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct http_offload *o = take();
        o->work(o);
        h2o_multithread_send_message(o->back, &o->message);
    }
    return NULL;
}

static void start_pool(void)
{
    for (int i = 0; i < HTTP_OFFLOAD_THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pool_main, NULL) != 0 || pthread_detach(t) != 0) {
            log_error("http: cannot start the offload threads");
            abort();
        }
    }
}

void http_offload(h2o_context_t *ctx, struct http_offload *o)
{
    pthread_once(&started, start_pool);
    o->back = http_server_offload_receiver(ctx);
    o->message = (h2o_multithread_message_t){{NULL, NULL}};
    o->next = NULL;
    pthread_mutex_lock(&lock);
    *tail = o;
    tail = &o->next;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
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
