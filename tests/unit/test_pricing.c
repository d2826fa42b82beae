/* Pricing (README "Credits", DESIGN §5), one test per rule, every expected number worked
 * out by hand from the rule and the model's base credits in config/catalog.json:
 *
 *   resolution  720p +0 %, 1080p +30 %, 4K +100 % of base
 *   duration    +50 % of base per 5 s over the default, pro rata (base × extra / 10)
 *   images      start +20 %, end +30 %, both +40 % of base
 *   audio +10, prompt enhancement +5 (flat)
 *   each component rounded up on its own; total = their sum
 *
 * pricing_compute does not check a model's limits (gen_request_check does), so a few cases
 * price options a model does not offer, to reach a rule with a real base. Totals are
 * literals, never the sum of the expected breakdown, so a wrong component cannot be
 * hidden by an equally wrong expectation. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/catalog.h"
#include "core/pricing.h"

struct pricing_case {
    const char *what, *model;
    struct price_options o;
    long base, resolution, duration, images, audio, enhancement; /* the breakdown */
    long total;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define OPT(res, dur, ...)                                                                                             \
    {                                                                                                                  \
        .resolution = RES_##res, .duration = dur, __VA_ARGS__                                                          \
    }

static struct catalog catalog;

static void load_catalog(void)
{
    char err[256];
    cr_assert_eq(catalog_load(NULL, &catalog, err, sizeof err), 0, "%s", err);
}

static void free_catalog(void)
{
    catalog_free(&catalog);
}

TestSuite(pricing, .init = load_catalog, .fini = free_catalog);

/* A model's base credits and default duration from the catalog, or a synthetic model
 * "base=N,default=D" for the rounding cases (no catalog base has a fraction to round). */
static void model_of(const char *id, long *base, int *default_duration)
{
    if (sscanf(id, "base=%ld,default=%d", base, default_duration) == 2)
        return;
    const struct catalog_model *m = catalog_find(&catalog, id);
    cr_assert_not_null(m, "no model %s in the catalog", id);
    *base = m->base_credits;
    *default_duration = m->default_duration;
}

static void check(const struct pricing_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct pricing_case *c = &cases[i];
        long base;
        int dflt;
        struct price p;
        model_of(c->model, &base, &dflt);
        pricing_compute(base, dflt, &c->o, &p);
        cr_expect_eq(p.base, c->base, "%s: base %ld, want %ld", c->what, p.base, c->base);
        cr_expect_eq(p.resolution, c->resolution, "%s: resolution %ld, want %ld", c->what, p.resolution, c->resolution);
        cr_expect_eq(p.duration, c->duration, "%s: duration %ld, want %ld", c->what, p.duration, c->duration);
        cr_expect_eq(p.images, c->images, "%s: images %ld, want %ld", c->what, p.images, c->images);
        cr_expect_eq(p.audio, c->audio, "%s: audio %ld, want %ld", c->what, p.audio, c->audio);
        cr_expect_eq(p.enhancement, c->enhancement, "%s: enhancement %ld, want %ld", c->what, p.enhancement,
                     c->enhancement);
        cr_expect_eq(p.total, c->total, "%s: total %ld, want %ld", c->what, p.total, c->total);
    }
}

/* The worked examples DESIGN §5 says must hold. */
Test(pricing, design_worked_examples)
{
    static const struct pricing_case cases[] = {
        {"Veo 3 720p 8 s", "veo3", OPT(720P, 8), 2500, 0, 0, 0, 0, 0, 2500},
        {"Veo 3 1080p 8 s", "veo3", OPT(1080P, 8), 2500, 750, 0, 0, 0, 0, 3250},
        {"Veo 3 1080p 16 s", "veo3", OPT(1080P, 16), 2500, 750, 2000, 0, 0, 0, 5250},
        {"Kling 2.5 start image 1080p 10 s", "kling-2.5", OPT(1080P, 10, .start_image = true), 500, 150, 250, 100, 0, 0,
         1000},
    };
    check(cases, N(cases));
}

