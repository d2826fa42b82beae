/* The limits shared through Redis (worker/cluster_limits.h), against a private redis-server
 * on a free loopback port in a temporary directory (skipped when redis-server is not
 * installed): the cap on jobs in flight and its slots, the bucket, a 429's pause, the
 * circuit, scripts flushed, and Redis gone. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/id.h"
#include "worker/cluster_limits.h"

#define REDIS_SERVER "/usr/bin/redis-server"

static pid_t redis_pid;
static int redis_port;
static char redis_dir[64];

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static redisContext *client(void)
{
    return redisConnect("127.0.0.1", redis_port);
}

static void start_redis(void)
{
    char port[16];
    if (access(REDIS_SERVER, X_OK) != 0)
        cr_skip_test("redis-server is not installed (Debian: redis-server)");
    snprintf(redis_dir, sizeof redis_dir, "/tmp/vidgen-cluster-limits-XXXXXX");
    cr_assert_not_null(mkdtemp(redis_dir));
    redis_port = free_port();
    snprintf(port, sizeof port, "%d", redis_port);
    if ((redis_pid = fork()) == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1), dup2(null, 2);
        execl(REDIS_SERVER, REDIS_SERVER, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", redis_dir, "--logfile", "", "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* up to 10 s for PING */
        redisContext *c = client();
        redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
        bool up = r != NULL && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        redisFree(c);
        if (up)
            return;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    cr_assert_fail("redis-server did not answer");
}

static void stop_redis(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
    if (redis_dir[0] != '\0')
        rmdir(redis_dir);
    redis_dir[0] = '\0';
}

static struct cluster_limits *open_limits(void)
{
    char url[64], err[200];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_port);
    struct cluster_limits *cl = cluster_limits_open(url, err, sizeof err);
    cr_assert_not_null(cl, "%s", err);
    return cl;
}

static const struct cluster_rules rules = {
    .max_in_flight = 2, .per_ms = 1.0, .burst = 1000, .circuit_failures = 5, .lease_ms = 60000};

static enum cluster_verdict admit(struct cluster_limits *cl, const char *provider, const char *id, bool submit,
                                  const struct cluster_rules *r, struct cluster_admission *a)
{
    cr_assert_eq(cluster_limits_admit(cl, provider, id, submit, r, clock_now_ms(), a), 0, "Redis answers");
    return a->verdict;
}

TestSuite(cluster_limits, .init = start_redis, .fini = stop_redis);

Test(cluster_limits, a_submit_takes_a_slot_only_while_fewer_than_the_cap_are_held)
{
    struct cluster_limits *cl = open_limits();
    struct cluster_admission a;
    cr_assert_eq(admit(cl, "p", "g1", true, &rules, &a), CLUSTER_GO);
    cr_assert_eq(admit(cl, "p", "g2", true, &rules, &a), CLUSTER_GO);
    cr_assert_eq(admit(cl, "p", "g3", true, &rules, &a), CLUSTER_FULL, "two held, the cap is two");
    cr_assert_eq(admit(cl, "p", "g1", true, &rules, &a), CLUSTER_GO, "a job's own slot is its own");
    cr_assert_eq(admit(cl, "p", "g9", false, &rules, &a), CLUSTER_GO, "a poll is at the provider already");
    cr_assert_eq(cluster_limits_release(cl, "p", "g9", clock_now_ms()), 0);
    cr_assert_eq(cluster_limits_release(cl, "p", "g1", clock_now_ms()), 0);
    cr_assert_eq(admit(cl, "p", "g3", true, &rules, &a), CLUSTER_GO, "a slot freed by a job's end");
    cr_assert_eq(admit(cl, "other", "g4", true, &rules, &a), CLUSTER_GO, "each provider has its own");
    cluster_limits_close(cl);
}

Test(cluster_limits, a_slot_not_renewed_comes_back_and_a_renewed_one_does_not)
{
    struct cluster_limits *cl = open_limits();
    struct cluster_admission a;
    struct cluster_rules short_lease = rules;
    short_lease.lease_ms = 300;
    short_lease.max_in_flight = 2;
    cr_assert_eq(admit(cl, "p", "dead", true, &short_lease, &a), CLUSTER_GO);
    cr_assert_eq(admit(cl, "p", "alive", true, &short_lease, &a), CLUSTER_GO);
    const char *provider = "p", *id = "alive";
    cr_assert_eq(cluster_limits_extend(cl, 1, &provider, &id, 60000, clock_now_ms()), 0);
    cr_assert_eq(admit(cl, "p", "new", true, &short_lease, &a), CLUSTER_FULL);
    nanosleep(&(struct timespec){0, 400 * 1000000L}, NULL); /* past "dead"'s lease, never renewed */
    cr_assert_eq(admit(cl, "p", "new", true, &short_lease, &a), CLUSTER_GO, "the dead worker's slot came back");
    cr_assert_eq(admit(cl, "p", "newer", true, &short_lease, &a), CLUSTER_FULL, "the renewed one stays");
    id = "never-held";
    cluster_limits_extend(cl, 1, &provider, &id, 60000, clock_now_ms());
    redisContext *c = client();
    redisReply *r = redisCommand(c, "ZSCORE vidgen:limit:p:inflight never-held");
    cr_assert_eq(r->type, REDIS_REPLY_NIL, "a renewal gives no slot to a job without one");
    freeReplyObject(r);
    redisFree(c);
    cluster_limits_close(cl);
}

