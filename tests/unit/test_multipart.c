/* The streaming multipart/form-data parser: every form is parsed fed whole, byte by byte and
 * cut in two at every offset, and all of these must give the same parts, content and
 * verdict; then the values are checked. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) lit, sizeof(lit) - 1 /* a literal with its length (NULs inside count) */
#define MAX_CONTENT 4096

struct got_part {
    struct multipart_part head;
    char content[MAX_CONTENT];
    size_t len;
    int ended;
};

struct got {
    struct multipart m;
    struct got_part parts[MULTIPART_MAX_PARTS];
    int n;
    int data_calls;
    const char *piece; /* being fed: on_part_data's bytes are in it or in m */
    size_t piece_len;
    int stop_begin;          /* on_part_begin of this part (1-based) stops the parse */
    const char *stop_reason; /* given to multipart_fail, or NULL to just return -1 */
    int feed_rc, finish_rc;
    char error[256];
};

static int stop(struct got *g)
{
    return g->stop_reason != NULL ? multipart_fail(&g->m, g->stop_reason) : -1;
}

static int on_begin(void *arg, const struct multipart_part *part)
{
    struct got *g = arg;
    cr_assert_lt(g->n, MULTIPART_MAX_PARTS, "more parts than the limit were begun");
    g->parts[g->n++].head = *part;
    return g->n == g->stop_begin ? stop(g) : 0;
}

static int on_data(void *arg, const char *bytes, size_t len)
{
    struct got *g = arg;
    const char *state = (const char *)&g->m;
    cr_assert_gt(g->n, 0, "content before any part");
    cr_assert_gt(len, 0, "an empty piece of content");
    cr_assert((bytes >= g->piece && bytes + len <= g->piece + g->piece_len) ||
                  (bytes >= state && bytes + len <= state + sizeof g->m),
              "content outside the piece fed and the parser's state");
    struct got_part *p = &g->parts[g->n - 1];
    cr_assert_eq(p->ended, 0, "content after the part's end");
    cr_assert_leq(p->len + len, MAX_CONTENT);
    memcpy(p->content + p->len, bytes, len);
    p->len += len;
    g->data_calls++;
    return 0;
}

static int on_end(void *arg)
{
    struct got *g = arg;
    cr_assert_gt(g->n, 0, "an end before any part");
    g->parts[g->n - 1].ended++;
    return 0;
}

static const struct multipart_callbacks callbacks = {on_begin, on_data, on_end};

static void feed(struct got *g, const char *bytes, size_t len)
{
    if (g->feed_rc != 0)
        return;
    g->piece = bytes, g->piece_len = len;
    g->feed_rc = multipart_feed(&g->m, bytes, len);
}

/* Feeds body[0, split) then the rest in pieces of `step` bytes (0: the rest at once). */
static struct got *parse_with(const char *boundary, const char *body, size_t len, size_t split, size_t step,
                              int stop_begin, const char *stop_reason)
{
    struct got *g = calloc(1, sizeof *g);
    cr_assert_not_null(g);
    g->stop_begin = stop_begin, g->stop_reason = stop_reason;
    multipart_init(&g->m, boundary, &callbacks, g);
    feed(g, body, split);
    for (size_t at = split; at < len;) {
        size_t n = step == 0 || step > len - at ? len - at : step;
        feed(g, body + at, n);
        at += n;
    }
    g->finish_rc = g->feed_rc == 0 ? multipart_finish(&g->m) : -1;
    snprintf(g->error, sizeof g->error, "%s", multipart_error(&g->m));
    return g;
}

static void expect_same(const struct got *a, const struct got *b, const char *how)
{
    cr_assert_eq(a->feed_rc, b->feed_rc, "%s: feed %d, whole %d", how, b->feed_rc, a->feed_rc);
    cr_assert_eq(a->finish_rc, b->finish_rc, "%s: finish differs", how);
    cr_assert_str_eq(a->error, b->error, "%s: error differs", how);
    cr_assert_eq(a->n, b->n, "%s: %d parts, whole %d", how, b->n, a->n);
    for (int i = 0; i < a->n; i++) {
        const struct got_part *p = &a->parts[i], *q = &b->parts[i];
        cr_assert_str_eq(p->head.name, q->head.name, "%s: part %d", how, i);
        cr_assert_str_eq(p->head.filename, q->head.filename, "%s: part %d", how, i);
        cr_assert_eq(p->head.has_filename, q->head.has_filename, "%s: part %d", how, i);
        cr_assert_str_eq(p->head.content_type, q->head.content_type, "%s: part %d", how, i);
        cr_assert_eq(p->len, q->len, "%s: part %d has %zu bytes, whole %zu", how, i, q->len, p->len);
        cr_assert_arr_eq(p->content, q->content, p->len, "%s: part %d content differs", how, i);
        cr_assert_eq(p->ended, q->ended, "%s: part %d", how, i);
    }
}

