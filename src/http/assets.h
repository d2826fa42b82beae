/* The web app's files, compiled into the binary at build time (tools/web_build.sh), and
 * how they are served: correct Content-Type, a strong ETag (304 on If-None-Match), gzip
 * when the client takes it and it is smaller, a strict Content-Security-Policy, and
 * caching by name: "/" is revalidated on every load, everything under /assets/<hash>/ is
 * immutable, since its name changes whenever any byte of it does. */
#ifndef VIDGEN_HTTP_ASSETS_H
#define VIDGEN_HTTP_ASSETS_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

struct http_asset {
    const char *path; /* "/" or "/assets/<hash>/…" */
    const char *type; /* Content-Type */
    const char *etag; /* quoted, strong: of the uncompressed bytes */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz; /* the same gzipped; NULL when not worth it */
    size_t gz_len;
    bool immutable;
};

/* Generated; terminated by an entry whose path is NULL. Static, never freed. */
extern const struct http_asset http_assets[];

/* The asset at `path` (`len` bytes, no query), or NULL. */
const struct http_asset *http_asset_find(const char *path, size_t len);

/* Answers a GET or HEAD for the asset `a`. Returns 0 (h2o's "handled"). */
int http_asset_send(h2o_req_t *req, const struct http_asset *a);

#endif
