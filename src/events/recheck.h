/* Streams whose credential has lapsed are closed: an event stream is authorised once, when
 * it opens, and may then run for days, so a revoked API token (or a removed user) must not
 * keep receiving events. Each loop re-checks the credentials of its own streams on a timer,
 * asking once per tick about all of them (one store query, not one per stream or event),
 * and ends the streams of every credential that no longer holds.
 *
 * Threads: everything here runs on the loop thread. The recheck is made after
 * events_loop_attach and must be stopped before events_loop_detach. */
#ifndef VIDGEN_EVENTS_RECHECK_H
#define VIDGEN_EVENTS_RECHECK_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/bus.h"

/* Decides about `n` distinct credentials (borrowed for the call): sets valid[i] to whether
 * credentials[i] still holds. Returns 0, or -1 when it cannot tell now (then every stream
 * is kept until the next tick). */
typedef int (*events_check_fn)(const char *const *credentials, size_t n, bool *valid, void *arg);

struct events_recheck;

/* Every `interval_ms`, checks the credentials of the streams of `l` (those added with one)
 * with `check` and closes the streams whose credential failed. NULL when out of memory.
 * `loop` is the h2o loop of `l`. */
struct events_recheck *events_recheck_start(struct events_loop *l, h2o_loop_t *loop, uint64_t interval_ms,
                                            events_check_fn check, void *arg);

/* Stops the timer and frees `r`. NULL is accepted. */
void events_recheck_stop(struct events_recheck *r);

/* One check now, as the timer does (for tests). */
void events_recheck_run(struct events_recheck *r);

#endif