Test(cluster_limits, the_bucket_is_shared_and_says_when_the_next_token_comes)
{
    struct cluster_limits *one = open_limits(), *two = open_limits();
    struct cluster_admission a;
    struct cluster_rules slow = rules;
    slow.per_ms = 1.0 / 60000; /* one a minute */
    slow.burst = 2;
    slow.max_in_flight = 100;
    cr_assert_eq(admit(one, "p", "g1", false, &slow, &a), CLUSTER_GO);
    cr_assert_eq(admit(two, "p", "g2", false, &slow, &a), CLUSTER_GO, "the burst, across both");
    int64_t now = clock_now_ms();
    cr_assert_eq(admit(one, "p", "g3", false, &slow, &a), CLUSTER_WAIT);
    cr_assert(a.at > now + 55000 && a.at < now + 65000, "the next token in about a minute, not %lld ms",
              (long long)(a.at - now));
    cr_assert_eq(admit(two, "p", "g3", false, &slow, &a), CLUSTER_WAIT, "for the other process too");
    cluster_limits_close(one);
    cluster_limits_close(two);
}

Test(cluster_limits, a_429_holds_every_process_until_the_time_asked)
{
    struct cluster_limits *one = open_limits(), *two = open_limits();
    struct cluster_admission a;
    int64_t now = clock_now_ms();
    cr_assert_eq(cluster_limits_block(one, "p", 20000, now), 0);
    cr_assert_eq(admit(two, "p", "g1", false, &rules, &a), CLUSTER_WAIT);
    cr_assert(a.at > now + 19000 && a.at < now + 21000, "until the time asked, not %lld ms", (long long)(a.at - now));
    cluster_limits_close(one);
    cluster_limits_close(two);
}

Test(cluster_limits, the_circuit_opens_for_all_after_failures_in_a_row_and_one_probe_goes)
{
    struct cluster_limits *one = open_limits(), *two = open_limits();
    struct cluster_admission a;
    struct provider_health h;
    int before;
    int64_t now = clock_now_ms();
    for (int i = 0; i < 4; i++)
        cr_assert_eq(
            cluster_limits_record(i % 2 ? one : two, "p", false, "HTTP 500", &rules, 30000, 300000, now, &h, &before),
            0);
    cr_assert_eq(h.failures, 4);
    cr_assert_eq(admit(two, "p", "g1", false, &rules, &a), CLUSTER_GO, "still closed");
    cluster_limits_record(one, "p", false, "HTTP 502", &rules, 30000, 300000, now, &h, &before);
    cr_assert_eq(before, 4);
    cr_assert(h.open_until > now + 29000 && h.open_until < now + 31000);
    cr_assert_str_eq(h.last_failure, "HTTP 502");
    cr_assert_eq(admit(two, "p", "g1", false, &rules, &a), CLUSTER_CIRCUIT, "opened by the other process");
    cr_assert_eq(a.failures, 5);
    cr_assert_str_eq(a.last_failure, "HTTP 502");

    /* The pause over (moved into the past here): one probe, and only one. */
    redisContext *c = client();
    freeReplyObject(redisCommand(c, "HSET vidgen:limit:p:circuit open_until 1"));
    redisFree(c);
    cr_assert_eq(admit(one, "p", "g1", false, &rules, &a), CLUSTER_GO);
    cr_assert(a.probe);
    cr_assert_eq(admit(two, "p", "g2", false, &rules, &a), CLUSTER_CIRCUIT, "the probe is under way");
    cluster_limits_record(one, "p", true, NULL, &rules, 30000, 300000, clock_now_ms(), &h, &before);
    cr_assert_eq(h.failures, 0);
    cr_assert_eq(h.open_until, 0);
    cr_assert(h.last_success_at > 0);
    cr_assert_eq(admit(two, "p", "g2", false, &rules, &a), CLUSTER_GO, "closed by the probe's success");
    cluster_limits_close(one);
    cluster_limits_close(two);
}

Test(cluster_limits, scripts_flushed_are_loaded_again)
{
    struct cluster_limits *cl = open_limits();
    struct cluster_admission a;
    cr_assert_eq(admit(cl, "p", "g1", true, &rules, &a), CLUSTER_GO);
    redisContext *c = client();
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    redisFree(c);
    cr_assert_eq(admit(cl, "p", "g2", true, &rules, &a), CLUSTER_GO, "NOSCRIPT: loaded again, not a failure");
    cluster_limits_close(cl);
}

Test(cluster_limits, with_redis_gone_every_call_says_so_and_none_waits)
{
    struct cluster_limits *cl = open_limits();
    struct cluster_admission a;
    cr_assert_eq(admit(cl, "p", "g1", true, &rules, &a), CLUSTER_GO);
    stop_redis();
    cr_assert_eq(cluster_limits_admit(cl, "p", "g2", true, &rules, clock_now_ms(), &a), -1);
    cr_assert_eq(cluster_limits_release(cl, "p", "g1", clock_now_ms()), -1, "no reconnect before the backoff");
    cluster_limits_close(cl);
}
