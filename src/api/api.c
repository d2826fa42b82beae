#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/handlers.h"
#include "store/store.h"
#include "util/log.h"

int api_init(struct api *api, const struct config *cfg, char *err, size_t errlen)
{
    api->cfg = cfg;
    api->models_json = NULL;
    if (catalog_load(cfg->catalog_path, &api->catalog, err, errlen) != 0)
        return -1;
    if (api_models_build(api, err, errlen) != 0) {
        catalog_free(&api->catalog);
        return -1;
    }
    return 0;
}

void api_dispose(struct api *api)
{
    free(api->models_json);
    catalog_free(&api->catalog);
}

void *api_thread_init(int index, h2o_context_t *ctx, void *arg)
{
    (void)ctx;
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
    return t;
}

void api_thread_done(void *thread, void *arg)
{
    struct api_thread *t = thread;
    (void)arg;
    store_close(t->store);
    free(t);
}
