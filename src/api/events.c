#include "api/events.h"

#include "events/bus.h"

int api_events(struct api_call *c)
{
    return events_subscribe(c->t->events, c->req, c->user.id);
}
