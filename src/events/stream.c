#include "events/stream.h"

#include <stdlib.h>

#include "http/sse.h"
#include "util/log.h"

/* An SSE stream as a sink of the bus. Freed when its stream is gone. */
struct events_subscriber {
    struct events_sink sink;
    struct sse_stream *stream;
};

static void subscriber_deliver(struct events_sink *sink, const char *frame, size_t len)
{
    struct events_subscriber *sub = (struct events_subscriber *)sink;
    sse_write(sub->stream, frame, len); /* -1: the stream is closing; it goes away by itself */
}

static void subscriber_close(struct events_sink *sink)
{
    sse_close(((struct events_subscriber *)sink)->stream);
}

static void subscriber_gone(struct sse_stream *s, void *arg)
{
    struct events_subscriber *sub = arg;
    (void)s;
    events_sink_remove(&sub->sink);
    free(sub);
}

/* During a stop: a stream that says when to come back (to another node, or this one
 * restarted) and ends at once. An error status would make browsers give up for good. */
static int subscribe_stopping(struct events_loop *l, h2o_req_t *req)
{
    struct sse_stream *s = sse_start(req, events_loop_heartbeat(l), EVENTS_STREAM_MAX_PENDING, NULL, NULL);
    if (s == NULL)
        h2o_send_error_503(req, "Service Unavailable", "the server is stopping", 0);
    else
        sse_close(s);
    return 0;
}

int events_subscribe(struct events_loop *l, h2o_req_t *req, const char *user_id, const char *credential)
{
    if (events_loop_stopping(l))
        return subscribe_stopping(l, req);
    struct events_subscriber *sub = calloc(1, sizeof *sub);
    if (sub == NULL)
        goto fail;
    sub->sink.deliver = subscriber_deliver;
    sub->sink.close = subscriber_close;
    if (events_sink_add(l, &sub->sink, user_id, credential) != 0)
        goto fail;
    /* Nothing is delivered before this handler returns, so the stream is set in time. */
    if ((sub->stream = sse_start(req, events_loop_heartbeat(l), EVENTS_STREAM_MAX_PENDING, subscriber_gone, sub)) ==
        NULL)
        goto fail;
    return 0;
fail:
    if (sub != NULL)
        events_sink_remove(&sub->sink);
    free(sub);
    log_error("events: cannot open a stream for user %s", user_id);
    h2o_send_error_500(req, "Internal Server Error", "cannot open the event stream", 0);
    return 0;
}
