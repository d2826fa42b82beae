/* Live status: SSE framing, and the bus's fan-out across real h2o event loops and
 * publishing threads, observed through test sinks (the seam below events_subscribe). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "events/bus.h"
#include "events/recheck.h"
#include "http/sse.h"

/* -- framing, as data ---------------------------------------------------------------------- */

static const struct {
    const char *event, *data, *want;
} frames[] = {
    {"generation", "{\"id\":\"g1\",\"progress\":40}", "event: generation\ndata: {\"id\":\"g1\",\"progress\":40}\n\n"},
    {NULL, "x", "data: x\n\n"},
    {"e", "", "event: e\ndata: \n\n"},
    {"e", NULL, "event: e\ndata: \n\n"},
    {"e", "a\nb", "event: e\ndata: a\ndata: b\n\n"},
    {"e", "a\r\nb\rc", "event: e\ndata: a\ndata: b\ndata: c\n\n"},
    {"e", "a\n", "event: e\ndata: a\ndata: \n\n"},
    {"e", "\n\n", "event: e\ndata: \ndata: \ndata: \n\n"},
};

Test(sse, format_table)
{
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        size_t len = 0;
        char *got = sse_format(frames[i].event, frames[i].data, &len);
        cr_assert_not_null(got, "case %zu", i);
        cr_expect_str_eq(got, frames[i].want, "case %zu", i);
        cr_expect_eq(len, strlen(frames[i].want), "case %zu", i);
        free(got);
    }
}

Test(sse, event_name_with_a_line_break_is_refused)
{
    size_t len;
    cr_expect_null(sse_format("a\nb", "{}", &len));
    cr_expect_null(sse_format("a\r", "{}", &len));
}

/* -- the bus ----------------------------------------------------------------------------------- */

/* One h2o loop, run on the test's thread (the "loop thread" of whatever attaches to it). */
struct loop {
    h2o_evloop_t *ev;
    h2o_context_t ctx;
    struct events_loop *events;
};

struct sink {
    struct events_sink super;
    int frames, closes, bad, remove_after; /* remove_after: remove itself at that frame */
};

static h2o_globalconf_t conf;

static void conf_init(void)
{
    h2o_config_init(&conf);
    h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
}

static void conf_fini(void)
{
    h2o_config_dispose(&conf);
}

TestSuite(bus, .init = conf_init, .fini = conf_fini);

static void loop_open(struct loop *l, struct events_bus *bus)
{
    l->ev = h2o_evloop_create();
    h2o_context_init(&l->ctx, l->ev, &conf);
    l->events = events_loop_attach(bus, &l->ctx);
    cr_assert_not_null(l->events);
}

static void loop_close(struct loop *l)
{
    events_loop_detach(l->events);
    h2o_context_dispose(&l->ctx);
    for (int i = 0; i < 3; i++) /* let the queue's socket close */
        h2o_evloop_run(l->ev, 0);
    h2o_evloop_destroy(l->ev);
    free(l->ctx.queue); /* h2o 2.2.5 destroys the queue without freeing it (fixed upstream) */
}

static void on_frame(struct events_sink *s, const char *frame, size_t len)
{
    struct sink *t = (struct sink *)s;
    static const char want[] = "event: generation\ndata: {";
    if (len < sizeof want - 1 || memcmp(frame, want, sizeof want - 1) != 0 || frame[len - 1] != '\n' ||
        frame[len - 2] != '\n' || frame[len] != '\0')
        t->bad++;
    if (++t->frames == t->remove_after)
        events_sink_remove(s);
}

static void on_close(struct events_sink *s)
{
    ((struct sink *)s)->closes++;
}

static void sink_add_with(struct loop *l, struct sink *s, const char *user, const char *credential)
{
    memset(s, 0, sizeof *s);
    s->super.deliver = on_frame;
    s->super.close = on_close;
    cr_assert_eq(events_sink_add(l->events, &s->super, user, credential), 0);
}

