/* The provider registry: every provider this build knows, one line each, and whether it
 * can serve now (its key configured). The request-building and reply-parsing functions of
 * each provider join `struct provider` with the generation pipeline (DESIGN §3). */
#ifndef VIDGEN_PROVIDERS_REGISTRY_H
#define VIDGEN_PROVIDERS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "core/catalog.h"

/* How the worker runs a provider's jobs. */
enum provider_kind {
    PROVIDER_LOCAL, /* in-process, on the worker's CPU pool (worker/local_job.c) */
    PROVIDER_HTTP,  /* a remote API driven through the worker's libcurl loop */
};

struct provider {
    const char *name;         /* as in the catalog's route: "local", "modelslab", … */
    const char *display_name; /* "ModelsLab" */
    enum provider_kind kind;
    /* True when this provider can take jobs with `cfg`; else writes why into `reason`. */
    bool (*available)(const struct config *cfg, char *reason, size_t reason_len);
};

/* The provider named `name`, or NULL when this build has none by that name. */
const struct provider *provider_find(const char *name);

/* Whether the route's provider can serve: false with a reason also when it is unknown. */
bool provider_available(const char *name, const struct config *cfg, char *reason, size_t reason_len);

/* The route that serves model `m` now: the first on its route list whose provider is
 * available. NULL, with the first route's reason, when none is. GET /models calls a model
 * available, and POST /generate serves it, by this one rule. Borrowed from `m`. */
const struct catalog_route *provider_route(const struct catalog_model *m, const struct config *cfg, char *reason,
                                           size_t reason_len);

/* The display name for a provider name; the name itself when unknown. Static string. */
const char *provider_display_name(const char *name);

#endif