/* The body parsed whole, then byte by byte and split at every offset, each the same. */
static struct got *parse_stopping(const char *boundary, const char *body, size_t len, int stop_begin,
                                  const char *stop_reason)
{
    struct got *whole = parse_with(boundary, body, len, 0, 0, stop_begin, stop_reason);
    struct got *g = parse_with(boundary, body, len, 0, 1, stop_begin, stop_reason);
    expect_same(whole, g, "byte by byte");
    free(g);
    for (size_t i = 0; i <= len; i++) {
        char how[64];
        snprintf(how, sizeof how, "split at %zu", i);
        g = parse_with(boundary, body, len, i, 0, stop_begin, stop_reason);
        expect_same(whole, g, how);
        free(g);
    }
    return whole;
}

static struct got *parse(const char *boundary, const char *body, size_t len)
{
    return parse_stopping(boundary, body, len, 0, NULL);
}

static void expect_ok(const struct got *g)
{
    cr_expect_eq(g->feed_rc, 0, "feed failed: %s", g->error);
    cr_expect_eq(g->finish_rc, 0, "finish failed: %s", g->error);
    cr_expect_str_eq(g->error, "");
}

static void expect_error(const struct got *g, const char *message)
{
    cr_expect(g->feed_rc != 0 || g->finish_rc != 0, "accepted, '%s' expected", message);
    cr_expect_str_eq(g->error, message);
}

static void expect_part(const struct got *g, int i, const char *name, const char *filename, const char *type,
                        const char *content, size_t len)
{
    cr_assert_lt(i, g->n, "no part %d", i);
    const struct got_part *p = &g->parts[i];
    cr_expect_str_eq(p->head.name, name);
    cr_expect_str_eq(p->head.filename, filename ? filename : "");
    cr_expect_eq(p->head.has_filename, filename != NULL);
    cr_expect_str_eq(p->head.content_type, type);
    cr_expect_eq(p->len, len, "part %d has %zu bytes, %zu expected", i, p->len, len);
    if (p->len == len)
        cr_expect_arr_eq(p->content, content, len, "part %d content differs", i);
    cr_expect_eq(p->ended, 1, "part %d ended %d times", i, p->ended);
}

/* What curl -F 'type=start' -F 'file=@img.png' sends (with a shorter boundary). */
static const char upload[] = "--------------------------d74496d66958873e\r\n"
                             "Content-Disposition: form-data; name=\"type\"\r\n"
                             "\r\n"
                             "start\r\n"
                             "--------------------------d74496d66958873e\r\n"
                             "Content-Disposition: form-data; name=\"file\"; filename=\"img.png\"\r\n"
                             "Content-Type: image/png\r\n"
                             "\r\n"
                             "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n--\r\n"
                             "\r\n"
                             "--------------------------d74496d66958873e--\r\n";
static const char upload_boundary[] = "------------------------d74496d66958873e";

Test(multipart, a_well_formed_upload)
{
    struct got *g = parse(upload_boundary, S(upload));
    expect_ok(g);
    cr_assert_eq(g->n, 2);
    expect_part(g, 0, "type", NULL, "", S("start"));
    expect_part(g, 1, "file", "img.png", "image/png", S("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n--\r\n"));
    free(g);
}

Test(multipart, content_is_passed_without_copies_when_fed_whole)
{
    struct got *g = parse_with(upload_boundary, S(upload), 0, 0, 0, NULL);
    expect_ok(g);
    cr_expect_eq(g->data_calls, 2, "one call per part expected, got %d", g->data_calls);
    free(g);
}

