#include "util/json_region.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define REGION_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REGION_ENABLED 0
#endif
#endif
#ifndef REGION_ENABLED
#define REGION_ENABLED 1
#endif

struct region {
    alignas(16) unsigned char bytes[JSON_REGION_BYTES];
    size_t used;  /* bytes handed out since the region was last empty */
    size_t live;  /* blocks handed out and not yet freed */
    bool parsing; /* inside json_region_loadb: allocations come from here */
};

static _Thread_local struct region region;
static bool installed;

bool json_region_holds(const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)region.bytes;
    return a >= lo && a < lo + sizeof region.bytes;
}

static void *region_malloc(size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (!region.parsing || need < n || need > sizeof region.bytes - region.used)
        return malloc(n);
    void *p = region.bytes + region.used;
    region.used += need;
    region.live++;
    return p;
}

static void region_free(void *p)
{
    if (!json_region_holds(p))
        return free(p);
    if (--region.live == 0)
        region.used = 0;
}

void json_region_install(void)
{
    if (REGION_ENABLED) {
        json_set_alloc_funcs(region_malloc, region_free);
        installed = true;
    }
}

json_t *json_region_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    region.parsing = installed;
    json_t *root = json_loadb(buf, len, flags, error);
    region.parsing = false;
    return root;
}
