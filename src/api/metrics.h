/* GET /metrics: the Prometheus text format, for an admin's token only (anyone else gets
 * 404, as for a route that does not exist). What it shows is in the headers under metrics/; this file
 * counts the HTTP requests themselves and puts the page together. */
#ifndef VIDGEN_API_METRICS_H
#define VIDGEN_API_METRICS_H

#include "api/call.h"

struct api_metrics_req;

/* Starts counting `req`: when h2o is done with it (its pool is cleared), its route, status
 * and time from its first byte are counted (metrics_http_observe). Allocated from the
 * request's pool; NULL when that fails or VIDGEN_METRICS is off (the request is then not
 * counted). */
struct api_metrics_req *api_metrics_begin(h2o_req_t *req);
/* The route the request matched (else it counts as unmatched). `t` may be NULL. */
void api_metrics_route(struct api_metrics_req *t, const struct route *r);

int api_metrics(struct api_call *c);

#endif