/* Near misses of "\r\n--bnd" inside content, each at the content's start, middle and end. */
static const char *const near_misses[] = {
    "\r\n--",     "\r\n--bn",    "\r\n-bnd", "\r\n--bNd", "--bnd", "\n--bnd", "\r--bnd",
    "\r\r\n--bn", "\r\n\r\n--b", "\r",       "\r\n",      "\r\r",  "-",       "\r\n-\r\n--bn\r\n--",
};

Test(multipart, near_delimiters_in_content_are_content)
{
    for (size_t i = 0; i < N(near_misses); i++) {
        char content[64], body[256];
        int clen = snprintf(content, sizeof content, "%sx%sy%s", near_misses[i], near_misses[i], near_misses[i]);
        int len = snprintf(body, sizeof body,
                           "--bnd\r\nContent-Disposition: form-data; name=f\r\n\r\n%s\r\n--bnd--\r\n", content);
        struct got *g = parse("bnd", body, (size_t)len);
        expect_ok(g);
        cr_assert_eq(g->n, 1, "case %zu", i);
        expect_part(g, 0, "f", NULL, "", content, (size_t)clen);
        free(g);
    }
}

Test(multipart, the_crlf_before_a_delimiter_belongs_to_it)
{
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                               "one\r\n\r\n"
                               "--b\r\nContent-Disposition: form-data; name=b\r\n\r\n"
                               "two\r\n"
                               "--b\r\nContent-Disposition: form-data; name=c\r\n\r\n"
                               "\r\r\n"
                               "--b--";
    struct got *g = parse("b", S(body));
    expect_ok(g);
    cr_assert_eq(g->n, 3);
    expect_part(g, 0, "a", NULL, "", S("one\r\n"));
    expect_part(g, 1, "b", NULL, "", S("two"));
    expect_part(g, 2, "c", NULL, "", S("\r"));
    free(g);
}

Test(multipart, empty_parts_and_an_empty_form)
{
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                               "\r\n--b\r\nContent-Disposition: form-data; name=b; filename=\"\"\r\n\r\n"
                               "\r\n--b--\r\n";
    struct got *g = parse("b", S(body));
    expect_ok(g);
    cr_assert_eq(g->n, 2);
    expect_part(g, 0, "a", NULL, "", "", 0);
    expect_part(g, 1, "b", "", "", "", 0);
    free(g);

    g = parse("b", S("--b--\r\n"));
    expect_ok(g);
    cr_expect_eq(g->n, 0);
    free(g);
}

Test(multipart, preamble_padding_and_epilogue)
{
    static const char body[] = "This is a preamble --b, ignored.\r\n--b-x\r\nstill preamble\r\n"
                               "--b \t\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n"
                               "--b\t\r\nContent-Disposition: form-data; name=b\r\n\r\nB\r\n"
                               "--b-- \t\r\n \r\n\t\n";
    struct got *g = parse("b", S(body));
    /* "--b-x" after a CRLF is a delimiter followed by junk: refused, even in the preamble */
    expect_error(g, "a form boundary line has bytes after the boundary (the boundary must not occur inside a part)");
    free(g);

    static const char fine[] = "This is a preamble --b, ignored.\r\n\r\n"
                               "--b \t\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n"
                               "--b\t\r\nContent-Disposition: form-data; name=b\r\n\r\nB\r\n"
                               "--b-- \t\r\n \r\n\t\n";
    g = parse("b", S(fine));
    expect_ok(g);
    cr_assert_eq(g->n, 2);
    expect_part(g, 0, "a", NULL, "", S("A"));
    expect_part(g, 1, "b", NULL, "", S("B"));
    free(g);
}

