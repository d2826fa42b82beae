#include "util/allocator.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* mimalloc's functions are looked up, not linked: the objects of the service are also linked
 * into the unit tests, which run on the C library's malloc. */
static void *mimalloc_fn(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

/* mi_collect, when mimalloc is in the process; set by allocator_init before any thread. */
static void (*collect)(bool force);

void allocator_init(void)
{
    collect = (void (*)(bool))mimalloc_fn("mi_collect");
}

void allocator_give_back(void)
{
    if (collect != NULL)
        collect(false);
}

const char *allocator_name(void)
{
    int (*version)(void) = (int (*)(void))mimalloc_fn("mi_version");
    bool (*in_heap)(const void *) = (bool (*)(const void *))mimalloc_fn("mi_is_in_heap_region");
    if (version == NULL || in_heap == NULL)
        return "the C library's malloc";
    void *probe = malloc(64);
    bool ours = probe != NULL && in_heap(probe);
    free(probe);
    if (!ours)
        return "the C library's malloc (mimalloc is loaded but does not serve malloc: check the link order)";
    static char name[64];
    int v = version();
    snprintf(name, sizeof name, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
    return name;
}
