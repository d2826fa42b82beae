#include "http/router.h"

#include <string.h>

/* Splits "/a/b/c" into segments; false when there are too many. Empty segments (a
 * trailing or doubled slash) are kept, so "/projects/" does not match "/projects". */
static int split(const char *path, size_t len, const char *seg[], size_t seglen[])
{
    int n = 0;
    if (len == 0 || path[0] != '/')
        return -1;
    for (size_t k = 0; k < len; k++) /* control bytes (NUL among them) are never in a route */
        if ((unsigned char)path[k] < 0x20 || path[k] == 0x7f)
            return -1;
    size_t i = 1, start = 1;
    for (;; i++) {
        if (i == len || path[i] == '/') {
            if (n == ROUTER_MAX_SEGMENTS)
                return -1;
            seg[n] = path + start, seglen[n] = i - start, n++;
            start = i + 1;
            if (i == len)
                break;
        }
    }
    return n;
}

/* Matches one pattern; fills captured parameters into `out` when it does. */
static int match_pattern(const char *pattern, const char *seg[], const size_t seglen[], int nseg,
                         struct route_match *out)
{
    const char *pseg[ROUTER_MAX_SEGMENTS];
    size_t plen[ROUTER_MAX_SEGMENTS];
    int np = split(pattern, strlen(pattern), pseg, plen);
    if (np != nseg)
        return 0;
    for (int i = 0; i < np; i++) {
        if (pseg[i][0] == ':' ? seglen[i] == 0 : plen[i] != seglen[i] || memcmp(pseg[i], seg[i], seglen[i]) != 0)
            return 0;
    }
    if (out == NULL)
        return 1;
    size_t used = 0;
    out->n_params = 0;
    for (int i = 0; i < np; i++) {
        if (pseg[i][0] != ':')
            continue;
        size_t namelen = plen[i] - 1;
        if (out->n_params == ROUTER_MAX_PARAMS || used + namelen + seglen[i] + 2 > sizeof out->buf)
            return 0;
        out->name_at[out->n_params] = (unsigned short)used;
        memcpy(out->buf + used, pseg[i] + 1, namelen);
        out->buf[used + namelen] = '\0';
        used += namelen + 1;
        out->value_at[out->n_params++] = (unsigned short)used;
        memcpy(out->buf + used, seg[i], seglen[i]);
        out->buf[used + seglen[i]] = '\0';
        used += seglen[i] + 1;
    }
    return 1;
}

/* Appends `method` to the comma-separated list unless it is there already. */
static void add_allowed(char *allow, size_t cap, const char *method)
{
    size_t len = strlen(allow), mlen = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    if (len + mlen + 3 > cap)
        return;
    if (len > 0)
        memcpy(allow + len, ", ", 2), len += 2;
    memcpy(allow + len, method, mlen + 1);
}

enum router_result router_match(const struct route *routes, size_t n, const char *method, size_t method_len,
                                const char *path, size_t path_len, struct route_match *out)
{
    const char *seg[ROUTER_MAX_SEGMENTS];
    size_t seglen[ROUTER_MAX_SEGMENTS];
    int nseg = split(path, path_len, seg, seglen);
    enum router_result result = ROUTER_NOT_FOUND;
    out->allow[0] = '\0';
    if (nseg < 0)
        return ROUTER_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (strlen(routes[i].method) != method_len || memcmp(routes[i].method, method, method_len) != 0) {
            if (match_pattern(routes[i].pattern, seg, seglen, nseg, NULL)) {
                result = ROUTER_BAD_METHOD;
                add_allowed(out->allow, sizeof out->allow, routes[i].method);
            }
            continue;
        }
        if (match_pattern(routes[i].pattern, seg, seglen, nseg, out)) {
            out->route = &routes[i];
            return ROUTER_FOUND;
        }
    }
    return result;
}

const char *route_param(const struct route_match *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->buf + m->name_at[i], name) == 0)
            return m->buf + m->value_at[i];
    return NULL;
}