Test(multipart, header_names_and_parameters)
{
    static const char body[] =
        "--b\r\n"
        "content-DISPOSITION:Form-Data ;  Name = \"a \\\"quoted\\\" \\\\ name\" ; filename=\"c:\\\\x\\y.png\"\r\n"
        "X-Unknown: whatever; name=\"other\"\r\n"
        "CONTENT-type: \t image/jpeg; q=1 \t\r\n"
        "\r\nA\r\n"
        "--b\r\n"
        "Content-Disposition: form-data; filename*=UTF-8''%e2%82%ac.png; name=token_name.1; size=12;\r\n"
        "\r\nB\r\n"
        "--b\r\n"
        "Content-Disposition: form-data; name=\"\xc3\xa9t\xc3\xa9\"; filename=\"\xe2\x82\xac 1.png\"\r\n"
        "\r\nC\r\n"
        "--b--\r\n";
    struct got *g = parse("b", S(body));
    expect_ok(g);
    cr_assert_eq(g->n, 3);
    expect_part(g, 0, "a \"quoted\" \\ name", "c:\\xy.png", "image/jpeg; q=1", S("A"));
    expect_part(g, 1, "token_name.1", NULL, "", S("B"));
    expect_part(g, 2, "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac 1.png", "", S("C"));
    free(g);
}

Test(multipart, long_names_are_cut)
{
    char name[300], body[700];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int len = snprintf(body, sizeof body, "--b\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\nx\r\n--b--", name);
    struct got *g = parse_with("b", body, (size_t)len, 0, 0, 0, NULL);
    expect_ok(g);
    cr_assert_eq(g->n, 1);
    cr_expect_eq(strlen(g->parts[0].head.name), MULTIPART_MAX_NAME);
    cr_expect_eq(strspn(g->parts[0].head.name, "n"), MULTIPART_MAX_NAME);
    free(g);
}

/* Forms refused, each with the message the user sees. */
static const struct {
    const char *body;
    const char *error;
} refused[] = {
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n", "the form ends before its closing boundary"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--b", "the form ends before its closing boundary"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--b-", "the form ends before its closing boundary"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n", "the form ends before its closing boundary"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--b--\r\nX",
     "the form has bytes after its closing boundary"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--b--\r\n--b--\r\n",
     "the form has bytes after its closing boundary"},
    {"--c\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--c--\r\n",
     "the upload has no line with the boundary given in its Content-Type"},
    {"", "the upload has no line with the boundary given in its Content-Type"},
    {"--bc\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--bc--\r\n",
     "a form boundary line has bytes after the boundary (the boundary must not occur inside a part)"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nA\r\n--bb\r\n--b--\r\n",
     "a form boundary line has bytes after the boundary (the boundary must not occur inside a part)"},
    {"--b -\r\n", "a form boundary line has bytes after the boundary (the boundary must not occur inside a part)"},
    {"--b\rX", "a form boundary line does not end in CRLF"},
    {"--b\n", "a form boundary line has bytes after the boundary (the boundary must not occur inside a part)"},
    {"--b\r\n\r\nA\r\n--b--", "a form part has no Content-Disposition: form-data header"},
    {"--b\r\nContent-Type: text/plain\r\n\r\nA\r\n--b--", "a form part has no Content-Disposition: form-data header"},
    {"--b\r\nContent-Disposition: form-data\r\n\r\nA\r\n--b--", "a form part has no name"},
    {"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nA\r\n--b--", "a form part has no name"},
    {"--b\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\nA\r\n--b--", "a form part has no name"},
    {"--b\r\nContent-Disposition: attachment; name=a\r\n\r\nA\r\n--b--",
     "a form part's Content-Disposition is not form-data"},
    {"--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nA\r\n--b--",
     "a form part's Content-Disposition is malformed"},
    {"--b\r\nContent-Disposition: form-data; name=a b\r\n\r\nA\r\n--b--",
     "a form part's Content-Disposition is malformed"},
    {"--b\r\nContent-Disposition: form-data; name\r\n\r\nA\r\n--b--", "a form part's Content-Disposition is malformed"},
    {"--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nA\r\n--b--",
     "a form part's Content-Disposition gives its name or filename twice"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n\r\nA\r\n--b--",
     "a form part has two Content-Disposition or Content-Type headers"},
    {"--b\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nA\r\n--b--",
     "a form part's header is folded over two lines (not allowed)"},
    {"--b\r\nContent-Disposition: form-data; name=a\n\nA\r\n--b--", "a form part's header line does not end in CRLF"},
    {"--b\r\nContent-Disposition: form-data; name=a\rX\r\n\r\nA\r\n--b--",
     "a form part's header line does not end in CRLF"},
    {"--b\r\nContent-Disposition form-data; name=a\r\n\r\nA\r\n--b--",
     "a form part has a header line that is not 'Name: value'"},
    {"--b\r\nContent-Disposition: form-data; name=a\r\n: x\r\n\r\nA\r\n--b--",
     "a form part has a header line that is not 'Name: value'"},
    {"--b\r\nContent-Disposition: form-data; name=\"a\x01\"\r\n\r\nA\r\n--b--",
     "a form part's header has a control character"},
};

