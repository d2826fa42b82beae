#include "http/multipart.h"

#include <assert.h>
#include <stdalign.h>
#include <string.h>
#include <strings.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char ERR_BOUNDARY[] = "the form's boundary is invalid (1 to 70 letters, digits or '()+_,-./:=? )";
static const char ERR_NO_DELIMITER[] = "the upload has no line with the boundary given in its Content-Type";
static const char ERR_UNCLOSED[] = "the form ends before its closing boundary";
static const char ERR_BOUNDARY_LINE[] = "a form boundary line has bytes after the boundary "
                                        "(the boundary must not occur inside a part)";
static const char ERR_BOUNDARY_CRLF[] = "a form boundary line does not end in CRLF";
static const char ERR_EPILOGUE[] = "the form has bytes after its closing boundary";
static const char ERR_PARTS[] = "the form has more than " STR(MULTIPART_MAX_PARTS) " parts";
static const char ERR_HEADERS_LONG[] = "a form part's headers are longer than " STR(MULTIPART_MAX_HEADER) " bytes";
static const char ERR_HEADER_CRLF[] = "a form part's header line does not end in CRLF";
static const char ERR_HEADER_CTL[] = "a form part's header has a control character";
static const char ERR_FOLDED[] = "a form part's header is folded over two lines (not allowed)";
static const char ERR_HEADER_LINE[] = "a form part has a header line that is not 'Name: value'";
static const char ERR_TWICE[] = "a form part has two Content-Disposition or Content-Type headers";
static const char ERR_NOT_FORM_DATA[] = "a form part's Content-Disposition is not form-data";
static const char ERR_DISPOSITION[] = "a form part's Content-Disposition is malformed";
static const char ERR_PARAM_TWICE[] = "a form part's Content-Disposition gives its name or filename twice";
static const char ERR_NO_DISPOSITION[] = "a form part has no Content-Disposition: form-data header";
static const char ERR_NO_NAME[] = "a form part has no name";
static const char ERR_STOPPED[] = "the upload was refused while its form was read";

enum phase {
    P_PREAMBLE,     /* before the first delimiter: bytes dropped */
    P_CONTENT,      /* a part's content, up to the next delimiter */
    P_BOUNDARY_END, /* just after "--boundary": "--", padding or CRLF follows */
    P_PADDING,      /* spaces or tabs after the boundary */
    P_BOUNDARY_LF,  /* the CR ending a delimiter line was seen */
    P_CLOSE_DASH,   /* the first '-' of a close delimiter was seen */
    P_HEADER,       /* inside a header line */
    P_HEADER_LF,    /* the CR ending a header line was seen */
    P_EPILOGUE,     /* after the close delimiter: whitespace only */
    P_FAILED,
};

/* What the current part's headers have given so far. */
enum { SEEN_DISPOSITION = 1, SEEN_TYPE = 2, SEEN_NAME = 4, SEEN_FILENAME = 8 };

struct state {
    const struct multipart_callbacks *cb;
    void *arg;
    const char *err; /* a static message, or NULL for msg */
    enum phase phase;
    int parts;
    int seen;
    size_t dlen;         /* of the delimiter: CRLF "--" boundary */
    size_t matched;      /* the delimiter's first bytes that ended the last piece (held back) */
    size_t header_bytes; /* of the current part */
    size_t line_len;
    char delim[4 + MULTIPART_MAX_BOUNDARY];
    struct multipart_part part;
    char line[MULTIPART_MAX_HEADER];
    char msg[160];
};

static_assert(sizeof(struct state) <= sizeof(struct multipart), "struct multipart is too small for its state");
static_assert(alignof(struct state) <= alignof(struct multipart), "struct multipart is not aligned for its state");

/* A parameter of a header value; the value cut to fit (len is its full length). */
struct param {
    const char *name;
    size_t name_len;
    char value[MULTIPART_MAX_NAME + 1];
    size_t len;
};

static_assert(MULTIPART_MAX_NAME >= MULTIPART_MAX_BOUNDARY, "a boundary parameter must fit struct param");

static struct state *state_of(struct multipart *m)
{
    return (struct state *)m->opaque;
}

static int fail(struct state *s, const char *why)
{
    s->phase = P_FAILED;
    s->err = why;
    return -1;
}

