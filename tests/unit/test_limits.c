/* The worker's limits of a remote provider: the token bucket, a 429's pause, the circuit. */
#include <criterion/criterion.h>

#include "worker/limits.h"

static struct limit fresh(int per_minute)
{
    struct provider_limits cfg = {.max_in_flight = 5, .requests_per_minute = per_minute};
    struct limit l;
    limit_init(&l, &cfg, 0);
    return l;
}

Test(limits, a_bucket_lets_five_seconds_of_requests_through_then_keeps_the_rate)
{
    struct limit l = fresh(60); /* one a second, five at once */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(limit_take(&l, 0), 0, "request %d of the burst", i);
    int64_t next = limit_take(&l, 0);
    cr_assert(next > 900 && next <= 1001, "the next token comes after a second, not %lld", (long long)next);
    cr_assert_eq(limit_take(&l, 1001), 0);
    cr_assert_neq(limit_take(&l, 1002), 0);
    cr_assert_eq(limit_take(&l, 60000), 0, "a long pause refills the bucket");
}

Test(limits, a_429_holds_every_request_until_the_time_asked)
{
    struct limit l = fresh(600);
    limit_block(&l, 30000);
    cr_assert_eq(limit_take(&l, 100), 30000);
    cr_assert_eq(limit_take(&l, 29999), 30000);
    cr_assert_eq(limit_take(&l, 30200), 0);
}

Test(limits, the_circuit_opens_after_five_failures_probes_once_and_closes_on_a_success)
{
    struct limit l = fresh(600);
    for (int i = 0; i < LIMIT_CIRCUIT_FAILURES - 1; i++) {
        cr_assert(limit_record(&l, false, "HTTP 500", 1000), "a failure is always written");
        cr_assert_eq(limit_circuit(&l, 1000), 0, "still closed after %d", i + 1);
    }
    limit_record(&l, false, "HTTP 500", 1000);
    int64_t until = limit_circuit(&l, 1000);
    cr_assert_eq(until, 31000, "open for 30 s, not until %lld", (long long)until);
    cr_assert_eq(limit_circuit(&l, 31000), 0, "half-open: one probe goes");
    cr_assert_eq(limit_circuit(&l, 31000), 32000, "and only one");
    limit_record(&l, false, "HTTP 502", 31500);
    cr_assert_eq(limit_circuit(&l, 31600), 31500 + 60000, "a failed probe doubles the pause");
    cr_assert_str_eq(l.health.last_failure, "HTTP 502");
    cr_assert_eq(limit_circuit(&l, 91500), 0);
    cr_assert(limit_record(&l, true, NULL, 92000), "a recovery is written at once");
    cr_assert_eq(l.health.open_until, 0);
    cr_assert_eq(limit_circuit(&l, 92001), 0);
    cr_assert_not(limit_record(&l, true, NULL, 93000), "successes are written now and then");
}
