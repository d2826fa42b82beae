/* Pricing (DESIGN §5): the seed's worked examples, each modifier alone and combined, and
 * the rounding rule, as a table of cases. */
#include <criterion/criterion.h>

#include "core/catalog.h"
#include "core/pricing.h"

struct pricing_case {
    const char *what;
    long base;
    int default_duration;
    struct price_options o;
    struct price want;
};

#define OPT(res, dur, si, ei, au, en) {.resolution = res, .duration = dur, .start_image = si, .end_image = ei, .audio = au, .enhance_prompt = en}
#define WANT(b, r, d, i, a, e) {.base = b, .resolution = r, .duration = d, .images = i, .audio = a, .enhancement = e, .total = b + r + d + i + a + e}

static const struct pricing_case cases[] = {
    /* The seed's examples. */
    {"Veo 3 720p 8 s", 2500, 8, OPT(RES_720P, 8, 0, 0, 0, 0), WANT(2500, 0, 0, 0, 0, 0)},
    {"Veo 3 1080p 8 s", 2500, 8, OPT(RES_1080P, 8, 0, 0, 0, 0), WANT(2500, 750, 0, 0, 0, 0)},
    {"Veo 3 1080p 16 s", 2500, 8, OPT(RES_1080P, 16, 0, 0, 0, 0), WANT(2500, 750, 2000, 0, 0, 0)},
    {"Kling 2.5 start image 1080p 10 s", 500, 5, OPT(RES_1080P, 10, 1, 0, 0, 0), WANT(500, 150, 250, 100, 0, 0)},
    /* Each modifier alone. */
    {"4K doubles", 400, 5, OPT(RES_4K, 5, 0, 0, 0, 0), WANT(400, 400, 0, 0, 0, 0)},
    {"end image +30 %", 1000, 5, OPT(RES_720P, 5, 0, 1, 0, 0), WANT(1000, 0, 0, 300, 0, 0)},
    {"both images +40 %, not 50 %", 1000, 5, OPT(RES_720P, 5, 1, 1, 0, 0), WANT(1000, 0, 0, 400, 0, 0)},
    {"audio +10", 2500, 8, OPT(RES_720P, 8, 0, 0, 1, 0), WANT(2500, 0, 0, 0, 10, 0)},
    {"prompt enhancement +5", 2500, 8, OPT(RES_720P, 8, 0, 0, 0, 1), WANT(2500, 0, 0, 0, 0, 5)},
    {"shorter than default costs the default", 1200, 10, OPT(RES_720P, 5, 0, 0, 0, 0), WANT(1200, 0, 0, 0, 0, 0)},
    {"duration pro rata: 1 s over", 500, 5, OPT(RES_720P, 6, 0, 0, 0, 0), WANT(500, 0, 50, 0, 0, 0)},
    /* Everything at once. */
    {"all modifiers", 2500, 8, OPT(RES_4K, 13, 1, 1, 1, 1), WANT(2500, 2500, 1250, 1000, 10, 5)},
    /* Rounding: each component rounds up on its own. */
    {"1080p of 7 rounds 2.1 up to 3", 7, 5, OPT(RES_1080P, 5, 0, 0, 0, 0), WANT(7, 3, 0, 0, 0, 0)},
    {"duration of 7 over 1 s rounds 0.7 up to 1", 7, 5, OPT(RES_720P, 6, 0, 0, 0, 0), WANT(7, 0, 1, 0, 0, 0)},
    {"start image of 7 rounds 1.4 up to 2", 7, 5, OPT(RES_720P, 5, 1, 0, 0, 0), WANT(7, 0, 0, 2, 0, 0)},
    {"exact values do not round up", 10, 5, OPT(RES_1080P, 10, 1, 0, 0, 0), WANT(10, 3, 5, 2, 0, 0)},
    {"local preview 4K 10 s", 10, 5, OPT(RES_4K, 10, 0, 0, 0, 0), WANT(10, 10, 5, 0, 0, 0)},
};

Test(pricing, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pricing_case *c = &cases[i];
        struct price p;
        pricing_compute(c->base, c->default_duration, &c->o, &p);
        cr_expect_eq(p.base, c->want.base, "%s: base %ld", c->what, p.base);
        cr_expect_eq(p.resolution, c->want.resolution, "%s: resolution %ld", c->what, p.resolution);
        cr_expect_eq(p.duration, c->want.duration, "%s: duration %ld", c->what, p.duration);
        cr_expect_eq(p.images, c->want.images, "%s: images %ld", c->what, p.images);
        cr_expect_eq(p.audio, c->want.audio, "%s: audio %ld", c->what, p.audio);
        cr_expect_eq(p.enhancement, c->want.enhancement, "%s: enhancement %ld", c->what, p.enhancement);
        cr_expect_eq(p.total, c->want.total, "%s: total %ld, want %ld", c->what, p.total, c->want.total);
    }
}

Test(pricing, total_is_sum_of_breakdown_for_every_option)
{
    for (int r = 0; r < RES_COUNT; r++)
        for (int d = 1; d <= 30; d++)
            for (int flags = 0; flags < 16; flags++) {
                struct price_options o = {r, d, flags & 1, flags & 2, flags & 4, flags & 8};
                struct price p;
                pricing_compute(333, 7, &o, &p);
                cr_assert_eq(p.total, p.base + p.resolution + p.duration + p.images + p.audio + p.enhancement);
                cr_assert_geq(p.total, 333);
            }
}

Test(pricing, seed_examples_through_the_embedded_catalog)
{
    struct catalog c;
    char err[256];
    cr_assert_eq(catalog_load(NULL, &c, err, sizeof err), 0, "%s", err);
    const struct catalog_model *veo3 = catalog_find(&c, "veo3"), *kling = catalog_find(&c, "kling-2.5");
    cr_assert(veo3 && kling);
    struct price p;
    pricing_compute(veo3->base_credits, veo3->default_duration, &(struct price_options){RES_720P, 8}, &p);
    cr_expect_eq(p.total, 2500);
    pricing_compute(veo3->base_credits, veo3->default_duration, &(struct price_options){RES_1080P, 16}, &p);
    cr_expect_eq(p.total, 5250);
    pricing_compute(kling->base_credits, kling->default_duration, &(struct price_options){RES_1080P, 10, true}, &p);
    cr_expect_eq(p.total, 1000);
    catalog_free(&c);
}
