#include "metrics/metrics.h"

#include <pthread.h>
#include <string.h>

#include "providers/registry.h"

#define STATUS_MIN 100
#define STATUS_SLOTS 500 /* 100..599 */
#define STEPS 5

static const double bounds[METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const char *const steps[STEPS] = {"submit", "poll", "download", "cancel", "lookup"};
enum failure { FAIL_TIMEOUT, FAIL_NETWORK, FAIL_RATE_LIMITED, FAIL_CLIENT, FAIL_SERVER, FAILURE_KINDS };
static const char *const failures[FAILURE_KINDS] = {"timeout", "network", "rate_limited", "http_4xx", "http_5xx"};
static const char *const ends[] = {"completed", "failed", "cancelled"};
#define ENDS (sizeof ends / sizeof ends[0])

static bool enabled = true;

void metrics_set_enabled(bool on)
{
    enabled = on;
}

bool metrics_enabled(void)
{
    return enabled;
}

static atomic_uint_fast64_t http_requests[METRICS_ROUTES][STATUS_SLOTS];
static struct metrics_histogram http_latency;

static struct metrics_histogram provider_latency[METRICS_PROVIDERS][STEPS];
static atomic_uint_fast64_t provider_failures[METRICS_PROVIDERS][FAILURE_KINDS];
static atomic_uint_fast64_t provider_retries[METRICS_PROVIDERS][2]; /* [0] retried there, [1] fell back */

/* (model, provider) pairs in the order first seen; an entry is written once, under the lock,
 * before `pairs_used` publishes it, and never changes after. Pairs past the table, or with
 * names that cannot be label values as they are, count as `other`. */
struct pair {
    char model[64], provider[32];
    atomic_uint_fast64_t ended[ENDS];
};
static struct pair pairs[METRICS_MODEL_PAIRS];
static struct pair other = {.model = "other", .provider = "other"};
static atomic_uint pairs_used;
static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;

static void add(atomic_uint_fast64_t *cell, uint64_t n)
{
    atomic_fetch_add_explicit(cell, n, memory_order_relaxed);
}

static uint64_t get(const atomic_uint_fast64_t *cell)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)cell, memory_order_relaxed);
}

void metrics_histogram_observe(struct metrics_histogram *h, double seconds)
{
    int b = 0;
    while (b < METRICS_BUCKETS && seconds > bounds[b])
        b++;
    add(&h->buckets[b], 1);
    add(&h->count, 1);
    add(&h->sum_us, seconds > 0 ? (uint64_t)(seconds * 1e6) : 0);
}

void metrics_histogram_write(FILE *out, const char *name, const char *labels, const struct metrics_histogram *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cumulative = 0;
    for (int b = 0; b <= METRICS_BUCKETS; b++) {
        cumulative += get(&h->buckets[b]);
        if (b < METRICS_BUCKETS)
            fprintf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[b],
                    (unsigned long long)cumulative);
        else
            fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cumulative);
    }
    /* The count is the +Inf bucket's, read once, so that the two always agree. */
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    fprintf(out, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels, close, (double)get(&h->sum_us) / 1e6,
            name, open, labels, close, (unsigned long long)cumulative);
}

void metrics_http_observe(unsigned route, int status, double seconds)
{
    if (route >= METRICS_ROUTES)
        route = METRICS_UNMATCHED;
    if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SLOTS)
        add(&http_requests[route][status - STATUS_MIN], 1);
    metrics_histogram_observe(&http_latency, seconds);
}

void metrics_http_write(FILE *out, const char *(*route_label)(unsigned i, char *buf, size_t cap))
{
    char buf[160];
    fputs("# HELP vidgen_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE vidgen_http_requests_total counter\n",
          out);
    for (unsigned r = 0; r < METRICS_ROUTES; r++) {
        const char *labels = route_label(r, buf, sizeof buf);
        for (int s = 0; labels != NULL && s < STATUS_SLOTS; s++) {
            uint64_t n = get(&http_requests[r][s]);
            if (n > 0)
                fprintf(out, "vidgen_http_requests_total{%s,status=\"%d\"} %llu\n", labels, s + STATUS_MIN,
                        (unsigned long long)n);
        }
    }
    fputs("# HELP vidgen_http_request_duration_seconds Time from a request's first byte to its last reply byte.\n"
          "# TYPE vidgen_http_request_duration_seconds histogram\n",
          out);
    metrics_histogram_write(out, "vidgen_http_request_duration_seconds", "", &http_latency);
}

/* Whether `s` can be a label value as it is: short, and nothing to escape. */
static int label_safe(const char *s, size_t cap)
{
    size_t n = strcspn(s, "\"\\\n");
    return s[n] == '\0' && n < cap;
}

static struct pair *find(const char *model, const char *provider, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(pairs[i].model, model) == 0 && strcmp(pairs[i].provider, provider) == 0)
            return &pairs[i];
    return NULL;
}