/* ---- header values (RFC 9110 tokens, quoted-strings, parameters) ---- */

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t token_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && is_tchar((unsigned char)p[n]))
        n++;
    return n;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Whether p[0, len) is `lower`, ignoring case. */
static int is(const char *p, size_t len, const char *lower)
{
    return len == strlen(lower) && strncasecmp(p, lower, len) == 0;
}

/* A bare (unquoted) value ends at whitespace, ';' or '"'. Wider than a token on purpose:
 * senders put '=', '/' or ':' in bare boundaries and filenames. */
static int is_bare(unsigned char c)
{
    return c > ' ' && c != 0x7f && c != ';' && c != '"';
}

/* A quoted-string (backslash escapes) or a bare value at *p into v->value. -1 when malformed. */
static int read_value(const char **p, const char *end, struct param *v)
{
    const char *q = *p;
    size_t n = 0;
    if (q < end && *q == '"') {
        for (q++;; q++) {
            if (q == end)
                return -1;
            if (*q == '"')
                break;
            if (*q == '\\' && ++q == end)
                return -1;
            if (n < sizeof v->value - 1)
                v->value[n] = *q;
            n++;
        }
        q++;
    } else {
        for (; q < end && is_bare((unsigned char)*q); q++, n++)
            if (n < sizeof v->value - 1)
                v->value[n] = *q;
        if (n == 0)
            return -1;
    }
    v->value[n < sizeof v->value ? n : sizeof v->value - 1] = '\0';
    v->len = n;
    *p = q;
    return 0;
}

/* The next "; name=value" at *p (whitespace around each): 1, 0 at the end of the value (a
 * trailing ';' allowed), -1 when malformed. */
static int next_param(const char **p, const char *end, struct param *v)
{
    const char *q = skip_ows(*p, end);
    if (q < end && *q == ';')
        q = skip_ows(q + 1, end);
    else if (q < end)
        return -1;
    if (q == end)
        return 0;
    v->name = q;
    v->name_len = token_len(q, end);
    q = skip_ows(q + v->name_len, end);
    if (v->name_len == 0 || q == end || *q != '=')
        return -1;
    q = skip_ows(q + 1, end);
    if (read_value(&q, end, v) < 0)
        return -1;
    *p = q;
    return 1;
}

/* RFC 2046: 1 to 70 bchars, the last not a space. */
static int valid_boundary(const char *b, size_t len)
{
    if (len == 0 || len > MULTIPART_MAX_BOUNDARY || b[len - 1] == ' ')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)b[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (c == '\0' || strchr("'()+_,-./:=? ", c) == NULL))
            return 0;
    }
    return 1;
}

int multipart_boundary(const char *content_type, size_t len, char *out, size_t cap)
{
    static const char type[] = "multipart/form-data";
    const char *end = content_type + len, *p = skip_ows(content_type, end);
    if ((size_t)(end - p) < sizeof type - 1 || strncasecmp(p, type, sizeof type - 1) != 0)
        return -1;
    p += sizeof type - 1;
    struct param v;
    int r, found = 0;
    while ((r = next_param(&p, end, &v)) > 0) {
        if (!is(v.name, v.name_len, "boundary"))
            continue;
        if (found++ || !valid_boundary(v.value, v.len) || v.len >= cap)
            return -1;
        memcpy(out, v.value, v.len + 1);
    }
    return r == 0 && found ? 0 : -1;
}

/* ---- callbacks ---- */

/* A callback stops the parse by returning -1 or by calling multipart_fail. */
static int after_callback(struct state *s, int rc)
{
    if (s->phase == P_FAILED)
        return -1;
    return rc == 0 ? 0 : fail(s, ERR_STOPPED);
}

/* Bytes before the next delimiter: a part's content, or the preamble (dropped). */
static int emit(struct state *s, const char *bytes, size_t len)
{
    if (s->phase != P_CONTENT || len == 0 || s->cb->on_part_data == NULL)
        return 0;
    return after_callback(s, s->cb->on_part_data(s->arg, bytes, len));
}

static void on_delimiter(struct state *s)
{
    int ends_part = s->phase == P_CONTENT;
    s->phase = P_BOUNDARY_END;
    if (ends_part && s->cb->on_part_end != NULL)
        after_callback(s, s->cb->on_part_end(s->arg));
}

/* ---- a part's headers ---- */

