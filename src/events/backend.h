/* The seam between the events bus and its backends (events/bus.h): what a backend does
 * beyond this process, and the local delivery it relays into. Private to src/events. */
#ifndef VIDGEN_EVENTS_BACKEND_H
#define VIDGEN_EVENTS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "events/bus.h"

struct events_bus_ops {
    /* Any thread, never waits on the network: delivers a checked publication (user id and
     * event name well-formed; all three borrowed for the call) to every loop it reaches. */
    void (*publish)(struct events_bus *bus, const char *user_id, const char *event, const char *json);
    /* Whether a publication may reach a stream when none is open in this process. */
    bool (*wanted)(struct events_bus *bus);
    enum events_health (*health)(struct events_bus *bus, char *why, size_t len);
    /* Stops the backend's threads and frees its state (not the bus). */
    void (*close)(struct events_bus *bus);
};

/* The bus's backend state, owned by its ops (NULL for the local backend). */
void *events_bus_backend(struct events_bus *bus);

/* The local delivery: hands a publication to this process's loops only. Any thread. */
void events_deliver_local(struct events_bus *bus, const char *user_id, const char *event, const char *json);
/* Whether a user id and an event name may be published (and relayed). */
bool events_well_formed(const char *user_id, const char *event);

/* events/redis.c: the Redis backend's state for `bus`, its threads started; NULL with a
 * message when the URL is malformed or memory is short. */
void *events_redis_open(struct events_bus *bus, const char *redis_url, bool listen, char *err, size_t errlen);
extern const struct events_bus_ops events_redis_ops;

#endif
