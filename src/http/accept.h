/* Accepting connections within limits: a process-wide cap on open client connections, a
 * back-off when the process runs out of file descriptors, and a budget for what requests
 * not yet handled hold in socket buffers (headers and bodies on their way in, from
 * clients whose token is not known yet: h2o 2.2 reads a body whole before any handler).
 * While any of the three holds, the listener pauses and the loop sheds: connections idle
 * or reading a request for longer than a second close, oldest first.
 *
 * One accept_gate per event loop, all sharing one accept_limit. The gate owns its loop's
 * listening socket once started. Everything except accept_limit_* runs on the loop's
 * thread. */
#ifndef VIDGEN_HTTP_ACCEPT_H
#define VIDGEN_HTTP_ACCEPT_H

#include <h2o.h>
#include <stdatomic.h>
#include <stdbool.h>

struct accept_limit {
    atomic_int open; /* client connections open in the whole process */
    int max;
    size_t loop_budget; /* bytes of socket input buffers one loop may hold */
};

/* What socket input buffers of the whole process may hold (split between the loops). */
#define ACCEPT_BUFFER_BUDGET (8u << 20)

/* Raises the soft open-file limit to the hard one and sets limit->max: `configured` when
 * > 0 (lowered, with a warning, when the file descriptors cannot carry it), else what the
 * descriptors left after a reserve for files, the database and renders allow, at most
 * ACCEPT_DEFAULT_MAX. */
#define ACCEPT_DEFAULT_MAX 4096
void accept_limit_init(struct accept_limit *limit, int configured, int loops);

struct accept_gate {
    h2o_accept_ctx_t *accept_ctx;
    h2o_socket_t *listener; /* NULL once stopped */
    struct accept_limit *limit;
    h2o_linklist_t conns; /* this loop's connections (struct accept_conn) */
    h2o_timeout_t tick;   /* looks at the buffers and the pauses every ACCEPT_TICK_MS */
    h2o_timeout_entry_t tick_entry;
    uint64_t http1_idle_ms, http2_idle_ms; /* h2o's own timeouts, restored after shedding */
    bool paused;                           /* the listener is not being read */
    bool shedding;                         /* h2o's idle timeouts are shortened */
    bool out_of_fds;                       /* accept() failed for want of descriptors; cleared by the next tick */
    bool over_budget;                      /* buffers hold more than the loop's budget */
    size_t buffered;                       /* bytes in this loop's socket input buffers at the last tick */
    uint64_t warned_at;
};

/* Starts accepting on `listener` (a socket of accept_ctx->ctx's loop). */
void accept_gate_start(struct accept_gate *g, h2o_accept_ctx_t *accept_ctx, h2o_socket_t *listener,
                       struct accept_limit *limit);
/* Closes the listener; connections already open go on. */
void accept_gate_stop(struct accept_gate *g);
/* Closes idle keep-alive connections at the next turn of the loop (for a stop). */
void accept_gate_close_idle(struct accept_gate *g);
/* Releases the gate's timer; call before h2o_context_dispose(), once no connection is
 * left open (each one's record is freed as it closes). */
void accept_gate_dispose(struct accept_gate *g);

#endif
