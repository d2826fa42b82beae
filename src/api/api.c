#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/events.h"
#include "api/handlers.h"
#include "api/login_limit.h"
#include "api/store_pool.h"
#include "api/views.h"
#include "core/upload.h"
#include "events/bus.h"
#include "events/generation.h"
#include "events/recheck.h"
#include "providers/edenai_signature.h"
#include "store/store.h"
#include "util/log.h"

/* Eden AI's webhook key, read once: a key that cannot be read stops the start. Without one,
 * Eden AI's callbacks are taken on their URL token alone, like ModelsLab's unsigned ones
 * (either way a callback only makes the worker poll: api/webhooks.c). */
static int load_webhook_key(struct api *api, const struct config *cfg, char *err, size_t errlen)
{
    char why[400];
    if (cfg->edenai_webhook_public_key[0] == '\0') {
        if (cfg->public_url[0] != '\0' && cfg->edenai_api_key[0] != '\0')
            log_info("api: Eden AI's webhooks are not signature-checked: EDENAI_WEBHOOK_PUBLIC_KEY is not set");
        return 0;
    }
    api->edenai_webhook_key = edenai_webhook_key_load(cfg->edenai_webhook_public_key, why, sizeof why);
    if (api->edenai_webhook_key == NULL) {
        snprintf(err, errlen, "EDENAI_WEBHOOK_PUBLIC_KEY: %s", why);
        return -1;
    }
    return 0;
}

/* The directories uploads are received into and kept in. */
static int make_upload_dirs(const char *data_dir, char *err, size_t errlen)
{
    const char *subs[] = {"tmp", UPLOAD_DIR};
    char path[1200];
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", data_dir, subs[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno)), -1;
    }
    return 0;
}

int api_init(struct api *api, const struct config *cfg, struct queue *queue, char *err, size_t errlen)
{
    api->cfg = cfg;
    api->models_json = NULL;
    api->queue = queue;
    api->bus = NULL;
    api->edenai_webhook_key = NULL;
    api->login_limit = NULL;
    api->store_pool = NULL;
    if (make_upload_dirs(cfg->data_dir, err, errlen) != 0 ||
        image_link_key_load(cfg->data_dir, &api->link_key, err, errlen) != 0 ||
        catalog_load(cfg->catalog_path, &api->catalog, err, errlen) != 0)
        return -1;
    if (api_models_build(api, err, errlen) != 0) {
        catalog_free(&api->catalog);
        return -1;
    }
    if ((api->bus = events_bus_new(cfg->redis_url)) == NULL || (api->login_limit = login_limit_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        api_dispose(api);
        return -1;
    }
    if (load_webhook_key(api, cfg, err, errlen) != 0) {
        api_dispose(api);
        return -1;
    }
    if (cfg->store_threads > 0 &&
        (api->store_pool = api_store_pool_start(api, cfg->store_threads, err, errlen)) == NULL) {
        api_dispose(api);
        return -1;
    }
    return 0;
}

void api_dispose(struct api *api)
{
    login_limit_free(api->login_limit);
    edenai_webhook_key_free(api->edenai_webhook_key);
    events_bus_free(api->bus);
    free(api->models_json);
    catalog_free(&api->catalog);
}

void *api_thread_init(int index, h2o_context_t *ctx, void *arg)
{
    struct api *api = arg;
    struct api_thread *t = calloc(1, sizeof *t);
    char err[512];
    if (t == NULL)
        return NULL;
    t->api = api;
    if ((t->store = store_open(api->cfg->database_url, err, sizeof err)) == NULL) {
        log_error("http loop %d: %s", index, err);
        free(t);
        return NULL;
    }
    if ((t->events = events_loop_attach(api->bus, ctx)) == NULL ||
        (t->recheck = events_recheck_start(t->events, ctx->loop, API_EVENTS_RECHECK_MS, api_events_check_tokens, t)) ==
            NULL) {
        log_error("http loop %d: out of memory", index);
        if (t->events)
            events_loop_detach(t->events);
        store_close(t->store);
        free(t);
        return NULL;
    }
    return t;
}

void api_thread_stopping(void *thread, void *arg)
{
    struct api_thread *t = thread;
    (void)arg;
    events_loop_close_all(t->events);
}

void api_thread_done(void *thread, void *arg)
{
    struct api_thread *t = thread;
    (void)arg;
    events_recheck_stop(t->recheck);
    events_loop_detach(t->events);
    store_close(t->store);
    free(t);
}

void api_notify(const struct api *api, const struct generation *g)
{
    events_publish_generation(api->bus, g);
}
