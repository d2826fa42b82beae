#include "http/head.h"

#include <dlfcn.h>
#include <h2o.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* picohttpparser's, as libh2o-evloop 2.2 exports it (its header is not installed). */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
typedef int (*phr_parse_request_fn)(const char *buf, size_t len, const char **method, size_t *method_len,
                                    const char **path, size_t *path_len, int *minor_version, struct phr_header *headers,
                                    size_t *num_headers, size_t last_len);

static phr_parse_request_fn real_parse;
static pthread_once_t real_parse_once = PTHREAD_ONCE_INIT;
static http_head_defers_body defers_body;

/* A value h2o refuses with 400 in either framing header. */
static const char refused_value[] = "conflicting";

static void find_real_parse(void)
{
    real_parse = (phr_parse_request_fn)dlsym(RTLD_NEXT, "phr_parse_request");
    if (real_parse == NULL) {
        fprintf(stderr, "vidgen: phr_parse_request not found in libh2o: %s\n", dlerror());
        abort();
    }
}

void http_head_init(http_head_defers_body fn)
{
    pthread_once(&real_parse_once, find_real_parse);
    defers_body = fn;
}

static bool named(const struct phr_header *h, const char *lower, size_t len)
{
    return h->name != NULL && h2o_lcstris(h->name, h->name_len, lower, len);
}

/* The framing headers of a parsed head; a client's HTTP_HEAD_DEFERRED_HEADER is dropped. */
struct framing {
    struct phr_header *length; /* the first Content-Length */
    struct phr_header *chunked;
    bool conflict;
    bool upgrade;
};

static struct framing read_framing(struct phr_header *headers, size_t *num_headers)
{
    struct framing f = {0};
    size_t kept = 0;
    for (size_t i = 0; i < *num_headers; i++) {
        struct phr_header *h = &headers[i];
        if (named(h, H2O_STRLIT(HTTP_HEAD_DEFERRED_HEADER)))
            continue;
        headers[kept] = *h;
        h = &headers[kept++];
        if (named(h, H2O_STRLIT("content-length"))) {
            if (f.length == NULL)
                f.length = h;
            else if (!h2o_memis(f.length->value, f.length->value_len, h->value, h->value_len))
                f.conflict = true;
        } else if (named(h, H2O_STRLIT("transfer-encoding"))) {
            f.chunked = h;
        } else if (named(h, H2O_STRLIT("upgrade"))) {
            f.upgrade = true;
        }
    }
    *num_headers = kept;
    if (f.length != NULL && f.chunked != NULL)
        f.conflict = true;
    return f;
}

/* Hands the body to the handler: h2o sees Content-Length 0 (so it copies the head out of
 * its input buffer, as for any body) and the real length comes in the added header. */
static void defer(struct framing *f, struct phr_header *headers, size_t *num_headers, size_t capacity, int head_len)
{
    static __thread char name[] = HTTP_HEAD_DEFERRED_HEADER; /* h2o lower-cases names in place */
    static __thread char value[64];                          /* h2o copies it before this returns */
    size_t length = h2o_strtosize(f->length->value, f->length->value_len);
    if (length == SIZE_MAX || length == 0 || *num_headers >= capacity)
        return;
    int n = snprintf(value, sizeof value, "%zu %d", length, head_len);
    f->length->value = "0";
    f->length->value_len = 1;
    headers[*num_headers] = (struct phr_header){name, sizeof name - 1, value, (size_t)n};
    ++*num_headers;
}

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len)
{
    pthread_once(&real_parse_once, find_real_parse);
    size_t capacity = *num_headers;
    int ret = real_parse(buf, len, method, method_len, path, path_len, minor_version, headers, num_headers, last_len);
    if (ret <= 0)
        return ret;
    struct framing f = read_framing(headers, num_headers);
    if (f.conflict) {
        struct phr_header *h = f.chunked != NULL ? f.chunked : f.length; /* the one h2o goes by */
        h->value = refused_value;
        h->value_len = sizeof refused_value - 1;
    } else if (f.length != NULL && f.chunked == NULL && !f.upgrade && defers_body != NULL &&
               defers_body(*method, *method_len, *path, *path_len)) {
        defer(&f, headers, num_headers, capacity, ret);
    }
    return ret;
}
