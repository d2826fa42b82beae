/* What the Redis queue and the Redis events bus share: the parsed REDIS_URL, connecting
 * (with AUTH and SELECT), and the state of one link to Redis, logged once per change.
 *
 * A link belongs to one thread (the one that talks over it); its state may be read from any
 * thread (redis_link_up). Nothing here retries by itself: the owning thread calls
 * redis_link_wait after a failure, which sleeps for the next backoff step (capped), unless
 * the process is stopping. */
#ifndef VIDGEN_UTIL_REDIS_LINK_H
#define VIDGEN_UTIL_REDIS_LINK_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000

struct redis_addr {
    char host[256];
    int port;           /* 6379 when the URL names none */
    int db;             /* 0 when the URL names none */
    char password[256]; /* "" = no AUTH */
};

/* "redis://[[user]:password@]host[:port][/db]". -1 with a message when malformed. */
int redis_addr_parse(const char *url, struct redis_addr *a, char *err, size_t errlen);

struct redis_link {
    const char *what;              /* borrowed, static: "queue", "events" … (for the log) */
    const struct redis_addr *addr; /* borrowed; outlives the link */
    redisContext *ctx;             /* owned; NULL while disconnected */
    atomic_int state;              /* 0 never connected, 1 up, -1 down */
    int backoff_ms;
    pthread_mutex_t why_lock;
    char why[200]; /* the last failure, for the log; under why_lock */
};

void redis_link_init(struct redis_link *l, const char *what, const struct redis_addr *addr);
/* Connects when disconnected: 1 when it made a new connection (logs a recovery; the caller
 * sets up what a fresh connection needs), 0 when already connected, -1 when it cannot (logs
 * the first failure of an outage only). `timeout_ms` bounds the connect and every command. */
int redis_link_connect(struct redis_link *l, int timeout_ms);
/* A command failed (reply NULL, or an error reply worth reconnecting for): drops the
 * connection and logs the outage once. `reply` (may be NULL) gives the reason. */
void redis_link_fail(struct redis_link *l, const redisReply *reply);
/* Sleeps for the next backoff step, in slices, returning early when *stop becomes true. */
void redis_link_wait(struct redis_link *l, const atomic_bool *stop);
/* Any thread: whether the link answered last time; when it did not, the reason in why. */
bool redis_link_up(struct redis_link *l, char *why, size_t len);
void redis_link_close(struct redis_link *l);

#endif
