/* Files compiled into the binary at build time (tools/embed.sh): the model catalog
 * and the schema migrations, so that one binary runs anywhere. */
#ifndef VIDGEN_UTIL_EMBEDDED_H
#define VIDGEN_UTIL_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *path; /* as given to tools/embed.sh, e.g. "config/catalog.json" */
    const char *data; /* NUL-terminated; static, never freed */
    size_t len;       /* without the NUL */
};

/* Terminated by an entry whose path is NULL. */
extern const struct embedded_file embedded_files[];

/* The embedded file at `path`, or NULL. */
const struct embedded_file *embedded_find(const char *path);

#endif
