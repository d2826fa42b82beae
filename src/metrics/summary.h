/* The store's part of GET /metrics, cached: whichever scrape finds the copy older than
 * METRICS_SUMMARY_MS refreshes it on its own store connection (one at a time); every other
 * scrape reads the copy. So a scrape never scans a table, and the store is read at most once
 * per interval however many scrapers there are. */
#ifndef VIDGEN_METRICS_SUMMARY_H
#define VIDGEN_METRICS_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

#define METRICS_SUMMARY_MS 2000
#define METRICS_SUMMARY_PROVIDERS 8

struct store;

struct metrics_summary {
    long queued;                                     /* generations waiting at vidgen */
    double oldest_queued_seconds;                    /* how long the oldest of them has waited; 0 when none */
    long credits[4];                                 /* every ledger row so far, summed by enum ledger_kind */
    size_t n_providers;                              /* the registry's remote providers */
    const char *provider[METRICS_SUMMARY_PROVIDERS]; /* static names (providers/registry.h) */
    long in_flight[METRICS_SUMMARY_PROVIDERS];       /* jobs at each provider now */
    bool circuit_open[METRICS_SUMMARY_PROVIDERS];    /* failing: new jobs go elsewhere or wait */
};

/* Copies the summary into *out, refreshing it through `store` (the caller's connection)
 * when stale. VG_OK, or the store's error when a refresh failed (*out then holds the last
 * good copy, zeros before the first). Any thread. */
enum vg_err metrics_summary_get(struct store *store, struct metrics_summary *out, struct vg_error *err);

/* Writes the summary's gauges and counters. */
void metrics_summary_write(FILE *out, const struct metrics_summary *s);

#endif
