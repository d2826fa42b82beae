#include "providers/registry.h"

#include <stdio.h>
#include <string.h>

static bool always(const struct config *cfg, char *reason, size_t len)
{
    (void)cfg, (void)reason, (void)len;
    return true;
}

/* A remote provider serves when its key is set and its client is in this build. */
static bool has_key(const char *key, const char *var, const char *display, char *reason, size_t len)
{
    if (key[0] == '\0')
        snprintf(reason, len, "%s is not set", var);
    else
        snprintf(reason, len, "the %s client is not in this build yet", display);
    return false;
}

static bool modelslab_available(const struct config *cfg, char *reason, size_t len)
{
    return has_key(cfg->modelslab_api_key, "MODELSLAB_API_KEY", "ModelsLab", reason, len);
}

static bool edenai_available(const struct config *cfg, char *reason, size_t len)
{
    return has_key(cfg->edenai_api_key, "EDENAI_API_KEY", "Eden AI", reason, len);
}

static const struct provider providers[] = {
    {"local", "Local", PROVIDER_LOCAL, always},
    {"modelslab", "ModelsLab", PROVIDER_HTTP, modelslab_available},
    {"edenai", "Eden AI", PROVIDER_HTTP, edenai_available},
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
        if (strcmp(providers[i].name, name) == 0)
            return &providers[i];
    return NULL;
}

bool provider_available(const char *name, const struct config *cfg, char *reason, size_t len)
{
    const struct provider *p = provider_find(name);
    if (p != NULL)
        return p->available(cfg, reason, len);
    for (size_t i = 0; i < sizeof planned / sizeof planned[0]; i++)
        if (strcmp(planned[i].name, name) == 0) {
            snprintf(reason, len, "%s", planned[i].reason);
            return false;
        }
    snprintf(reason, len, "no provider named '%s' in this build", name);
    return false;
}

const struct catalog_route *provider_route(const struct catalog_model *m, const struct config *cfg, char *reason,
                                           size_t reason_len)
{
    char why[256];
    for (int i = 0; i < m->n_routes; i++) {
        if (provider_available(m->routes[i].provider, cfg, why, sizeof why))
            return &m->routes[i];
        if (i == 0)
            snprintf(reason, reason_len, "%s", why);
    }
    return NULL;
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
