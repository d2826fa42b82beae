/* A small router: a table of (method, pattern) → handler, where a pattern segment ":name"
 * captures that segment. Generic: it knows nothing of the handlers' meaning. */
#ifndef VIDGEN_HTTP_ROUTER_H
#define VIDGEN_HTTP_ROUTER_H

#include <stddef.h>

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_SEGMENTS 8

struct route {
    const char *method;  /* "GET", "POST", … */
    const char *pattern; /* "/projects/:id", relative to the router's prefix */
    void *handler;       /* opaque to the router */
    unsigned flags;      /* opaque to the router */
};

struct route_match {
    const struct route *route;
    int n_params;
    /* Where each parameter's name and captured segment start in `buf` (NUL-terminated
     * copies); offsets, not pointers, so that a copy of the match stands on its own. */
    unsigned short name_at[ROUTER_MAX_PARAMS], value_at[ROUTER_MAX_PARAMS];
    char buf[512];
    /* With ROUTER_BAD_METHOD: the methods the path does take, "GET, POST" (for Allow). */
    char allow[64];
};

enum router_result {
    ROUTER_FOUND,
    ROUTER_NOT_FOUND,  /* no pattern matches the path */
    ROUTER_BAD_METHOD, /* a pattern matches, with another method */
};

/* Matches `path` (without query string) against `routes[0..n)`. */
enum router_result router_match(const struct route *routes, size_t n, const char *method, size_t method_len,
                                const char *path, size_t path_len, struct route_match *out);

/* The value of a captured parameter, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif
