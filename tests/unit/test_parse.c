/* parse_int64 / parse_int: the one parser of whole numbers from outside input. */
#include <criterion/criterion.h>
#include <limits.h>

#include "util/parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Not a whole number, whatever the range. */
static const char *const malformed[] = {
    "",
    "-",
    "+",
    "+5",
    " 5",
    "5 ",
    "\t5",
    "5\n",
    "--5",
    "-+5",
    "- 5",
    "5x",
    "x5",
    "1.5",
    "1e3",
    "0x10",
    "1_000",
    "1,000",
    "\xd9\xa3" /* Arabic-Indic 3 */,
};

Test(parse, refuses_malformed_strings)
{
    for (size_t i = 0; i < N(malformed); i++) {
        long long v = 42;
        cr_expect_eq(parse_int64(malformed[i], LLONG_MIN, LLONG_MAX, &v), -1, "'%s' was accepted", malformed[i]);
        cr_expect_eq(v, 42, "'%s' changed the output on failure", malformed[i]);
    }
}

static const struct {
    const char *s;
    long long want;
} good[] = {
    {"0", 0},
    {"7", 7},
    {"-7", -7},
    {"-0", 0},
    {"007", 7},
    {"1000000000", 1000000000},
    {"9223372036854775807", LLONG_MAX},
    {"-9223372036854775808", LLONG_MIN},
};

Test(parse, reads_whole_numbers_with_an_optional_minus)
{
    for (size_t i = 0; i < N(good); i++) {
        long long v = 42;
        cr_expect_eq(parse_int64(good[i].s, LLONG_MIN, LLONG_MAX, &v), 0, "'%s' was refused", good[i].s);
        cr_expect_eq(v, good[i].want, "'%s' read as %lld", good[i].s, v);
    }
}

Test(parse, refuses_overflow_rather_than_clamping)
{
    long long v = 42;
    cr_expect_eq(parse_int64("9223372036854775808", LLONG_MIN, LLONG_MAX, &v), -1);
    cr_expect_eq(parse_int64("-9223372036854775809", LLONG_MIN, LLONG_MAX, &v), -1);
    cr_expect_eq(parse_int64("99999999999999999999999", LLONG_MIN, LLONG_MAX, &v), -1);
    cr_expect_eq(v, 42);
}

Test(parse, bounds_are_inclusive)
{
    long long v = 42;
    cr_expect_eq(parse_int64("1", 1, 100, &v), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(parse_int64("100", 1, 100, &v), 0);
    cr_expect_eq(v, 100);
    cr_expect_eq(parse_int64("0", 1, 100, &v), -1);
    cr_expect_eq(parse_int64("101", 1, 100, &v), -1);
    cr_expect_eq(parse_int64("-3", 1, 100, &v), -1);
    cr_expect_eq(parse_int64("-3", -3, -1, &v), 0);
    cr_expect_eq(v, -3);
    cr_expect_eq(parse_int64("-4", -3, -1, &v), -1);
    cr_expect_eq(parse_int64("0", -3, -1, &v), -1);
}

Test(parse, parse_int_checks_the_int_range)
{
    int v = 42;
    cr_expect_eq(parse_int("2147483647", 0, INT_MAX, &v), 0);
    cr_expect_eq(v, INT_MAX);
    cr_expect_eq(parse_int("-2147483648", INT_MIN, 0, &v), 0);
    cr_expect_eq(v, INT_MIN);
    v = 42;
    cr_expect_eq(parse_int("2147483648", 0, INT_MAX, &v), -1);
    cr_expect_eq(parse_int("4294967297", INT_MIN, INT_MAX, &v), -1); /* 2^32 + 1 must not wrap to 1 */
    cr_expect_eq(parse_int("16", 16, 7680, &v), 0);
    cr_expect_eq(v, 16);
    cr_expect_eq(parse_int("7681", 16, 7680, &v), -1);
    cr_expect_eq(parse_int("", 16, 7680, &v), -1);
    cr_expect_eq(v, 16);
}