static struct pair *pair_of(const char *model, const char *provider)
{
    if (!label_safe(model, sizeof other.model) || !label_safe(provider, sizeof other.provider))
        return &other;
    struct pair *p = find(model, provider, atomic_load_explicit(&pairs_used, memory_order_acquire));
    if (p != NULL)
        return p;
    pthread_mutex_lock(&pairs_lock);
    unsigned n = atomic_load_explicit(&pairs_used, memory_order_relaxed);
    if ((p = find(model, provider, n)) == NULL && n < METRICS_MODEL_PAIRS) {
        p = &pairs[n];
        snprintf(p->model, sizeof p->model, "%s", model);
        snprintf(p->provider, sizeof p->provider, "%s", provider);
        atomic_store_explicit(&pairs_used, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&pairs_lock);
    return p != NULL ? p : &other;
}

void metrics_generation_ended(const char *model, const char *provider, const char *status)
{
    for (size_t e = 0; e < ENDS; e++)
        if (strcmp(status, ends[e]) == 0)
            add(&pair_of(model ? model : "", provider ? provider : "")->ended[e], 1);
}

int metrics_provider_index(const char *name)
{
    for (size_t i = 0; i < provider_count() && i < METRICS_PROVIDERS; i++)
        if (strcmp(provider_at(i)->name, name) == 0)
            return (int)i;
    return -1;
}

void metrics_provider_request(const char *provider, const char *step, int transport_failed, int timed_out,
                              long http_status, double seconds)
{
    int p = metrics_provider_index(provider), s = 0;
    while (s < STEPS && strcmp(steps[s], step) != 0)
        s++;
    if (p < 0 || s == STEPS)
        return;
    metrics_histogram_observe(&provider_latency[p][s], seconds);
    int kind = transport_failed     ? (timed_out ? FAIL_TIMEOUT : FAIL_NETWORK)
               : http_status == 429 ? FAIL_RATE_LIMITED
               : http_status >= 500 ? FAIL_SERVER
               : http_status >= 400 ? FAIL_CLIENT
                                    : -1;
    if (kind >= 0)
        add(&provider_failures[p][kind], 1);
}

void metrics_provider_retry(const char *provider, int fell_back)
{
    int p = metrics_provider_index(provider);
    if (p >= 0)
        add(&provider_retries[p][fell_back ? 1 : 0], 1);
}

static void write_retries(FILE *out)
{
    static const char *const names[2] = {"vidgen_provider_retries_total", "vidgen_provider_fallbacks_total"};
    static const char *const help[2] = {"Jobs tried again at the same provider after a transient fault.",
                                        "Jobs that moved on from this provider to the next route of their model."};
    for (int k = 0; k < 2; k++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", names[k], help[k], names[k]);
        for (size_t p = 0; p < provider_count() && p < METRICS_PROVIDERS; p++)
            if (provider_at(p)->kind == PROVIDER_HTTP)
                fprintf(out, "%s{provider=\"%s\"} %llu\n", names[k], provider_at(p)->name,
                        (unsigned long long)get(&provider_retries[p][k]));
    }
}

static void write_generations(FILE *out)
{
    fputs("# HELP vidgen_generations_total Generations that reached a final status, by model and provider.\n"
          "# TYPE vidgen_generations_total counter\n",
          out);
    unsigned n = atomic_load_explicit(&pairs_used, memory_order_acquire);
    for (unsigned i = 0; i <= n; i++) {
        const struct pair *p = i < n ? &pairs[i] : &other;
        if (p == &other && get(&other.ended[0]) + get(&other.ended[1]) + get(&other.ended[2]) == 0)
            break;
        for (size_t e = 0; e < ENDS; e++)
            fprintf(out, "vidgen_generations_total{model=\"%s\",provider=\"%s\",status=\"%s\"} %llu\n", p->model,
                    p->provider, ends[e], (unsigned long long)get(&p->ended[e]));
    }
}

void metrics_jobs_write(FILE *out)
{
    char labels[96];
    write_generations(out);
    write_retries(out);
    fputs("# HELP vidgen_provider_request_duration_seconds Requests to remote providers, by step, reply or not.\n"
          "# TYPE vidgen_provider_request_duration_seconds histogram\n",
          out);
    for (size_t p = 0; p < provider_count() && p < METRICS_PROVIDERS; p++)
        for (int s = 0; s < STEPS; s++)
            if (get(&provider_latency[p][s].count) > 0) {
                snprintf(labels, sizeof labels, "provider=\"%s\",step=\"%s\"", provider_at(p)->name, steps[s]);
                metrics_histogram_write(out, "vidgen_provider_request_duration_seconds", labels,
                                        &provider_latency[p][s]);
            }
    fputs("# HELP vidgen_provider_failures_total Provider requests that failed, by kind.\n"
          "# TYPE vidgen_provider_failures_total counter\n",
          out);
    for (size_t p = 0; p < provider_count() && p < METRICS_PROVIDERS; p++)
        for (int k = 0; k < FAILURE_KINDS && provider_at(p)->kind == PROVIDER_HTTP; k++)
            fprintf(out, "vidgen_provider_failures_total{provider=\"%s\",kind=\"%s\"} %llu\n", provider_at(p)->name,
                    failures[k], (unsigned long long)get(&provider_failures[p][k]));
}