static void sink_add(struct loop *l, struct sink *s, const char *user)
{
    sink_add_with(l, s, user, NULL);
}

/* Runs both loops until `done` holds or two seconds pass. */
static void run_until(struct loop *a, struct loop *b, int (*done)(void *), void *arg)
{
    for (int i = 0; i < 200 && !done(arg); i++) {
        h2o_evloop_run(a->ev, 5);
        if (b)
            h2o_evloop_run(b->ev, 5);
    }
}

struct publisher {
    pthread_t thread;
    struct events_bus *bus;
    const char *user;
    int n;
};

static void *publish_many(void *arg)
{
    struct publisher *p = arg;
    char json[64];
    for (int i = 0; i < p->n; i++) {
        snprintf(json, sizeof json, "{\"id\":\"g\",\"progress\":%d}", i);
        events_publish(p->bus, p->user, "generation", json);
    }
    return NULL;
}

struct counts {
    struct sink *sinks;
    const int *want;
    int n;
};

static int all_counted(void *arg)
{
    struct counts *c = arg;
    for (int i = 0; i < c->n; i++)
        if (c->sinks[i].frames < c->want[i])
            return 0;
    return 1;
}

Test(bus, fans_out_to_every_loop_by_user_from_many_threads)
{
    struct events_bus *bus = events_bus_new("");
    struct loop a, b;
    struct sink s[4];
    loop_open(&a, bus);
    loop_open(&b, bus);
    sink_add(&a, &s[0], "alice"); /* two streams of alice on one loop, one on the other */
    sink_add(&a, &s[1], "alice");
    sink_add(&b, &s[2], "alice");
    sink_add(&a, &s[3], "bob");

    struct publisher pubs[4] = {
        {.bus = bus, .user = "alice", .n = 250},
        {.bus = bus, .user = "alice", .n = 250},
        {.bus = bus, .user = "bob", .n = 30},
        {.bus = bus, .user = "carol", .n = 100},
    };
    for (int i = 0; i < 4; i++)
        pthread_create(&pubs[i].thread, NULL, publish_many, &pubs[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(pubs[i].thread, NULL);

    static const int want[4] = {500, 500, 500, 30};
    struct counts c = {s, want, 4};
    run_until(&a, &b, all_counted, &c);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(s[i].frames, want[i], "sink %d got %d frames", i, s[i].frames);
        cr_expect_eq(s[i].bad, 0, "sink %d got malformed frames", i);
    }
    for (int i = 0; i < 4; i++)
        events_sink_remove(&s[i].super);
    loop_close(&a);
    loop_close(&b);
    events_bus_free(bus);
}

Test(bus, a_sink_may_remove_itself_while_a_frame_is_delivered)
{
    struct events_bus *bus = events_bus_new("");
    struct loop a;
    struct sink s[3];
    loop_open(&a, bus);
    for (int i = 0; i < 3; i++)
        sink_add(&a, &s[i], "alice");
    s[1].remove_after = 2;
    for (int i = 0; i < 5; i++)
        events_publish(bus, "alice", "generation", "{\"n\":1}");
    static const int want[3] = {5, 2, 5};
    struct counts c = {s, want, 3};
    run_until(&a, NULL, all_counted, &c);
    cr_expect_eq(s[0].frames, 5);
    cr_expect_eq(s[1].frames, 2);
    cr_expect_eq(s[2].frames, 5);
    events_sink_remove(&s[0].super);
    events_sink_remove(&s[1].super); /* again: harmless */
    events_sink_remove(&s[2].super);
    loop_close(&a);
    events_bus_free(bus);
}

Test(bus, close_all_closes_every_sink_and_refuses_new_ones)
{
    struct events_bus *bus = events_bus_new("");
    struct loop a;
    struct sink s[2], late;
    loop_open(&a, bus);
    sink_add(&a, &s[0], "alice");
    sink_add(&a, &s[1], "bob");
    events_loop_close_all(a.events);
    cr_expect_eq(s[0].closes, 1);
    cr_expect_eq(s[1].closes, 1);
    memset(&late, 0, sizeof late);
    late.super.deliver = on_frame;
    late.super.close = on_close;
    cr_expect_eq(events_sink_add(a.events, &late.super, "alice", NULL), -1);
    events_sink_remove(&late.super); /* never added: harmless */
    /* a detach drops the sinks still there, closing them once more */
    loop_close(&a);
    cr_expect_eq(s[0].closes, 2);
    cr_expect_eq(s[1].closes, 2);
    events_sink_remove(&s[0].super); /* already dropped by the detach: harmless */
    events_bus_free(bus);
}

Test(bus, detach_drops_undelivered_events_and_refuses_bad_input)
{
    struct events_bus *bus = events_bus_new("");
    struct loop a;
    struct sink s;
    char long_id[EVENTS_USER_ID_MAX + 2], long_credential[EVENTS_CREDENTIAL_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    memset(long_credential, 'c', sizeof long_credential - 1);
    long_credential[sizeof long_credential - 1] = '\0';

    events_publish(bus, "alice", "generation", "{}"); /* no loop yet: goes nowhere */
    loop_open(&a, bus);
    sink_add(&a, &s, "alice");
    cr_expect_eq(events_sink_add(a.events, &(struct events_sink){0}, "", NULL), -1);
    cr_expect_eq(events_sink_add(a.events, &(struct events_sink){0}, long_id, NULL), -1);
    cr_expect_eq(events_sink_add(a.events, &(struct events_sink){0}, "alice", long_credential), -1);
    events_publish(bus, "alice", "bad\nname", "{}");  /* dropped */
    events_publish(bus, long_id, "generation", "{}"); /* dropped */
    for (int i = 0; i < 10; i++)
        events_publish(bus, "alice", "generation", "{}");
    /* the loop never ran: ten messages wait in its queue; the detach frees them (ASan) */
    cr_expect_eq(s.frames, 0);
    loop_close(&a);
    events_bus_free(bus);
}

/* -- the recheck of credentials ------------------------------------------------------------------ */

struct checker {
    int calls, fail;
    size_t n;           /* credentials in the last call */
    const char *lapsed; /* the credential that no longer holds */
};

static int check_credentials(const char *const *credentials, size_t n, bool *valid, void *arg)
{
    struct checker *k = arg;
    k->calls++;
    k->n = n;
    for (size_t i = 0; i < n; i++)
        valid[i] = strcmp(credentials[i], k->lapsed) != 0;
    return k->fail ? -1 : 0;
}

static int checked_three_times(void *arg)
{
    return ((struct checker *)arg)->calls >= 3;
}

Test(bus, a_recheck_asks_once_per_tick_and_closes_only_lapsed_streams)
{
    struct events_bus *bus = events_bus_new("");
    struct loop a;
    struct sink s[4];
    struct checker k = {.lapsed = "tok-b", .fail = 1};
    loop_open(&a, bus);
    sink_add_with(&a, &s[0], "alice", "tok-a"); /* two streams of one token */
    sink_add_with(&a, &s[1], "alice", "tok-a");
    sink_add_with(&a, &s[2], "alice", "tok-b");
    sink_add(&a, &s[3], "bob"); /* no credential: never checked */
    struct events_recheck *r = events_recheck_start(a.events, a.ev, 10, check_credentials, &k);
    cr_assert_not_null(r);

    events_recheck_run(r); /* the check cannot tell: everything stays */
    cr_expect_eq(k.calls, 1);
    cr_expect_eq(k.n, 2, "one question per distinct credential, got %zu", k.n);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(s[i].closes, 0);

    k.fail = 0;
    events_recheck_run(r);
    cr_expect_eq(k.calls, 2);
    cr_expect_eq(s[2].closes, 1, "the lapsed credential's stream is closed");
    cr_expect_eq(s[0].closes + s[1].closes + s[3].closes, 0);

    events_publish(bus, "alice", "generation", "{\"n\":1}");
    static const int want[2] = {1, 1};
    struct counts c = {s, want, 2};
    run_until(&a, NULL, all_counted, &c);
    cr_expect_eq(s[2].frames, 0, "a closed stream gets nothing more");

    run_until(&a, NULL, checked_three_times, &k); /* the timer's own ticks */
    cr_expect_geq(k.calls, 3);
    cr_expect_eq(k.n, 1, "only tok-a is left to check");

    events_recheck_stop(r);
    events_sink_remove(&s[0].super);
    events_sink_remove(&s[1].super);
    events_sink_remove(&s[3].super);
    loop_close(&a);
    events_bus_free(bus);
}

/* -- the generation event: what vidgen worker publishes is what the API serves ------------ */

#include <jansson.h>

#include "api/api.h"
#include "api/views.h"
#include "events/generation.h"
#include "util/redis_link.h"

Test(generation_event, same_json_as_the_status_view)
{
    cr_assert_str_eq(EVENTS_GENERATION_URL_PREFIX, API_PREFIX);
    struct generation g = {0};
    const char *statuses[] = {"queued", "processing", "completed", "failed"};
    char err[] = "the provider refused the prompt";
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        strcpy(g.id, "g-1234"), strcpy(g.user_id, "u-1"), strcpy(g.status, statuses[i]), strcpy(g.phase, "rendering");
        g.progress = (int)(i * 30);
        g.cancel_requested = i == 1;
        g.error_message = i == 3 ? err : NULL;
        json_t *view = view_status(&g);
        char *event = events_generation_json(&g);
        json_t *parsed = json_loads(event, 0, NULL);
        cr_assert(json_equal(view, parsed), "status %s: %s", statuses[i], event);
        json_decref(view), json_decref(parsed), free(event);
    }
}

/* -- REDIS_URL, as data --------------------------------------------------------------------- */

static const struct {
    const char *url;
    int ok;
    const char *host, *password;
    int port, db;
} redis_urls[] = {
    {"redis://127.0.0.1:6390/2", 1, "127.0.0.1", "", 6390, 2},
    {"redis://cache", 1, "cache", "", 6379, 0},
    {"redis://cache/", 1, "cache", "", 6379, 0},
    {"redis://:s3cret@cache:7000/1", 1, "cache", "s3cret", 7000, 1},
    {"redis://default:pw@cache", 1, "cache", "pw", 6379, 0},
    {"redis://", 0, NULL, NULL, 0, 0},
    {"redis://:6379", 0, NULL, NULL, 0, 0},
    {"redis://host:0", 0, NULL, NULL, 0, 0},
    {"redis://host:70000", 0, NULL, NULL, 0, 0},
    {"redis://host:12x", 0, NULL, NULL, 0, 0},
    {"redis://host/db", 0, NULL, NULL, 0, 0},
    {"redis://host/-1", 0, NULL, NULL, 0, 0},
    {"http://host:6379", 0, NULL, NULL, 0, 0},
};

Test(redis_url, parse_table)
{
    for (size_t i = 0; i < sizeof redis_urls / sizeof redis_urls[0]; i++) {
        struct redis_addr a;
        char err[300] = "";
        int rc = redis_addr_parse(redis_urls[i].url, &a, err, sizeof err);
        cr_assert_eq(rc == 0, redis_urls[i].ok, "%s: %s", redis_urls[i].url, err);
        if (!redis_urls[i].ok) {
            cr_assert(strstr(err, "REDIS_URL") != NULL, "%s: %s", redis_urls[i].url, err);
            continue;
        }
        cr_assert_str_eq(a.host, redis_urls[i].host, "%s", redis_urls[i].url);
        cr_assert_str_eq(a.password, redis_urls[i].password, "%s", redis_urls[i].url);
        cr_assert_eq(a.port, redis_urls[i].port, "%s", redis_urls[i].url);
        cr_assert_eq(a.db, redis_urls[i].db, "%s", redis_urls[i].url);
    }
}