static void begin_part(struct state *s)
{
    if (s->parts == MULTIPART_MAX_PARTS) {
        fail(s, ERR_PARTS);
        return;
    }
    s->parts++;
    memset(&s->part, 0, sizeof s->part);
    s->seen = 0;
    s->header_bytes = 0;
    s->line_len = 0;
    s->phase = P_HEADER;
}

/* form-data; name="..."[; filename="..."]; other parameters (filename* among them) ignored. */
static void disposition(struct state *s, const char *p, const char *end)
{
    size_t type_len = token_len(p, end);
    if (!is(p, type_len, "form-data")) {
        fail(s, ERR_NOT_FORM_DATA);
        return;
    }
    p += type_len;
    struct param v;
    int r;
    while ((r = next_param(&p, end, &v)) > 0) {
        int which = is(v.name, v.name_len, "name") ? SEEN_NAME : is(v.name, v.name_len, "filename") ? SEEN_FILENAME : 0;
        if (which == 0)
            continue;
        if (s->seen & which) {
            fail(s, ERR_PARAM_TWICE);
            return;
        }
        s->seen |= which;
        memcpy(which == SEEN_NAME ? s->part.name : s->part.filename, v.value, strlen(v.value) + 1);
    }
    if (r < 0)
        fail(s, ERR_DISPOSITION);
    s->part.has_filename = (s->seen & SEEN_FILENAME) != 0;
}

static void content_type(struct state *s, const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    if (n > MULTIPART_MAX_NAME)
        n = MULTIPART_MAX_NAME;
    memcpy(s->part.content_type, p, n);
    s->part.content_type[n] = '\0';
}

static void end_headers(struct state *s)
{
    if (!(s->seen & SEEN_DISPOSITION)) {
        fail(s, ERR_NO_DISPOSITION);
        return;
    }
    if (s->part.name[0] == '\0') {
        fail(s, ERR_NO_NAME);
        return;
    }
    s->phase = P_CONTENT;
    if (s->cb->on_part_begin != NULL)
        after_callback(s, s->cb->on_part_begin(s->arg, &s->part));
}

static void header_line(struct state *s)
{
    const char *line = s->line, *end = s->line + s->line_len;
    s->line_len = 0;
    s->phase = P_HEADER;
    if (line == end) {
        end_headers(s);
        return;
    }
    if (*line == ' ' || *line == '\t') {
        fail(s, ERR_FOLDED);
        return;
    }
    size_t name_len = token_len(line, end);
    if (name_len == 0 || line + name_len == end || line[name_len] != ':') {
        fail(s, ERR_HEADER_LINE);
        return;
    }
    const char *v = skip_ows(line + name_len + 1, end);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    int which = is(line, name_len, "content-disposition") ? SEEN_DISPOSITION
                : is(line, name_len, "content-type")      ? SEEN_TYPE
                                                          : 0;
    if (which == 0)
        return;
    if (s->seen & which) {
        fail(s, ERR_TWICE);
        return;
    }
    s->seen |= which;
    if (which == SEEN_DISPOSITION)
        disposition(s, v, end);
    else
        content_type(s, v, end);
}

static void header_byte(struct state *s, char c)
{
    if (c == '\r')
        s->phase = P_HEADER_LF;
    else if (c == '\n')
        fail(s, ERR_HEADER_CRLF);
    else if (((unsigned char)c < ' ' && c != '\t') || c == 0x7f)
        fail(s, ERR_HEADER_CTL);
    else
        s->line[s->line_len++] = c; /* fits: line_len < header_bytes <= MULTIPART_MAX_HEADER */
}

/* ---- the stream ---- */

/* How far the delimiter matches p[0, len), going on from its byte `from`. */
static size_t match(const struct state *s, const char *p, size_t len, size_t from)
{
    size_t k = from;
    while (k < s->dlen && k - from < len && p[k - from] == s->delim[k])
        k++;
    return k;
}

/* The preamble or a part's content up to the next delimiter; returns how many bytes of the
 * piece it used. Where a piece ends inside what may be a delimiter, those bytes are held
 * back: they are the delimiter's first bytes, so their count is all the state keeps. The
 * delimiter's only CR is its first byte, so a match that fails never hides another one
 * starting inside it: the search goes on from the next CR. */
