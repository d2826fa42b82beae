/* util/log_json.c: a log message as the inside of a JSON string, whatever its bytes (a
 * provider's reason, a URL, a file name), so that a JSON log line always parses. */
#include <criterion/criterion.h>
#include <string.h>

#include "util/log.h"

static const struct {
    const char *in, *out;
} cases[] = {
    {"plain text", "plain text"},
    {"say \"hi\" \\ there", "say \\\"hi\\\" \\\\ there"},
    {"tab\there\nnew\r\x01", "tab\\u0009here\\u000anew\\u000d\\u0001"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac"}, /* é € 🎬 kept */
    {"bad \xff byte", "bad \\ufffd byte"},
    {"overlong \xc0\xaf", "overlong \\ufffd\\ufffd"},
    {"cut \xe2\x82", "cut \\ufffd\\ufffd"},
    {"surrogate \xed\xa0\x80", "surrogate \\ufffd\\ufffd\\ufffd"},
};

Test(log, json_escape_keeps_utf8_and_escapes_the_rest)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        size_t n = 0;
        log_json_escape(buf, &n, sizeof buf, 1, cases[i].in);
        buf[n] = '\0';
        cr_expect_str_eq(buf, cases[i].out, "case %zu", i);
    }
}

Test(log, json_escape_stops_before_what_does_not_fit)
{
    char buf[16];
    size_t n = 0;
    log_json_escape(buf, &n, sizeof buf, 5, "abcdefghij\"klmnop");
    cr_expect_eq(n, 10u, "stopped at %zu", n); /* the escaped quote (2 bytes) + 5 reserved would not fit */
    n = 0;
    log_json_escape(buf, &n, sizeof buf, 5, "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac");
    cr_expect_eq(n, 8u, "a character is never cut (%zu)", n);
}
