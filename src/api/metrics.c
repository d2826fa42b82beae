#include "api/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api/routes.h"
#include "events/bus.h"
#include "metrics/metrics.h"
#include "metrics/process.h"
#include "metrics/summary.h"

struct api_metrics_req {
    h2o_req_t *req;
    unsigned route;
};

/* The route's index across the tables taken in order, as the metrics cells count it. */
static unsigned route_index(const struct route *r)
{
    const struct api_route_table *tables;
    size_t nt = api_route_tables(&tables), base = 0;
    for (size_t t = 0; t < nt; base += tables[t].n, t++) {
        if (r < tables[t].routes || r >= tables[t].routes + tables[t].n)
            continue;
        size_t i = base + (size_t)(r - tables[t].routes);
        return i < METRICS_UNMATCHED ? (unsigned)i : METRICS_UNMATCHED;
    }
    return METRICS_UNMATCHED;
}

static const char *route_label(unsigned i, char *buf, size_t cap)
{
    const struct api_route_table *tables;
    size_t nt = api_route_tables(&tables);
    if (i == METRICS_UNMATCHED)
        return "method=\"\",route=\"none\"";
    for (size_t t = 0; t < nt; i -= (unsigned)tables[t].n, t++)
        if (i < tables[t].n) {
            snprintf(buf, cap, "method=\"%s\",route=\"%s\"", tables[t].routes[i].method, tables[t].routes[i].pattern);
            return buf;
        }
    return NULL;
}

/* h2o clears a request's pool when it is done with the request: the status is final. */
static void on_request_done(void *p)
{
    struct api_metrics_req *t = p;
    struct timeval now;
    gettimeofday(&now, NULL);
    const struct timeval *begin = &t->req->timestamps.request_begin_at;
    double seconds = (double)(now.tv_sec - begin->tv_sec) + (double)(now.tv_usec - begin->tv_usec) / 1e6;
    metrics_http_observe(t->route, t->req->res.status, seconds);
}

struct api_metrics_req *api_metrics_begin(h2o_req_t *req)
{
    if (!metrics_enabled())
        return NULL; /* VIDGEN_METRICS=off: nothing counted */
    struct api_metrics_req *t = h2o_mem_alloc_shared(&req->pool, sizeof *t, on_request_done);
    t->req = req;
    t->route = METRICS_UNMATCHED;
    return t;
}

void api_metrics_route(struct api_metrics_req *t, const struct route *r)
{
    if (t != NULL)
        t->route = route_index(r);
}

int api_metrics(struct api_call *c)
{
    struct metrics_summary summary;
    struct vg_error err;
    char *page = NULL;
    size_t len = 0;
    if (!metrics_enabled())
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "metrics are off (VIDGEN_METRICS=off)");
    if (metrics_summary_get(c->t->store, &summary, &err) != VG_OK)
        return api_fail(c, &err);
    FILE *out = open_memstream(&page, &len);
    if (out == NULL)
        return api_fail_with(c, VG_ERR_INTERNAL, "", "out of memory");
    metrics_http_write(out, route_label);
    metrics_jobs_write(out);
    metrics_cost_write(out);
    metrics_summary_write(out, &summary);
    fprintf(out,
            "# HELP vidgen_sse_streams_open Server-Sent Events streams open now.\n"
            "# TYPE vidgen_sse_streams_open gauge\nvidgen_sse_streams_open %ld\n",
            events_streams_open(c->t->api->bus));
    metrics_process_write(out);
    if (fclose(out) != 0 || page == NULL) {
        free(page);
        return api_fail_with(c, VG_ERR_INTERNAL, "", "out of memory");
    }
    char *body = h2o_mem_alloc_pool(&c->req->pool, len + 1);
    memcpy(body, page, len);
    free(page);
    return api_send_bytes(c->req, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}
