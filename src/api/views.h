/* JSON views of stored records, in the seed's field names (camelCase). Each returns a new
 * reference the caller owns. */
#ifndef VIDGEN_API_VIEWS_H
#define VIDGEN_API_VIEWS_H

#include <jansson.h>

#include "store/store.h"

json_t *view_generation(const struct generation *g);
/* The short form of GET /generations/:id/status and of live events. */
json_t *view_status(const struct generation *g);
/* A project with `gens` (those whose project_id matches are included). */
json_t *view_project(const struct project *p, const struct generation_list *gens);

#endif
