#include "util/allocator.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef VIDGEN_MIMALLOC
#include <mimalloc.h>
#endif

void allocator_init(void)
{
#ifdef VIDGEN_MIMALLOC
    /* A segment whose pages are all free goes back to the system at once, not after 500 ms
     * of further activity on the thread that owned it: an HTTP loop left idle after a flood
     * of large bodies would otherwise keep them (tests/integration/test_hardening.py). Pages
     * keep mimalloc's short delay, so that FFmpeg's buffers are not mapped afresh on each
     * probe. MIMALLOC_SEGMENT_DECOMMIT_DELAY in the environment still overrides this. */
    mi_option_set_default(mi_option_segment_decommit_delay, 0);
#endif
}

const char *allocator_name(void)
{
#ifdef VIDGEN_MIMALLOC
    static char name[64];
    void *probe = calloc(1, 64);
    bool ours = probe != NULL && mi_is_in_heap_region(probe);
    free(probe);
    if (!ours)
        return "the C library's malloc (mimalloc is linked but does not serve malloc: check the link order)";
    int v = mi_version();
    snprintf(name, sizeof name, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
    return name;
#else
    return "the C library's malloc";
#endif
}
