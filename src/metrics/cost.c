/* What providers say their jobs cost, in each provider's own unit (Eden AI: US dollars,
 * Runway: credits, Kling: resource pack units; providers/remote.h). The worker adds what
 * each reply adds to its attempt's recorded cost (store_attempt_cost), so that the counter
 * grows by what the attempts' costs grew by. Kept in millionths, written as a decimal. */
#include <stdatomic.h>
#include <string.h>

#include "metrics/metrics.h"
#include "providers/registry.h"
#include "providers/remote.h"

static atomic_uint_fast64_t cost_micros[METRICS_PROVIDERS][REMOTE_COST_UNIT_COUNT];
static atomic_bool cost_seen[METRICS_PROVIDERS][REMOTE_COST_UNIT_COUNT];

static int unit_index(const char *unit)
{
    for (int u = 1; u < REMOTE_COST_UNIT_COUNT; u++)
        if (strcmp(remote_cost_unit_name((enum remote_cost_unit)u), unit) == 0)
            return u;
    return -1;
}

void metrics_provider_cost(const char *provider, const char *unit, int64_t micros)
{
    int p = metrics_provider_index(provider), u = unit_index(unit);
    if (p < 0 || u < 0 || micros < 0)
        return;
    atomic_fetch_add_explicit(&cost_micros[p][u], (uint64_t)micros, memory_order_relaxed);
    atomic_store_explicit(&cost_seen[p][u], true, memory_order_relaxed);
}

void metrics_cost_write(FILE *out)
{
    fputs("# HELP vidgen_provider_cost_total What providers reported their jobs cost, in each provider's unit.\n"
          "# TYPE vidgen_provider_cost_total counter\n",
          out);
    for (size_t p = 0; p < provider_count() && p < METRICS_PROVIDERS; p++)
        for (int u = 1; u < REMOTE_COST_UNIT_COUNT; u++) {
            if (!atomic_load_explicit(&cost_seen[p][u], memory_order_relaxed))
                continue;
            uint64_t m = atomic_load_explicit(&cost_micros[p][u], memory_order_relaxed);
            fprintf(out, "vidgen_provider_cost_total{provider=\"%s\",unit=\"%s\"} %llu.%06llu\n", provider_at(p)->name,
                    remote_cost_unit_name((enum remote_cost_unit)u), (unsigned long long)(m / 1000000),
                    (unsigned long long)(m % 1000000));
        }
}
