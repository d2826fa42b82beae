/* util/json_region.c: provider replies parsed into a per-thread region instead of malloc.
 * What a user would notice if it broke: a reply's values read wrong, a tree freed twice or
 * overwritten while still held, or text from json_dumps that free() rejects. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_region.h"

static const char poll_reply[] =
    "{\"status\":\"processing\",\"eta\":2.0,\"message\":\"Try to fetch request after seconds estimated\","
    "\"id\":100000123,\"output\":[],\"meta\":{\"model_id\":\"veo3\",\"prompt\":\"a red fox in the snow\"},"
    "\"future_links\":[\"http://127.0.0.1:40000/generations/abc.mp4\"]}";

static void setup(void)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the region is off under AddressSanitizer (jansson stays on malloc)");
#endif
    json_region_install();
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *root = json_region_loadb(text, strlen(text), 0, &e);
    cr_assert_not_null(root, "%s", e.text);
    return root;
}

Test(json_region, a_reply_parses_into_the_region_and_its_values_read_right, .init = setup)
{
    json_t *root = parse(poll_reply);
    cr_expect(json_region_holds(root));
    cr_expect_str_eq(json_string_value(json_object_get(root, "status")), "processing");
    cr_expect_eq(json_integer_value(json_object_get(root, "id")), 100000123);
    cr_expect_float_eq(json_real_value(json_object_get(root, "eta")), 2.0, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(root, "meta"), "prompt")),
                     "a red fox in the snow");
    json_decref(root);
}

Test(json_region, the_region_is_reused_once_every_tree_in_it_is_freed, .init = setup)
{
    json_t *first = parse(poll_reply);
    json_decref(first);
    json_t *again = parse(poll_reply);
    cr_expect_eq(again, first, "the second parse did not start at the region's start");
    json_decref(again);
}

Test(json_region, a_tree_still_held_is_not_overwritten_by_the_next_parse, .init = setup)
{
    json_t *held = parse(poll_reply);
    json_t *next = parse("{\"status\":\"success\",\"output\":[\"http://x.test/v.mp4\"]}");
    cr_expect_neq(next, held);
    cr_expect_str_eq(json_string_value(json_object_get(held, "status")), "processing");
    json_decref(held);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(next, "output"), 0)), "http://x.test/v.mp4");
    json_decref(next);
    json_t *after = parse(poll_reply); /* both freed: back to the start */
    cr_expect_eq(after, held);
    json_decref(after);
}

Test(json_region, built_trees_and_dumped_text_stay_on_malloc, .init = setup)
{
    json_t *built = json_pack("{s:s, s:i}", "model_id", "veo3", "duration", 8);
    cr_expect_not(json_region_holds(built));
    json_t *parsed = parse(poll_reply);
    char *text = json_dumps(parsed, JSON_COMPACT); /* a caller frees this with free() */
    cr_assert_not_null(text);
    cr_expect_not(json_region_holds(text));
    cr_expect(strstr(text, "\"status\":\"processing\"") != NULL);
    free(text);
    json_decref(parsed);
    json_decref(built);
}

Test(json_region, a_reply_larger_than_the_region_still_parses_whole, .init = setup)
{
    size_t n = 2 * JSON_REGION_BYTES;
    char *text = malloc(n + 64);
    cr_assert_not_null(text);
    strcpy(text, "{\"items\":[");
    size_t at = strlen(text), count = 0;
    while (at + 16 < n) {
        at += (size_t)sprintf(text + at, "%s\"v%05zu\"", count ? "," : "", count);
        count++;
    }
    strcpy(text + at, "]}");
    json_t *root = parse(text);
    json_t *items = json_object_get(root, "items");
    cr_expect_eq(json_array_size(items), count);
    char last[16];
    snprintf(last, sizeof last, "v%05zu", count - 1);
    cr_expect_str_eq(json_string_value(json_array_get(items, count - 1)), last);
    json_decref(root);
    free(text);
    json_t *small = parse(poll_reply); /* everything freed: the region is whole again */
    cr_expect(json_region_holds(small));
    json_decref(small);
}
