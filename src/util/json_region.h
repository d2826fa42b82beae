/* Short-lived JSON trees without malloc. A provider's reply is parsed into a jansson tree,
 * read into a struct remote_reply and freed at once, thousands of times a second in the
 * worker's loop: ~65 mallocs and frees for a 470-byte ModelsLab poll reply, which in a heap
 * holding 10,000 jobs took glibc's slow paths (bench/README.md, "CPU per poll").
 *
 * While json_region_loadb parses, jansson takes its memory from the calling thread's region,
 * a fixed block reused from its start once every value in it has been freed. Freeing such a
 * value (json_decref) only counts it. Everything else jansson allocates goes to malloc as
 * before: trees built by code, json_dumps's text (which callers free() as usual), and a parse
 * the region cannot hold. A tree from json_region_loadb must be freed on the thread that
 * parsed it. Sanitizer builds leave jansson on malloc, so that the sanitizers see its memory. */
#ifndef VIDGEN_UTIL_JSON_REGION_H
#define VIDGEN_UTIL_JSON_REGION_H

#include <jansson.h>
#include <stdbool.h>

#define JSON_REGION_BYTES 16384

/* Gives jansson the region's allocation functions: once, before any thread starts and
 * before jansson allocates anything. Without it, json_region_loadb is json_loadb. */
void json_region_install(void);

/* json_loadb, with the tree in this thread's region when installed. */
json_t *json_region_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);

/* Whether `p` lies in the calling thread's region (for tests). */
bool json_region_holds(const void *p);

#endif
