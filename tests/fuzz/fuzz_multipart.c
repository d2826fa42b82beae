/* libFuzzer target: any bytes as a multipart/form-data body, fed whole, in two pieces cut at
 * an offset read from the input, and byte by byte. All three must give the same parts,
 * content bytes and verdict; content is never empty and always lies in the piece being fed
 * or in the parser's state. The same bytes are also read as a Content-Type value.
 *
 * Input: two bytes choosing the cut, one choosing the boundary, then the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

#define EVENTS_CAP (MULTIPART_MAX_PARTS * (4 * MULTIPART_MAX_NAME + 64) + 64)

static const char *const boundaries[] = {
    "b",
    "bnd",
    "----------------------------------------------------------------long",
};

/* What a parse gave: the content bytes of all parts in order, and the events (a part's
 * begin with its headers, its end) each with how much content came before it. */
struct run {
    struct multipart m;
    const char *piece;
    size_t piece_len;
    char *content;
    size_t len;
    char events[EVENTS_CAP];
    size_t events_len;
    int in_part;
    int rc;
    char error[256];
};

static void event(struct run *r, const char *what)
{
    int n = snprintf(r->events + r->events_len, EVENTS_CAP - r->events_len, "%s@%zu\n", what, r->len);
    if (n < 0 || (size_t)n >= EVENTS_CAP - r->events_len)
        __builtin_trap(); /* more events than parts allow */
    r->events_len += (size_t)n;
}

static int on_begin(void *arg, const struct multipart_part *p)
{
    struct run *r = arg;
    if (r->in_part || p->name[0] == '\0')
        __builtin_trap(); /* a part begun inside another, or without a name */
    r->in_part = 1;
    char what[4 * MULTIPART_MAX_NAME + 16];
    snprintf(what, sizeof what, "B%s|%s|%s|%d", p->name, p->filename, p->content_type, p->has_filename);
    event(r, what);
    return 0;
}

static int on_data(void *arg, const char *bytes, size_t len)
{
    struct run *r = arg;
    const char *state = (const char *)&r->m;
    int in_piece = bytes >= r->piece && bytes + len <= r->piece + r->piece_len;
    int in_state = bytes >= state && bytes + len <= state + sizeof r->m;
    if (!r->in_part || len == 0 || !(in_piece || in_state))
        __builtin_trap();
    memcpy(r->content + r->len, bytes, len); /* never more than the input: content is a part of it */
    r->len += len;
    return 0;
}

static int on_end(void *arg)
{
    struct run *r = arg;
    if (!r->in_part)
        __builtin_trap();
    r->in_part = 0;
    event(r, "E");
    return 0;
}

static const struct multipart_callbacks callbacks = {on_begin, on_data, on_end};

static void feed(struct run *r, const char *bytes, size_t len)
{
    if (r->rc != 0)
        return;
    r->piece = bytes, r->piece_len = len;
    r->rc = multipart_feed(&r->m, bytes, len);
}

/* Feeds body[0, cut) then the rest in pieces of `step` bytes (0: at once). */
static struct run *parse(const char *boundary, const char *body, size_t len, size_t cut, size_t step)
{
    struct run *r = calloc(1, sizeof *r);
    r->content = malloc(len + 1);
    if (r->content == NULL)
        abort();
    multipart_init(&r->m, boundary, &callbacks, r);
    feed(r, body, cut);
    for (size_t at = cut; at < len;) {
        size_t n = step == 0 || step > len - at ? len - at : step;
        feed(r, body + at, n);
        at += n;
    }
    if (r->rc == 0)
        r->rc = multipart_finish(&r->m) == 0 ? 0 : -2;
    snprintf(r->error, sizeof r->error, "%s", multipart_error(&r->m));
    if ((r->rc == 0) != (r->error[0] == '\0'))
        __builtin_trap(); /* an error without a message, or a message without an error */
    return r;
}

static void expect_same(const struct run *a, const struct run *b)
{
    if (a->rc != b->rc || strcmp(a->error, b->error) != 0 || a->len != b->len ||
        memcmp(a->content, b->content, a->len) != 0 || a->events_len != b->events_len ||
        memcmp(a->events, b->events, a->events_len) != 0)
        __builtin_trap();
}

static void release(struct run *r)
{
    free(r->content);
    free(r);
}

/* The input as a Content-Type: a boundary found is 1..70 chars and fits as said. */
static void check_boundary(const char *ct, size_t len)
{
    char out[MULTIPART_MAX_BOUNDARY + 1];
    if (multipart_boundary(ct, len, out, sizeof out) != 0)
        return;
    size_t n = strnlen(out, sizeof out);
    if (n == 0 || n > MULTIPART_MAX_BOUNDARY ||
        strspn(out, "0123456789abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ") != n)
        __builtin_trap();
    struct multipart m;
    multipart_init(&m, out, NULL, NULL);
    if (multipart_feed(&m, "", 0) != 0)
        __builtin_trap(); /* a boundary multipart_boundary gives, multipart_init refuses */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_boundary((const char *)data, size);
    if (size < 3)
        return 0;
    const char *boundary = boundaries[data[2] % 3];
    const char *body = (const char *)data + 3;
    size_t len = size - 3, cut = ((size_t)data[0] << 8 | data[1]) % (len + 1);
    struct run *whole = parse(boundary, body, len, 0, 0);
    struct run *two = parse(boundary, body, len, cut, 0);
    expect_same(whole, two);
    release(two);
    struct run *bytes = parse(boundary, body, len, 0, 1);
    expect_same(whole, bytes);
    release(bytes);
    release(whole);
    return 0;
}
