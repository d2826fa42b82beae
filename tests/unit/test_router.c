/* The router: literal and parameter segments, method mismatch, no prefix tricks. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/router.h"

static const struct route routes[] = {
    {"GET", "/projects", (void *)1, 0},
    {"POST", "/projects", (void *)2, 0},
    {"GET", "/projects/:id", (void *)3, 0},
    {"POST", "/generations/:id/cancel", (void *)4, 0},
};

static enum router_result match(const char *method, const char *path, struct route_match *m)
{
    return router_match(routes, 4, method, strlen(method), path, strlen(path), m);
}

Test(router, literal_and_method)
{
    struct route_match m;
    cr_assert_eq(match("GET", "/projects", &m), ROUTER_FOUND);
    cr_expect_eq(m.route->handler, (void *)1);
    cr_assert_eq(match("POST", "/projects", &m), ROUTER_FOUND);
    cr_expect_eq(m.route->handler, (void *)2);
    cr_expect_eq(match("DELETE", "/projects", &m), ROUTER_BAD_METHOD);
}

Test(router, parameters_are_captured)
{
    struct route_match m;
    cr_assert_eq(match("GET", "/projects/abc123", &m), ROUTER_FOUND);
    cr_expect_str_eq(route_param(&m, "id"), "abc123");
    cr_assert_eq(match("POST", "/generations/XYZ/cancel", &m), ROUTER_FOUND);
    cr_expect_str_eq(route_param(&m, "id"), "XYZ");
    cr_expect_null(route_param(&m, "other"));
}

Test(router, near_misses_do_not_match)
{
    struct route_match m;
    const char *paths[] = {"/projects/",
                           "/projects/a/b",
                           "/project",
                           "/projectsx",
                           "projects",
                           "",
                           "/projects//",
                           "/generations//cancel",
                           "/generations/x/cancel/",
                           "/a/b/c/d/e/f/g/h/i/j"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        cr_expect_eq(match("GET", paths[i], &m), ROUTER_NOT_FOUND, "'%s' matched", paths[i]);
}

Test(router, control_bytes_never_match)
{
    /* found by tests/fuzz/fuzz_router.c: a NUL inside a segment made an empty parameter */
    static const char path[] = "/projects/\0\0x";
    struct route_match m;
    cr_expect_eq(router_match(routes, 4, "GET", 3, path, sizeof path - 1, &m), ROUTER_NOT_FOUND);
    cr_expect_eq(match("GET", "/projects/a\tb", &m), ROUTER_NOT_FOUND);
}