Test(multipart, malformed_forms_are_refused)
{
    for (size_t i = 0; i < N(refused); i++) {
        struct got *g = parse("b", refused[i].body, strlen(refused[i].body));
        cr_expect(g->feed_rc != 0 || g->finish_rc != 0, "case %zu accepted", i);
        cr_expect_str_eq(g->error, refused[i].error, "case %zu", i);
        free(g);
    }
}

Test(multipart, a_nul_in_a_header_is_refused)
{
    struct got *g = parse("b", S("--b\r\nContent-Disposition: form-data; name=\"file\0x\"\r\n\r\nA\r\n--b--"));
    expect_error(g, "a form part's header has a control character");
    cr_expect_eq(g->n, 0);
    free(g);
}

/* n parts "--b\r\nContent-Disposition: form-data; name=pI\r\n\r\nI\r\n", closed. */
static size_t many_parts(char *body, size_t cap, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len, "--b\r\nContent-Disposition: form-data; name=p%d\r\n\r\n%d\r\n",
                                i, i);
    len += (size_t)snprintf(body + len, cap - len, "--b--\r\n");
    return len;
}

Test(multipart, at_most_sixteen_parts)
{
    char body[4096];
    struct got *g = parse("b", body, many_parts(body, sizeof body, MULTIPART_MAX_PARTS));
    expect_ok(g);
    cr_assert_eq(g->n, MULTIPART_MAX_PARTS);
    expect_part(g, 15, "p15", NULL, "", S("15"));
    free(g);

    g = parse_with("b", body, many_parts(body, sizeof body, MULTIPART_MAX_PARTS + 1), 0, 0, 0, NULL);
    expect_error(g, "the form has more than 16 parts");
    cr_expect_eq(g->n, MULTIPART_MAX_PARTS);
    free(g);
}

/* One part whose headers (CRLFs and the empty line counted) are `size` bytes. */
static size_t headers_of(char *body, size_t size)
{
    static const char cd[] = "Content-Disposition: form-data; name=a\r\nX: ";
    size_t len = (size_t)sprintf(body, "--b\r\n%s", cd);
    size_t pad = size - (sizeof cd - 1) - 4;
    memset(body + len, 'x', pad);
    len += pad;
    return len + (size_t)sprintf(body + len, "\r\n\r\nA\r\n--b--\r\n");
}

Test(multipart, headers_of_a_part_are_bounded)
{
    static char body[MULTIPART_MAX_HEADER + 100];
    struct got *g = parse_with("b", body, headers_of(body, MULTIPART_MAX_HEADER), 0, 1, 0, NULL);
    expect_ok(g);
    expect_part(g, 0, "a", NULL, "", S("A"));
    free(g);

    g = parse_with("b", body, headers_of(body, MULTIPART_MAX_HEADER + 1), 0, 0, 0, NULL);
    expect_error(g, "a form part's headers are longer than 8192 bytes");
    cr_expect_eq(g->n, 0);
    free(g);
}

Test(multipart, a_callback_stops_the_parse)
{
    struct got *g = parse_stopping(upload_boundary, S(upload), 2, "only one part, please");
    expect_error(g, "only one part, please");
    cr_expect_eq(g->n, 2);
    cr_expect_eq(g->parts[1].len, 0, "content after the stop");
    cr_expect_eq(multipart_feed(&g->m, "x", 1), -1, "a feed after a stop went on");
    cr_expect_str_eq(multipart_error(&g->m), "only one part, please");
    free(g);

    g = parse_stopping(upload_boundary, S(upload), 1, NULL);
    expect_error(g, "the upload was refused while its form was read");
    cr_expect_eq(g->n, 1);
    free(g);
}

