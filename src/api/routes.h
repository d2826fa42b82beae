/* The route tables behind api_handle (api/api.h), exposed read-only so that a check can walk
 * every (method, pattern) the server answers: tests/unit/test_openapi.c asserts each is in the
 * OpenAPI document (config/openapi.json) and the document has no other. */
#ifndef VIDGEN_API_ROUTES_H
#define VIDGEN_API_ROUTES_H

#include <stddef.h>

#include "http/router.h"

struct api_route_table {
    const char *prefix; /* "" for the server's root, else API_PREFIX */
    const struct route *routes;
    size_t n;
};

/* The tables in the order api_handle tries them: the root's (/healthz, /api/openapi.json, …),
 * then the API's. Sets *out to a static array and returns its length; nothing to free. */
size_t api_route_tables(const struct api_route_table **out);

#endif
