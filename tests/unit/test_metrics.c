/* The metrics cells and how they are written: cumulative histogram buckets whose +Inf equals
 * the count, provider failures sorted by kind, ended generations by (model, provider). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

static char *written(void (*write)(FILE *, const char *, const char *, const struct metrics_histogram *),
                     const struct metrics_histogram *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    write(f, "t_seconds", "a=\"b\"", h);
    fclose(f);
    return buf;
}

Test(metrics, histogram_buckets_are_cumulative)
{
    static struct metrics_histogram h;
    metrics_histogram_observe(&h, 0.001); /* le 0.005 */
    metrics_histogram_observe(&h, 0.2);   /* le 0.25 */
    metrics_histogram_observe(&h, 100);   /* +Inf only */
    char *page = written(metrics_histogram_write, &h);
    cr_expect(strstr(page, "t_seconds_bucket{a=\"b\",le=\"0.005\"} 1\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_bucket{a=\"b\",le=\"0.1\"} 1\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_bucket{a=\"b\",le=\"0.25\"} 2\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_bucket{a=\"b\",le=\"30\"} 2\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_bucket{a=\"b\",le=\"+Inf\"} 3\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_sum{a=\"b\"} 100.201000\n") != NULL, "%s", page);
    cr_expect(strstr(page, "t_seconds_count{a=\"b\"} 3\n") != NULL, "%s", page);
    free(page);
}

static char *jobs_page(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    metrics_jobs_write(f);
    fclose(f);
    return buf;
}

Test(metrics, provider_failures_by_kind)
{
    metrics_provider_request("runway", "poll", 1, 1, 0, 30.0);    /* timeout */
    metrics_provider_request("runway", "poll", 1, 0, 0, 0.01);    /* network */
    metrics_provider_request("runway", "submit", 0, 0, 429, 0.1); /* rate limited */
    metrics_provider_request("runway", "submit", 0, 0, 503, 0.1);
    metrics_provider_request("runway", "submit", 0, 0, 400, 0.1);
    metrics_provider_request("runway", "poll", 0, 0, 200, 0.1); /* no failure */
    metrics_provider_request("nobody", "poll", 1, 0, 0, 0.1);   /* unknown: not counted */
    char *page = jobs_page();
    const char *want[] = {"kind=\"timeout\"} 1\n", "kind=\"network\"} 1\n", "kind=\"rate_limited\"} 1\n",
                          "kind=\"http_5xx\"} 1\n", "kind=\"http_4xx\"} 1\n"};
    char line[128];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "vidgen_provider_failures_total{provider=\"runway\",%s", want[i]);
        cr_expect(strstr(page, line) != NULL, "missing %s in\n%s", line, page);
    }
    cr_expect(strstr(page, "provider=\"runway\",step=\"poll\",le=\"+Inf\"} 3\n") != NULL, "%s", page);
    cr_expect(strstr(page, "nobody") == NULL);
    free(page);
}

Test(metrics, generations_by_model_provider_and_status)
{
    metrics_generation_ended("veo3", "modelslab", "completed");
    metrics_generation_ended("veo3", "modelslab", "completed");
    metrics_generation_ended("veo3", "modelslab", "failed");
    metrics_generation_ended("bad\"name", "modelslab", "cancelled"); /* not a safe label: "other" */
    metrics_generation_ended("bad\\name", "modelslab", "cancelled"); /* the same "other" */
    metrics_generation_ended("veo3", "modelslab", "processing");     /* not final: not counted */
    char *page = jobs_page();
    cr_expect(strstr(page, "{model=\"veo3\",provider=\"modelslab\",status=\"completed\"} 2\n") != NULL, "%s", page);
    cr_expect(strstr(page, "{model=\"veo3\",provider=\"modelslab\",status=\"failed\"} 1\n") != NULL, "%s", page);
    cr_expect(strstr(page, "{model=\"veo3\",provider=\"modelslab\",status=\"cancelled\"} 0\n") != NULL, "%s", page);
    cr_expect(strstr(page, "{model=\"other\",provider=\"other\",status=\"cancelled\"} 2\n") != NULL, "%s", page);
    cr_expect(strstr(page, "processing") == NULL);
    free(page);
}
