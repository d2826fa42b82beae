/* Process-wide counters behind GET /metrics (Prometheus text format, api/metrics.h).
 *
 * Every cell is a relaxed atomic that the thread which sees the event adds to: an HTTP loop
 * for requests, the worker for provider requests and ended generations. Nothing here takes
 * a lock on the hot path or reads the store; a scrape reads each cell once. The worker runs
 * in the same process as the server by default (`vidgen serve`), so one set of cells serves
 * both; a separate `vidgen worker` process counts its own (not scraped).
 *
 * Label sets are bounded: routes by the router's tables (their index, METRICS_ROUTES at most),
 * HTTP statuses 100..599, providers by the registry, (model, provider) pairs at most
 * METRICS_MODEL_PAIRS (more share the pair "other"). */
#ifndef VIDGEN_METRICS_METRICS_H
#define VIDGEN_METRICS_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_ROUTES 64 /* route index METRICS_ROUTES - 1 is "no route matched" */
#define METRICS_UNMATCHED (METRICS_ROUTES - 1)
#define METRICS_BUCKETS 12 /* histogram upper bounds, +Inf not counted among them */
#define METRICS_MODEL_PAIRS 64
#define METRICS_PROVIDERS 8 /* the registry's first providers; more are not counted */

/* A latency histogram in seconds; cells are per bucket (not cumulative) until written. */
struct metrics_histogram {
    atomic_uint_fast64_t buckets[METRICS_BUCKETS + 1]; /* the last is +Inf only */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

void metrics_histogram_observe(struct metrics_histogram *h, double seconds);
/* Writes `name`_bucket/_sum/_count lines; `labels` is "" or `a="b",c="d"` (no braces). */
void metrics_histogram_write(FILE *out, const char *name, const char *labels, const struct metrics_histogram *h);

/* Whether HTTP requests are counted and GET /metrics answers (VIDGEN_METRICS); on by default.
 * Set once at start, before any thread serves. */
void metrics_set_enabled(bool on);
bool metrics_enabled(void);

/* One HTTP request answered: its route index (api/routes.h) and status, and how long it took. */
void metrics_http_observe(unsigned route, int status, double seconds);
/* Writes vidgen_http_requests_total and vidgen_http_request_duration_seconds; route_label(i)
 * gives route i's `method="GET",route="/models"` labels, NULL for an index not in use. */
void metrics_http_write(FILE *out, const char *(*route_label)(unsigned i, char *buf, size_t cap));

/* A generation reached a final status ("completed", "failed", "cancelled"). */
void metrics_generation_ended(const char *model, const char *provider, const char *status);

/* One request to a remote provider ended: `step` is submit/poll/download/cancel/lookup;
 * `transport_failed` with `timed_out` when no reply came; else its HTTP status. */
void metrics_provider_request(const char *provider, const char *step, int transport_failed, int timed_out,
                              long http_status, double seconds);

/* A job will be tried again at the same provider after a transient fault (`fell_back`
 * false), or moves on to the next route of its model (true). */
void metrics_provider_retry(const char *provider, int fell_back);

/* The registry index of provider `name` (providers/registry.h), or -1 when it is not among
 * the first METRICS_PROVIDERS. */
int metrics_provider_index(const char *name);

/* A provider said a job cost `micros` millionths of `unit` more than it had said before
 * (store_attempt_cost's `added`); units other than remote_cost_unit_name's are not counted. */
void metrics_provider_cost(const char *provider, const char *unit, int64_t micros);
/* Writes vidgen_provider_cost_total{provider,unit} for every provider and unit seen. */
void metrics_cost_write(FILE *out);

/* Writes vidgen_generations_total, vidgen_provider_retries_total, vidgen_provider_fallbacks_total,
 * vidgen_provider_requests_total, vidgen_provider_request_duration_seconds and vidgen_provider_failures_total. */
void metrics_jobs_write(FILE *out);

#endif
