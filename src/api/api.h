/* The REST API (DESIGN §7): handlers for every resource, under API_PREFIX.
 *
 * `struct api` is built once at start and shared read-only by every thread; each HTTP loop
 * thread has its own `struct api_thread` holding its store connection. */
#ifndef VIDGEN_API_API_H
#define VIDGEN_API_API_H

#include <h2o.h>
#include <stdbool.h>

#include "config.h"
#include "core/catalog.h"
#include "core/image_link.h"

#define API_PREFIX "/api/apps/video-generator"
#define API_JSON_BODY_MAX (64 * 1024)
/* The largest request body any route takes: h2o refuses a larger announced Content-Length
 * with 413 before reading it, and a chunked body as soon as it grows past this, on every
 * connection, before any handler or token check runs. */
#define API_MAX_BODY API_JSON_BODY_MAX
#define API_MAX_BODY_TEXT "64 KB"

struct api {
    const struct config *cfg; /* borrowed; outlives the api */
    struct catalog catalog;   /* owned */
    char *models_json;        /* GET /models reply, built once (api_models_build) */
    size_t models_json_len;
    struct events_bus *bus; /* owned: live status fan-out (events/bus.h) */
    struct queue *queue;    /* borrowed: wakes the workers after POST /generate */
    /* owned: Eden AI's webhook key (EDENAI_WEBHOOK_PUBLIC_KEY); NULL = callbacks unverified */
    struct edenai_webhook_key *edenai_webhook_key;
    struct image_link_key link_key;  /* signs and checks links to images (core/image_link.h) */
    struct login_limit *login_limit; /* owned: failed logins counted (api/login_limit.h); thread-safe */
    struct http_pool *store_pool;    /* the process's: handlers run off the loops (api/store_pool.h); NULL =
                                      * on the loops (VIDGEN_STORE_THREADS=0) */
};

struct store;
struct queue;
struct events_bus;
struct generation;
struct events_loop;

struct events_recheck;
struct login_limit;
struct http_pool;
struct edenai_webhook_key;

struct api_thread {
    const struct api *api;
    struct store *store;            /* owned: this thread's connection */
    struct events_loop *events;     /* owned: this loop's event streams */
    struct events_recheck *recheck; /* owned: closes streams whose token was revoked */
};

/* Loads the catalog and builds the replies that never change. -1 with a message on error. */
int api_init(struct api *api, const struct config *cfg, struct queue *queue, char *err, size_t errlen);
void api_dispose(struct api *api);

/* Tells live-status subscribers that `g` changed (its owner's SSE streams). Any thread. */
void api_notify(const struct api *api, const struct generation *g);

/* http_server_config callbacks: `arg` is the struct api. */
void *api_thread_init(int index, h2o_context_t *ctx, void *arg);
/* On the loop thread when a graceful stop begins: ends the loop's event streams. */
void api_thread_stopping(void *thread, void *arg);
void api_thread_done(void *thread, void *arg);
int api_handle(h2o_req_t *req, void *thread);
/* http_server_config.defers_body: whether the route of `method` `path` reads its body
 * itself (API_DEFER_BODY). */
bool api_defers_body(const char *method, size_t method_len, const char *path, size_t path_len);

#endif
