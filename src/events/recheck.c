#include "events/recheck.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

typedef char credential_t[EVENTS_CREDENTIAL_MAX + 1];

struct events_recheck {
    struct events_loop *events;
    h2o_loop_t *loop;
    h2o_timeout_t timeout;
    h2o_timeout_entry_t tick;
    events_check_fn check;
    void *arg;
};

/* The distinct credentials of one loop's streams, copied: closing a stream may not free
 * the memory of another during a pass, but copies need no such promise. */
struct credentials {
    credential_t *items;
    size_t n, cap;
    int oom;
};

static void collect(struct events_sink *sink, void *arg)
{
    struct credentials *c = arg;
    const char *cred = events_sink_credential(sink);
    if (cred[0] == '\0' || c->oom)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        credential_t *items = realloc(c->items, cap * sizeof *items);
        if (items == NULL) {
            c->oom = 1;
            return;
        }
        c->items = items, c->cap = cap;
    }
    strcpy(c->items[c->n++], cred);
}

static int compare(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sorts and drops duplicates (several streams of one token). */
static void dedupe(struct credentials *c)
{
    size_t w = 0;
    qsort(c->items, c->n, sizeof *c->items, compare);
    for (size_t i = 0; i < c->n; i++)
        if (w == 0 || strcmp(c->items[w - 1], c->items[i]) != 0)
            memmove(c->items[w++], c->items[i], sizeof *c->items);
    c->n = w;
}

struct verdict {
    const struct credentials *creds;
    const bool *valid;
};

/* Closes `sink` when its credential failed. */
static void apply(struct events_sink *sink, void *arg)
{
    const struct verdict *v = arg;
    const char *cred = events_sink_credential(sink);
    if (cred[0] == '\0')
        return;
    const credential_t *hit = bsearch(cred, v->creds->items, v->creds->n, sizeof *v->creds->items, compare);
    if (hit != NULL && !v->valid[hit - v->creds->items]) {
        events_sink_remove(sink); /* nothing more is delivered to it */
        sink->close(sink);
    }
}

/* Asks about every credential at once; closes the streams of those that failed. */
static void recheck(struct events_recheck *r, struct credentials *c)
{
    events_loop_foreach(r->events, collect, c);
    if (c->oom) {
        log_warn("events: out of memory; stream credentials are not checked this time");
        return;
    }
    if (c->n == 0)
        return;
    dedupe(c);
    const char **names = malloc(c->n * sizeof *names);
    bool *valid = calloc(c->n, sizeof *valid);
    if (names != NULL && valid != NULL) {
        for (size_t i = 0; i < c->n; i++)
            names[i] = c->items[i];
        if (r->check(names, c->n, valid, r->arg) == 0)
            events_loop_foreach(r->events, apply, &(struct verdict){c, valid});
    }
    free(names);
    free(valid);
}

void events_recheck_run(struct events_recheck *r)
{
    struct credentials c = {0};
    recheck(r, &c);
    free(c.items);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct events_recheck *r = H2O_STRUCT_FROM_MEMBER(struct events_recheck, tick, entry);
    events_recheck_run(r);
    h2o_timeout_link(r->loop, &r->timeout, &r->tick);
}

struct events_recheck *events_recheck_start(struct events_loop *l, h2o_loop_t *loop, uint64_t interval_ms,
                                            events_check_fn check, void *arg)
{
    struct events_recheck *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->events = l, r->loop = loop, r->check = check, r->arg = arg;
    r->tick.cb = on_tick;
    h2o_timeout_init(loop, &r->timeout, interval_ms);
    h2o_timeout_link(loop, &r->timeout, &r->tick);
    return r;
}

void events_recheck_stop(struct events_recheck *r)
{
    if (r == NULL)
        return;
    h2o_timeout_unlink(&r->tick);
    h2o_timeout_dispose(r->loop, &r->timeout);
    free(r);
}
