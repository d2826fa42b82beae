/* libFuzzer target: any bytes as a request method and path against the API's patterns. */
#include <stdint.h>
#include <string.h>

#include "http/router.h"

static const struct route routes[] = {
    {"GET", "/projects/:id", (void *)1, 0},
    {"POST", "/generations/:id/cancel", (void *)2, 0},
    {"GET", "/download/:id", (void *)3, 0},
    {"GET", "/models", (void *)4, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct route_match m;
    const char *split = memchr(data, ' ', size);
    size_t mlen = split ? (size_t)(split - (const char *)data) : 0;
    const char *path = split ? split + 1 : (const char *)data;
    size_t plen = size - (split ? mlen + 1 : 0);
    if (router_match(routes, 4, (const char *)data, mlen, path, plen, &m) == ROUTER_FOUND)
        for (int i = 0; i < m.n_params; i++) {
            const char *v = m.buf + m.value_at[i];
            if (strlen(v) == 0 || memchr(v, '/', strlen(v)))
                __builtin_trap(); /* a captured segment is never empty and never spans a slash */
        }
    return 0;
}
