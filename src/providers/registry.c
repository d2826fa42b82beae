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

/* Whether `url` is https on a domain name (not an IP address), or on loopback, where only a
 * stand-in of the provider on this machine could fetch from it (the tests' fakes). */
static bool https_domain_or_loopback(const char *url)
{
    const char *host = strstr(url, "://");
    if (host == NULL)
        return false;
    host += 3;
    size_t len = strcspn(host, ":/?#");
    if ((len == 9 && strncmp(host, "localhost", 9) == 0) || strncmp(host, "127.", 4) == 0 ||
        strncmp(host, "[::1]", 5) == 0)
        return true;
    if (strncmp(url, "https://", 8) != 0 || host[0] == '[')
        return false;
    for (size_t i = 0; i < len; i++) /* an IPv4 address is digits and dots only */
        if (host[i] != '.' && (host[i] < '0' || host[i] > '9'))
            return true;
    return false;
}

enum route_fit provider_route_fit(const struct catalog_route *r, const struct config *cfg, bool images, char *reason,
                                  size_t reason_len)
{
    const struct provider *p = provider_find(r->provider);
    if (!provider_available(r->provider, cfg, reason, reason_len))
        return ROUTE_UNAVAILABLE;
    if (!images || p->kind != PROVIDER_HTTP)
        return ROUTE_OK;
    if (cfg->public_url[0] == '\0') {
        snprintf(reason, reason_len,
                 "%s fetches images from this server: set VIDGEN_PUBLIC_URL to the address it can reach",
                 p->display_name);
        return ROUTE_NO_IMAGES;
    }
    if (p->images_need_https && !https_domain_or_loopback(cfg->public_url)) {
        snprintf(reason, reason_len,
                 "%s fetches images only over https from a domain name: set VIDGEN_PUBLIC_URL to an https:// address",
                 p->display_name);
        return ROUTE_NO_IMAGES;
    }
    return ROUTE_OK;
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
