#include "providers/registry.h"

#include <stdio.h>
#include <string.h>

static bool always(const struct config *cfg, char *reason, size_t len)
{
    (void)cfg, (void)reason, (void)len;
    return true;
}

/* Whether this build's worker runs PROVIDER_HTTP jobs. Until it does (issue 8, item 2), a
 * remote provider with its key set stays unavailable, so generate never charges for a job
 * that no worker can run; the worker's change turns this on. */
static const bool http_jobs_run = false;

static const struct provider local = {
    .name = "local", .display_name = "Local", .kind = PROVIDER_LOCAL, .available = always};

static const struct provider *const providers[] = {
    &local,
    &provider_modelslab,
    &provider_edenai,
};

/* Providers the catalog names that this build cannot reach yet, and why. */
static const struct {
    const char *name, *display_name, *reason;
} planned[] = {
    {"runway", "Runway", "Eden AI does not offer Runway models; a direct Runway provider is not in this build yet"},
    {"kling", "Kling AI", "Eden AI does not offer Kling models; a direct Kling provider is not in this build yet"},
};

const struct provider *provider_find(const char *name)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

bool provider_available(const char *name, const struct config *cfg, char *reason, size_t len)
{
    const struct provider *p = provider_find(name);
    if (p != NULL) {
        if (!p->available(cfg, reason, len))
            return false;
        if (p->kind == PROVIDER_HTTP && !http_jobs_run) {
            snprintf(reason, len, "%s generations are not in this build yet: the worker cannot run remote jobs",
                     p->display_name);
            return false;
        }
        return true;
    }
    for (size_t i = 0; i < sizeof planned / sizeof planned[0]; i++)
        if (strcmp(planned[i].name, name) == 0) {
            snprintf(reason, len, "%s", planned[i].reason);
            return false;
        }
    snprintf(reason, len, "no provider named '%s' in this build", name);
    return false;
}

const char *provider_display_name(const char *name)
{
    const struct provider *p = provider_find(name);
    if (p != NULL)
        return p->display_name;
    for (size_t i = 0; i < sizeof planned / sizeof planned[0]; i++)
        if (strcmp(planned[i].name, name) == 0)
            return planned[i].display_name;
    return name;
}
