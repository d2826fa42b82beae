/* JSON views of stored records, in the seed's field names (camelCase). Each returns a new
 * reference the caller owns. */
#ifndef VIDGEN_API_VIEWS_H
#define VIDGEN_API_VIEWS_H

#include <jansson.h>

#include "store/store.h"

json_t *view_generation(const struct generation *g);
/* A generation's attempt history (store_generation_attempts), oldest first. */
json_t *view_attempts(const struct attempt_list *l);
/* The short form of GET /generations/:id/status and of live events. */
json_t *view_status(const struct generation *g);
/* A project with its newest generations, their total (generationCount) and, when there are
 * more, the cursor for GET /generations?projectId=&before= (generationsNextCursor). */
json_t *view_project(const struct project_summary *p);

#endif