Test(multipart, a_long_boundary_across_pieces)
{
    char boundary[MULTIPART_MAX_BOUNDARY + 1], body[1024];
    memset(boundary, '-', MULTIPART_MAX_BOUNDARY);
    boundary[MULTIPART_MAX_BOUNDARY] = '\0';
    boundary[MULTIPART_MAX_BOUNDARY - 1] = 'z';
    int len = snprintf(body, sizeof body,
                       "--%s\r\nContent-Disposition: form-data; name=f\r\n\r\n\r\n--%.69s\r\n---%s\r\n--%s--\r\n",
                       boundary, boundary, boundary, boundary);
    struct got *g = parse(boundary, body, (size_t)len);
    expect_ok(g);
    cr_assert_eq(g->n, 1);
    char want[200];
    int wlen = snprintf(want, sizeof want, "\r\n--%.69s\r\n---%s", boundary, boundary);
    expect_part(g, 0, "f", NULL, "", want, (size_t)wlen);
    free(g);
}

Test(multipart, an_invalid_boundary_fails_every_feed)
{
    static const char *const bad[] = {"", "a\"b", "ends with space ", "tab\there",
                                      "01234567890123456789012345678901234567890123456789012345678901234567890"};
    for (size_t i = 0; i < N(bad); i++) {
        struct multipart m;
        multipart_init(&m, bad[i], &callbacks, NULL);
        cr_expect_eq(multipart_feed(&m, "--", 2), -1, "boundary '%s' accepted", bad[i]);
        cr_expect_eq(multipart_finish(&m), -1);
        cr_expect_str_eq(multipart_error(&m),
                         "the form's boundary is invalid (1 to 70 letters, digits or '()+_,-./:=? )");
    }
}

static const struct {
    const char *content_type;
    const char *boundary; /* NULL: refused */
} content_types[] = {
    {"multipart/form-data; boundary=abc", "abc"},
    {"Multipart/Form-Data;boundary=abc", "abc"},
    {"  multipart/form-data ; charset=utf-8; BOUNDARY=\"a b:c=d?\" ; x=y  ", "a b:c=d?"},
    {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
    {"multipart/form-data; boundary=\"----=_Part_0_1.2\"", "----=_Part_0_1.2"},
    {"multipart/form-data; boundary=\"a\\bc\"", "abc"},
    {"multipart/form-data; boundary=a;", "a"},
    {"multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789",
     "0123456789012345678901234567890123456789012345678901234567890123456789"},
    {"multipart/form-data; boundary=01234567890123456789012345678901234567890123456789012345678901234567890", NULL},
    {"multipart/form-data", NULL},
    {"multipart/form-data;", NULL},
    {"multipart/form-data; boundary=", NULL},
    {"multipart/form-data; boundary=\"\"", NULL},
    {"multipart/form-data; boundary=\"abc ", NULL},
    {"multipart/form-data; boundary=\"abc \"", NULL},
    {"multipart/form-data; boundary=a!b", NULL},
    {"multipart/form-data; boundary=a; boundary=a", NULL},
    {"multipart/form-data; boundary=a b", NULL},
    {"multipart/form-dataa; boundary=abc", NULL},
    {"multipart/mixed; boundary=abc", NULL},
    {"application/x-www-form-urlencoded", NULL},
    {"text/plain; boundary=abc", NULL},
    {"", NULL},
    {"multipart/form-data boundary=abc", NULL},
    {"multipart/form-data; =abc; boundary=abc", NULL},
};

Test(multipart, boundary_from_content_type)
{
    for (size_t i = 0; i < N(content_types); i++) {
        char out[MULTIPART_MAX_BOUNDARY + 1] = "unchanged";
        const char *ct = content_types[i].content_type, *want = content_types[i].boundary;
        int rc = multipart_boundary(ct, strlen(ct), out, sizeof out);
        if (want == NULL) {
            cr_expect_eq(rc, -1, "'%s' gave '%s'", ct, out);
        } else {
            cr_expect_eq(rc, 0, "'%s' refused", ct);
            cr_expect_str_eq(out, want, "'%s'", ct);
        }
    }
}

Test(multipart, boundary_needs_room)
{
    char out[4];
    static const char ct[] = "multipart/form-data; boundary=abcd";
    cr_expect_eq(multipart_boundary(ct, sizeof ct - 1, out, sizeof out), -1);
    cr_expect_eq(multipart_boundary(ct, sizeof ct - 2, out, sizeof out), 0);
    cr_expect_str_eq(out, "abc");
}
