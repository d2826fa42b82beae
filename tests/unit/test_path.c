/* path_is_safe_relative: what the data directory may be joined with. */
#include <criterion/criterion.h>
#include <string.h>

#include "util/path.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool safe(const char *s)
{
    return path_is_safe_relative(s, strlen(s));
}

/* What the worker writes, and other harmless names. */
static const char *const good[] = {
    "videos/01JD2Z7Q8M3V4W5X6Y7Z8A9B0C.mp4",
    "thumbnails/01JD2Z7Q8M3V4W5X6Y7Z8A9B0C.jpg",
    "a",
    "a/b/c",
    "...",
    "..a",
    "a..",
    "a..b/c",
    ".hidden",
    "a/.b",
    "with space.mp4",
    "caf\xc3\xa9.mp4",
};

/* Each breaks one rule. */
static const char *const bad[] = {
    "", /* empty */
    "/etc/passwd",
    "/", /* absolute */
    "..",
    "../x",
    "a/../../x",
    "a/..", /* a ".." segment */
    ".",
    "./a",
    "a/./b",
    "a/.", /* a "." segment */
    "a//b",
    "a/",
    "//a", /* an empty segment */
    "a\\b",
    "..\\x",
    "\\x", /* a backslash */
    "a\nb",
    "a\rb",
    "a\tb",
    "\x1b[31m",
    "a\x7f",
    "a\x01", /* control bytes */
};

Test(path, accepts_plain_relative_paths)
{
    for (size_t i = 0; i < N(good); i++)
        cr_expect(safe(good[i]), "'%s' was refused", good[i]);
}

Test(path, refuses_each_unsafe_form)
{
    for (size_t i = 0; i < N(bad); i++)
        cr_expect_not(safe(bad[i]), "'%s' was accepted", bad[i]);
}

Test(path, refuses_an_embedded_nul)
{
    static const char withnul[] = "videos/a.mp4\0../../etc/passwd";
    cr_expect_not(path_is_safe_relative(withnul, sizeof withnul - 1));
    cr_expect(path_is_safe_relative(withnul, strlen(withnul)));
}

Test(path, refuses_null)
{
    cr_expect_not(path_is_safe_relative(NULL, 0));
    cr_expect_not(path_is_safe_relative(NULL, 5));
}

Test(path, reads_only_len_bytes)
{
    cr_expect(path_is_safe_relative("videos/a.mp4/../x", 12));
    cr_expect_not(path_is_safe_relative("videos/a.mp4/../x", 13)); /* "videos/a.mp4/": empty last segment */
}