/* 720p at the default duration with nothing added costs exactly the base credits. */
Test(pricing, base_credits_of_every_model)
{
    static const struct pricing_case cases[] = {
        {"veo3", "veo3", OPT(720P, 8), 2500, 0, 0, 0, 0, 0, 2500},
        {"veo2", "veo2", OPT(720P, 8), 2200, 0, 0, 0, 0, 0, 2200},
        {"ultra", "text-to-video-ultra", OPT(720P, 8), 1300, 0, 0, 0, 0, 0, 1300},
        {"wan", "wan2.2-t2v", OPT(720P, 10), 1200, 0, 0, 0, 0, 0, 1200},
        {"seedance", "seedance-t2v", OPT(720P, 5), 400, 0, 0, 0, 0, 0, 400},
        {"runway", "runway-gen3", OPT(720P, 10), 750, 0, 0, 0, 0, 0, 750},
        {"kling", "kling-2.5", OPT(720P, 5), 500, 0, 0, 0, 0, 0, 500},
        {"nova", "nova-reel", OPT(720P, 6), 400, 0, 0, 0, 0, 0, 400},
        {"local", "local-preview", OPT(720P, 5), 10, 0, 0, 0, 0, 0, 10},
    };
    check(cases, N(cases));
}

/* 1080p +30 % and 4K +100 % of base; 720p adds nothing. */
Test(pricing, resolution_1080p_adds_30_percent_and_4k_doubles)
{
    static const struct pricing_case cases[] = {
        {"Veo 2 1080p: 30 % of 2200", "veo2", OPT(1080P, 8), 2200, 660, 0, 0, 0, 0, 2860},
        {"Kling 1080p: 30 % of 500", "kling-2.5", OPT(1080P, 5), 500, 150, 0, 0, 0, 0, 650},
        {"Runway 1080p: 30 % of 750", "runway-gen3", OPT(1080P, 10), 750, 225, 0, 0, 0, 0, 975},
        {"local 1080p: 30 % of 10", "local-preview", OPT(1080P, 5), 10, 3, 0, 0, 0, 0, 13},
        {"local 4K: 100 % of 10", "local-preview", OPT(4K, 5), 10, 10, 0, 0, 0, 0, 20},
        {"Seedance 4K: 100 % of 400", "seedance-t2v", OPT(4K, 5), 400, 400, 0, 0, 0, 0, 800},
        {"Ultra 4K: 100 % of 1300", "text-to-video-ultra", OPT(4K, 8), 1300, 1300, 0, 0, 0, 0, 2600},
    };
    check(cases, N(cases));
}

/* +50 % of base for every 5 s over the default, pro rata per second; nothing at or below
 * the default. */
Test(pricing, duration_adds_half_the_base_per_5_s_over_the_default_pro_rata)
{
    static const struct pricing_case cases[] = {
        {"Kling 10 s: 5 s over", "kling-2.5", OPT(720P, 10), 500, 0, 250, 0, 0, 0, 750},
        {"local 6 s: 1 s over, a tenth of base", "local-preview", OPT(720P, 6), 10, 0, 1, 0, 0, 0, 11},
        {"local 8 s: 3 s over", "local-preview", OPT(720P, 8), 10, 0, 3, 0, 0, 0, 13},
        {"local 20 s: 15 s over, 150 %", "local-preview", OPT(720P, 20), 10, 0, 15, 0, 0, 0, 25},
        {"Seedance 7 s: 2 s over", "seedance-t2v", OPT(720P, 7), 400, 0, 80, 0, 0, 0, 480},
        {"Nova Reel 9 s: 3 s over its 6 s", "nova-reel", OPT(720P, 9), 400, 0, 120, 0, 0, 0, 520},
        {"Veo 3 13 s: 5 s over its 8 s", "veo3", OPT(720P, 13), 2500, 0, 1250, 0, 0, 0, 3750},
        {"Wan 5 s, under its 10 s default", "wan2.2-t2v", OPT(720P, 5), 1200, 0, 0, 0, 0, 0, 1200},
        {"Runway 5 s, under its 10 s default", "runway-gen3", OPT(720P, 5), 750, 0, 0, 0, 0, 0, 750},
        {"local 1 s, under its 5 s default", "local-preview", OPT(720P, 1), 10, 0, 0, 0, 0, 0, 10},
    };
    check(cases, N(cases));
}

/* Start image +20 %, end image +30 %, both +40 % (not 50 %). */
Test(pricing, images_add_20_30_or_40_percent)
{
    static const struct pricing_case cases[] = {
        {"Veo 3 start image", "veo3", OPT(720P, 8, .start_image = true), 2500, 0, 0, 500, 0, 0, 3000},
        {"Seedance start image", "seedance-t2v", OPT(720P, 5, .start_image = true), 400, 0, 0, 80, 0, 0, 480},
        {"Kling start image", "kling-2.5", OPT(720P, 5, .start_image = true), 500, 0, 0, 100, 0, 0, 600},
        {"Kling end image 1080p", "kling-2.5", OPT(1080P, 5, .end_image = true), 500, 150, 0, 150, 0, 0, 800},
        {"Kling both images 1080p", "kling-2.5", OPT(1080P, 5, .start_image = true, .end_image = true), 500, 150, 0,
         200, 0, 0, 850},
        {"Kling both 1080p 10 s", "kling-2.5", OPT(1080P, 10, .start_image = true, .end_image = true), 500, 150, 250,
         200, 0, 0, 1100},
    };
    check(cases, N(cases));
}