static size_t scan(struct state *s, const char *p, size_t len)
{
    size_t from = 0;
    if (s->matched > 0) {
        size_t held = s->matched;
        s->matched = match(s, p, len, held);
        from = s->matched - held;
        if (s->matched == s->dlen) {
            s->matched = 0;
            on_delimiter(s);
            return from;
        }
        if (from == len)
            return len;
        s->matched = 0; /* not a delimiter after all: what was held back is content */
        if (emit(s, s->delim, held) < 0)
            return len;
    }
    for (;;) {
        const char *cr = memchr(p + from, '\r', len - from);
        if (cr == NULL) {
            emit(s, p, len);
            return len;
        }
        size_t at = (size_t)(cr - p), k = match(s, cr, len - at, 0);
        if (k == s->dlen || at + k == len) {
            if (emit(s, p, at) < 0)
                return len;
            if (k < s->dlen) {
                s->matched = k;
                return len;
            }
            on_delimiter(s);
            return at + k;
        }
        from = at + 1;
    }
}

/* One byte in any phase but the preamble and content. */
static void step(struct state *s, char c)
{
    if ((s->phase == P_HEADER || s->phase == P_HEADER_LF) && ++s->header_bytes > MULTIPART_MAX_HEADER) {
        fail(s, ERR_HEADERS_LONG);
        return;
    }
    switch (s->phase) {
    case P_BOUNDARY_END:
        if (c == '-') {
            s->phase = P_CLOSE_DASH;
            return;
        }
        /* fall through */
    case P_PADDING:
        if (c == ' ' || c == '\t')
            s->phase = P_PADDING;
        else if (c == '\r')
            s->phase = P_BOUNDARY_LF;
        else
            fail(s, ERR_BOUNDARY_LINE);
        return;
    case P_BOUNDARY_LF:
        if (c == '\n')
            begin_part(s);
        else
            fail(s, ERR_BOUNDARY_CRLF);
        return;
    case P_CLOSE_DASH:
        if (c == '-')
            s->phase = P_EPILOGUE;
        else
            fail(s, ERR_BOUNDARY_LINE);
        return;
    case P_HEADER: header_byte(s, c); return;
    case P_HEADER_LF:
        if (c == '\n')
            header_line(s);
        else
            fail(s, ERR_HEADER_CRLF);
        return;
    case P_EPILOGUE:
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            fail(s, ERR_EPILOGUE);
        return;
    default: return;
    }
}

void multipart_init(struct multipart *m, const char *boundary, const struct multipart_callbacks *cb, void *arg)
{
    static const struct multipart_callbacks none;
    struct state *s = state_of(m);
    size_t len = strnlen(boundary, MULTIPART_MAX_BOUNDARY + 1);
    memset(s, 0, offsetof(struct state, line));
    s->cb = cb != NULL ? cb : &none;
    s->arg = arg;
    if (!valid_boundary(boundary, len)) {
        fail(s, ERR_BOUNDARY);
        return;
    }
    memcpy(s->delim, "\r\n--", 4);
    memcpy(s->delim + 4, boundary, len);
    s->dlen = 4 + len;
    s->matched = 2; /* the body may open with the first delimiter: as if a CRLF came before it */
    s->phase = P_PREAMBLE;
}

int multipart_feed(struct multipart *m, const char *bytes, size_t len)
{
    struct state *s = state_of(m);
    size_t i = 0;
    while (i < len && s->phase != P_FAILED) {
        if (s->phase == P_PREAMBLE || s->phase == P_CONTENT)
            i += scan(s, bytes + i, len - i);
        else
            step(s, bytes[i++]);
    }
    return s->phase == P_FAILED ? -1 : 0;
}

int multipart_finish(struct multipart *m)
{
    struct state *s = state_of(m);
    switch (s->phase) {
    case P_EPILOGUE: return 0;
    case P_FAILED: return -1;
    case P_PREAMBLE: return fail(s, ERR_NO_DELIMITER);
    default: return fail(s, ERR_UNCLOSED);
    }
}

const char *multipart_error(const struct multipart *m)
{
    const struct state *s = (const struct state *)m->opaque;
    if (s->phase != P_FAILED)
        return "";
    return s->err != NULL ? s->err : s->msg;
}

int multipart_fail(struct multipart *m, const char *message)
{
    struct state *s = state_of(m);
    size_t n = strnlen(message, sizeof s->msg - 1);
    memcpy(s->msg, message, n);
    s->msg[n] = '\0';
    s->err = NULL;
    s->phase = P_FAILED;
    return -1;
}
