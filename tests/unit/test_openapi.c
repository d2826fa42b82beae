/* The OpenAPI document (config/openapi.json, as embedded in the binary) against the router
 * tables the server dispatches with: every (method, pattern) is documented at its path (":id"
 * as "{id}", root routes with their own `servers`), a route that needs a token is documented
 * (an admin's, for /metrics) as needing one and one that does not as open, and the document has no operation the
 * router lacks. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/openapi.h"
#include "api/routes.h"
#include "util/embedded.h"

static json_t *load_doc(void)
{
    const struct embedded_file *f = embedded_find(API_OPENAPI_PATH);
    cr_assert_not_null(f, "%s is not embedded", API_OPENAPI_PATH);
    json_error_t jerr;
    json_t *doc = json_loadb(f->data, f->len, 0, &jerr);
    cr_assert_not_null(doc, "%s: line %d: %s", API_OPENAPI_PATH, jerr.line, jerr.text);
    return doc;
}

/* "/projects/:id" → "/projects/{id}" */
static void openapi_path(const char *pattern, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 3 < cap; p++) {
        if (*p == ':' && p > pattern && p[-1] == '/') {
            size_t n = strcspn(p + 1, "/");
            o += (size_t)snprintf(out + o, cap - o, "{%.*s}", (int)n, p + 1);
            p += n;
        } else
            out[o++] = *p;
    }
    out[o] = '\0';
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* The operation's own security, else the document's. */
static bool needs_credentials(json_t *doc, json_t *operation)
{
    json_t *sec = json_object_get(operation, "security");
    if (sec == NULL)
        sec = json_object_get(doc, "security");
    return json_is_array(sec) && json_array_size(sec) > 0;
}

Test(openapi, every_route_is_documented)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
    const struct api_route_table *tables;
    size_t nt = api_route_tables(&tables), total = 0;
    cr_assert(json_is_object(paths));
    for (size_t t = 0; t < nt; t++) {
        for (size_t i = 0; i < tables[t].n; i++, total++) {
            const struct route *r = &tables[t].routes[i];
            char path[256], method[16];
            openapi_path(r->pattern, path, sizeof path);
            lower(r->method, method, sizeof method);
            json_t *item = json_object_get(paths, path), *operation = json_object_get(item, method);
            cr_assert_not_null(operation, "%s %s%s is not in %s", r->method, tables[t].prefix, r->pattern,
                               API_OPENAPI_PATH);
            json_t *servers = json_object_get(item, "servers");
            const char *server = json_string_value(json_object_get(json_array_get(servers, 0), "url"));
            if (tables[t].prefix[0] == '\0')
                cr_expect(server && strcmp(server, "/") == 0, "%s: a root route needs servers [{url: \"/\"}]", path);
            else
                cr_expect_null(servers, "%s: an API route takes the document's server", path);
            cr_expect_eq(needs_credentials(doc, operation), (r->flags & (API_AUTH | API_ADMIN)) != 0,
                         "%s %s: documented %s a token, the router says otherwise", r->method, path,
                         needs_credentials(doc, operation) ? "with" : "without");
        }
    }
    cr_expect_gt(total, 30);
    json_decref(doc);
}

/* Whether some route of the tables is `method` at `path` (OpenAPI spelling). */
static bool routed(const char *path, const char *method, json_t *item)
{
    const struct api_route_table *tables;
    size_t nt = api_route_tables(&tables);
    json_t *servers = json_object_get(item, "servers");
    const char *server = json_string_value(json_object_get(json_array_get(servers, 0), "url"));
    bool root = server && strcmp(server, "/") == 0;
    for (size_t t = 0; t < nt; t++) {
        if ((tables[t].prefix[0] == '\0') != root)
            continue;
        for (size_t i = 0; i < tables[t].n; i++) {
            char p[256], m[16];
            openapi_path(tables[t].routes[i].pattern, p, sizeof p);
            lower(tables[t].routes[i].method, m, sizeof m);
            if (strcmp(p, path) == 0 && strcmp(m, method) == 0)
                return true;
        }
    }
    return false;
}

Test(openapi, documents_no_route_the_router_lacks)
{
    static const char *methods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    json_t *doc = load_doc(), *item;
    const char *path;
    size_t operations = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (json_object_get(item, methods[k]) == NULL)
                continue;
            operations++;
            cr_expect(routed(path, methods[k], item), "%s %s is documented but no route answers it", methods[k], path);
        }
    }
    cr_expect_gt(operations, 30);
    json_decref(doc);
}

Test(openapi, is_openapi_3_1_with_the_error_shape_and_both_credentials)
{
    json_t *doc = load_doc();
    cr_expect_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *comp = json_object_get(doc, "components");
    json_t *schemes = json_object_get(comp, "securitySchemes");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(schemes, "bearerAuth"), "scheme")), "bearer");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(schemes, "sessionCookie"), "in")), "cookie");
    json_t *err = json_object_get(json_object_get(comp, "schemas"), "Error");
    json_t *req = json_object_get(err, "required");
    cr_expect_eq(json_array_size(req), 2); /* code and message; field only when one is at fault */
    cr_expect_not_null(json_object_get(json_object_get(err, "properties"), "field"));
    json_decref(doc);
}