/* Audio is a flat +10 credits and prompt enhancement a flat +5, whatever the base. */
Test(pricing, audio_adds_10_and_enhancement_adds_5_flat)
{
    static const struct pricing_case cases[] = {
        {"Veo 3 audio", "veo3", OPT(720P, 8, .audio = true), 2500, 0, 0, 0, 10, 0, 2510},
        {"Veo 3 enhancement", "veo3", OPT(720P, 8, .enhance_prompt = true), 2500, 0, 0, 0, 0, 5, 2505},
        {"Veo 3 1080p audio and enhancement", "veo3", OPT(1080P, 8, .audio = true, .enhance_prompt = true), 2500, 750,
         0, 0, 10, 5, 3265},
        {"Veo 2 enhancement", "veo2", OPT(720P, 8, .enhance_prompt = true), 2200, 0, 0, 0, 0, 5, 2205},
        {"local audio: 10 credits, not 10 %", "local-preview", OPT(720P, 5, .audio = true), 10, 0, 0, 0, 10, 0, 20},
        {"local enhancement", "local-preview", OPT(720P, 5, .enhance_prompt = true), 10, 0, 0, 0, 0, 5, 15},
    };
    check(cases, N(cases));
}

/* Every modifier at once (beyond Veo 3's limits, to reach each rule with its base). */
Test(pricing, all_modifiers_together)
{
    static const struct pricing_case cases[] = {
        {"Veo 3 4K 13 s both images audio enhancement", "veo3",
         OPT(4K, 13, .start_image = true, .end_image = true, .audio = true, .enhance_prompt = true), 2500, 2500, 1250,
         1000, 10, 5, 7265},
        {"local 4K 20 s both images audio enhancement", "local-preview",
         OPT(4K, 20, .start_image = true, .end_image = true, .audio = true, .enhance_prompt = true), 10, 10, 15, 4, 10,
         5, 54},
    };
    check(cases, N(cases));
}

/* Each component is rounded up to a whole credit on its own: not to the nearest, not
 * truncated, and not once on the sum. No catalog base has a fraction here, so these use
 * synthetic bases. */
Test(pricing, each_component_rounds_up_on_its_own)
{
    static const struct pricing_case cases[] = {
        {"1080p of 11: 3.3 up to 4 (nearest would be 3)", "base=11,default=5", OPT(1080P, 5), 11, 4, 0, 0, 0, 0, 15},
        {"1080p of 7: 2.1 up to 3", "base=7,default=5", OPT(1080P, 5), 7, 3, 0, 0, 0, 0, 10},
        {"1080p of 333: 99.9 up to 100", "base=333,default=5", OPT(1080P, 5), 333, 100, 0, 0, 0, 0, 433},
        {"1 s over with 7: 0.7 up to 1", "base=7,default=5", OPT(720P, 6), 7, 0, 1, 0, 0, 0, 8},
        {"1 s over with 13: 1.3 up to 2", "base=13,default=5", OPT(720P, 6), 13, 0, 2, 0, 0, 0, 15},
        {"start image of 7: 1.4 up to 2", "base=7,default=5", OPT(720P, 5, .start_image = true), 7, 0, 0, 2, 0, 0, 9},
        {"end image of 7: 2.1 up to 3", "base=7,default=5", OPT(720P, 5, .end_image = true), 7, 0, 0, 3, 0, 0, 10},
        {"both images of 7: 2.8 up to 3", "base=7,default=5", OPT(720P, 5, .start_image = true, .end_image = true), 7,
         0, 0, 3, 0, 0, 10},
        /* 2.1 + 0.7 + 1.4 = 4.2 would round once to 5 (total 12); each on its own gives 3 + 1 + 2. */
        {"components of 7 round separately", "base=7,default=5", OPT(1080P, 6, .start_image = true), 7, 3, 1, 2, 0, 0,
         13},
        {"exact values stay: 30 % of 10 is 3", "base=10,default=5", OPT(1080P, 10, .start_image = true), 10, 3, 5, 2, 0,
         0, 20},
    };
    check(cases, N(cases));
}

Test(pricing, one_credit_is_50_rupiah)
{
    cr_expect_eq(PRICING_IDR_PER_CREDIT, 50);
}
