/* The catalog: the shipped one is complete and correct; a broken one is refused with a
 * message naming the model and field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/catalog.h"

static struct catalog shipped;

static void load(void)
{
    char err[256];
    cr_assert_eq(catalog_load(NULL, &shipped, err, sizeof err), 0, "%s", err);
}

static void unload(void)
{
    catalog_free(&shipped);
}

TestSuite(catalog, .init = load, .fini = unload);

Test(catalog, has_the_nine_models_with_seed_prices)
{
    static const struct {
        const char *id;
        long base;
        int default_duration;
        const char *provider;
    } want[] = {
        {"veo3", 2500, 8, "modelslab"},
        {"veo2", 2200, 8, "modelslab"},
        {"text-to-video-ultra", 1300, 8, "modelslab"},
        {"wan2.2-t2v", 1200, 10, "modelslab"},
        {"seedance-t2v", 400, 5, "modelslab"},
        {"runway-gen3", 750, 10, "runway"},
        {"kling-2.5", 500, 5, "kling"},
        {"nova-reel", 400, 6, "edenai"},
        {"local-preview", 10, 5, "local"},
    };
    cr_assert_eq(shipped.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct catalog_model *m = catalog_find(&shipped, want[i].id);
        cr_assert_not_null(m, "%s missing", want[i].id);
        cr_expect_eq(m->base_credits, want[i].base, "%s", want[i].id);
        cr_expect_eq(m->default_duration, want[i].default_duration, "%s", want[i].id);
        cr_expect_str_eq(m->routes[0].provider, want[i].provider, "%s", want[i].id);
    }
}

Test(catalog, provider_limits_from_the_contracts)
{
    const struct catalog_model *kling = catalog_find(&shipped, "kling-2.5"),
                               *nova = catalog_find(&shipped, "nova-reel");
    cr_expect(catalog_allows_duration(kling, 5) && catalog_allows_duration(kling, 10));
    cr_expect(!catalog_allows_duration(kling, 7), "Kling takes \"5\" or \"10\" only");
    cr_expect_eq(kling->end_image_resolutions, 1u << RES_1080P, "Kling's end frame needs pro (1080p)");
    cr_expect_eq(nova->max_prompt_length, 512);
    cr_expect(catalog_allows_aspect(nova, "16:9") && !catalog_allows_aspect(nova, "9:16"));
    cr_expect_str_eq(nova->routes[0].model, "video/generation_async/amazon/amazon.nova-reel-v1:1");
    const struct catalog_model *local = catalog_find(&shipped, "local-preview");
    cr_expect(strstr(local->description, "Not an AI model") != NULL);
    cr_expect_eq(local->resolutions, (1u << RES_720P) | (1u << RES_1080P) | (1u << RES_4K));
}

struct bad_case {
    const char *json;
    const char *message_part;
};

#define MODEL_OK                                                                                                       \
    "\"name\":\"M\",\"description\":\"d\",\"baseCredits\":100,\"defaultDuration\":5,\"maxDuration\":10,"               \
    "\"resolutions\":[\"720p\"],\"aspectRatios\":[\"16:9\"],\"supportsTextToVideo\":true,"                             \
    "\"route\":[{\"provider\":\"local\",\"model\":\"x\"}]"

static const struct bad_case bad[] = {
    {"not json", "catalog: invalid JSON at line 1"},
    {"{\"models\":[]}", "non-empty array"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK "},{\"id\":\"a\"," MODEL_OK "}]}", "model a: id appears twice"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"baseCredits\":0}]}", "baseCredits"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"defaultDuration\":11}]}", "defaultDuration"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"resolutions\":[\"8K\"]}]}", "unknown resolution"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"resolutions\":[\"1080p\"]}]}", "must include 720p"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"aspectRatios\":[\"wide\"]}]}", "aspectRatios"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"route\":[]}]}", "route"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK
     ",\"route\":[{\"provider\":\"kling\",\"model\":\"x\"},{\"provider\":\"kling\",\"model\":\"y\"}]}]}",
     "names a provider twice"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"supportsTextToVideo\":\"yes\"}]}", "supportsTextToVideo"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"durations\":[5,12]}]}", "durations"},
    {"{\"models\":[{\"id\":\"a\"," MODEL_OK ",\"supportsEndImage\":true}]}", "supportsEndImage"},
};

Test(catalog, refuses_a_broken_catalog_naming_the_fault)
{
    char ok[1024];
    struct catalog c;
    char err[256];
    snprintf(ok, sizeof ok, "{\"models\":[{\"id\":\"a\",%s}]}", MODEL_OK);
    cr_assert_eq(catalog_parse(ok, strlen(ok), &c, err, sizeof err), 0, "the good base case: %s", err);
    catalog_free(&c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_expect_eq(catalog_parse(bad[i].json, strlen(bad[i].json), &c, err, sizeof err), -1, "case %zu accepted", i);
        cr_expect(strstr(err, bad[i].message_part) != NULL, "case %zu: '%s' lacks '%s'", i, err, bad[i].message_part);
    }
}
