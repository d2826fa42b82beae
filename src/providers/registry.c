#include "providers/registry.h"

#include <stdio.h>
#include <string.h>

static bool always(const struct config *cfg, char *reason, size_t len)
{
    (void)cfg, (void)reason, (void)len;
    return true;
}

static const struct provider local = {
    .name = "local", .display_name = "Local", .kind = PROVIDER_LOCAL, .available = always};

static const struct provider *const providers[] = {
    &local, &provider_modelslab, &provider_edenai, &provider_runway, &provider_kling,
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
    if (p != NULL)
        return p->available(cfg, reason, len);
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

void provider_settings(const struct provider *p, const struct config *cfg, const char **base_url, const char **api_key)
{
    *base_url = *api_key = "";
    if (strcmp(p->name, "modelslab") == 0)
        *base_url = cfg->modelslab_base_url, *api_key = cfg->modelslab_api_key;
    else if (strcmp(p->name, "edenai") == 0)
        *base_url = cfg->edenai_base_url, *api_key = cfg->edenai_api_key;
    else if (strcmp(p->name, "runway") == 0)
        *base_url = cfg->runway_base_url, *api_key = cfg->runway_api_key;
    else if (strcmp(p->name, "kling") == 0)
        *base_url = cfg->kling_base_url, *api_key = cfg->kling_credential;
}

const struct provider_limits *provider_limits_of(const struct provider *p, const struct config *cfg)
{
    if (strcmp(p->name, "modelslab") == 0)
        return &cfg->modelslab_limits;
    if (strcmp(p->name, "edenai") == 0)
        return &cfg->edenai_limits;
    if (strcmp(p->name, "runway") == 0)
        return &cfg->runway_limits;
    if (strcmp(p->name, "kling") == 0)
        return &cfg->kling_limits;
    return NULL;
}

size_t provider_count(void)
{
    return sizeof providers / sizeof providers[0];
}

const struct provider *provider_at(size_t i)
{
    return providers[i];
}

const char *provider_display_name(const char *name)
{
    const struct provider *p = provider_find(name);
    return p != NULL ? p->display_name : name;
}
