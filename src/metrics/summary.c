#include "metrics/summary.h"

#include <pthread.h>

#include "providers/registry.h"
#include "store/store.h"
#include "util/id.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_summary cached;
static long ledger_after; /* the last ledger id summed into cached.credits */
static int64_t cached_at; /* when cached was read; 0 = never */

/* Under the lock. The ledger totals only grow by the new rows' sums, so a failed read
 * leaves them as they were. */
static enum vg_err refresh(struct store *store, int64_t now, struct vg_error *err)
{
    struct store_summary io = {.ledger_after = ledger_after};
    struct metrics_summary next = cached;
    enum vg_err e = store_summary(store, &io, err);
    if (e != VG_OK)
        return e;
    next.n_providers = 0;
    for (size_t i = 0; i < provider_count() && next.n_providers < METRICS_SUMMARY_PROVIDERS; i++) {
        const struct provider *p = provider_at(i);
        if (p->kind != PROVIDER_HTTP)
            continue;
        next.provider[next.n_providers] = p->name;
        struct provider_health h;
        if ((e = store_provider_in_flight(store, p->name, &next.in_flight[next.n_providers], err)) != VG_OK ||
            (e = store_provider_health_get(store, p->name, &h, err)) != VG_OK)
            return e;
        next.circuit_open[next.n_providers] = now < h.open_until;
        next.n_providers++;
    }
    next.queued = io.queued;
    next.oldest_queued_seconds =
        io.oldest_queued_at > 0 && now > io.oldest_queued_at ? (double)(now - io.oldest_queued_at) / 1000.0 : 0;
    for (int k = 0; k < 4; k++)
        next.credits[k] += io.credits[k];
    cached = next;
    ledger_after = io.ledger_after;
    cached_at = now;
    return VG_OK;
}

enum vg_err metrics_summary_get(struct store *store, struct metrics_summary *out, struct vg_error *err)
{
    enum vg_err e = VG_OK;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&lock);
    if (cached_at == 0 || now - cached_at >= METRICS_SUMMARY_MS)
        e = refresh(store, now, err);
    *out = cached;
    pthread_mutex_unlock(&lock);
    return e;
}

void metrics_summary_write(FILE *out, const struct metrics_summary *s)
{
    fprintf(out,
            "# HELP vidgen_queue_depth Generations waiting at vidgen, not yet at a provider.\n"
            "# TYPE vidgen_queue_depth gauge\nvidgen_queue_depth %ld\n"
            "# HELP vidgen_queue_oldest_age_seconds How long the oldest waiting generation has waited.\n"
            "# TYPE vidgen_queue_oldest_age_seconds gauge\nvidgen_queue_oldest_age_seconds %.3f\n",
            s->queued, s->oldest_queued_seconds);
    fputs("# HELP vidgen_provider_jobs_in_flight Jobs submitted to each provider and not yet ended.\n"
          "# TYPE vidgen_provider_jobs_in_flight gauge\n",
          out);
    for (size_t i = 0; i < s->n_providers; i++)
        fprintf(out, "vidgen_provider_jobs_in_flight{provider=\"%s\"} %ld\n", s->provider[i], s->in_flight[i]);
    fputs("# HELP vidgen_provider_circuit_open 1 while a provider's circuit is open (it failed too often).\n"
          "# TYPE vidgen_provider_circuit_open gauge\n",
          out);
    for (size_t i = 0; i < s->n_providers; i++)
        fprintf(out, "vidgen_provider_circuit_open{provider=\"%s\"} %d\n", s->provider[i], s->circuit_open[i] ? 1 : 0);
    /* Charges are negative in the ledger; counters only go up, so they show as credits charged. */
    fprintf(out,
            "# HELP vidgen_credits_charged_total Credits charged for generations.\n"
            "# TYPE vidgen_credits_charged_total counter\nvidgen_credits_charged_total %ld\n"
            "# HELP vidgen_credits_refunded_total Credits refunded for failed or cancelled generations.\n"
            "# TYPE vidgen_credits_refunded_total counter\nvidgen_credits_refunded_total %ld\n"
            "# HELP vidgen_credits_granted_total Credits granted to users.\n"
            "# TYPE vidgen_credits_granted_total counter\nvidgen_credits_granted_total %ld\n"
            "# HELP vidgen_credits_adjusted Net credits of manual adjustments (either sign).\n"
            "# TYPE vidgen_credits_adjusted gauge\nvidgen_credits_adjusted %ld\n",
            -s->credits[LEDGER_CHARGE], s->credits[LEDGER_REFUND], s->credits[LEDGER_GRANT], s->credits[LEDGER_ADJUST]);
}
