#include "api/events.h"

#include "events/stream.h"
#include "util/log.h"

/* On the loop: the stream belongs to the loop's subscribers. */
static int subscribe(struct api_call *c)
{
    return events_subscribe(c->t->events, c->req, c->user.id, c->token_hash);
}

int api_events(struct api_call *c)
{
    return api_then_on_loop(c, subscribe);
}

int api_events_check_tokens(const char *const *hashes, size_t n, bool *valid, void *thread)
{
    struct api_thread *t = thread;
    struct vg_error err;
    if (store_tokens_live(t->store, hashes, n, valid, &err) != VG_OK) {
        log_warn("events: cannot check the tokens of open streams: %s", err.message);
        return -1;
    }
    return 0;
}
