/* A streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1): bytes go in as they
 * arrive from the socket, in pieces of any size; each part's headers come out parsed and
 * its content comes out as pointers into the pieces fed (never copied, but for the few
 * bytes held back where a piece ends inside what may be a delimiter).
 *
 * Bounds: at most MULTIPART_MAX_PARTS parts, MULTIPART_MAX_HEADER bytes of headers per part.
 * Anything malformed (no opening delimiter, a header line without ':', a part without
 * Content-Disposition: form-data; name=..., bytes after the close delimiter other than
 * whitespace, a stream that ends before the close delimiter) is an error with a message
 * a user can act on.
 *
 * What is accepted: a preamble before the first delimiter (ignored); spaces and tabs after
 * a boundary on its line (transport padding); a form with no parts ("--boundary--");
 * headers as CRLF-terminated lines, names case-insensitive, unknown ones ignored;
 * parameter values as quoted-strings (backslash escapes) or bare words; filename* ignored
 * (RFC 7578 §4.2: senders do not use it). What is refused: a delimiter followed by anything
 * but "--", padding and CRLF (the boundary must not occur in content, RFC 2046); a bare CR
 * or LF, a control byte, or a folded line in the headers; a Content-Disposition that is not
 * form-data, or has no name or an empty one, or gives name or filename twice; a part with
 * two Content-Disposition or Content-Type headers. */
#ifndef VIDGEN_HTTP_MULTIPART_H
#define VIDGEN_HTTP_MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_BOUNDARY 70 /* RFC 2046 */
#define MULTIPART_MAX_PARTS 16
#define MULTIPART_MAX_HEADER 8192
#define MULTIPART_MAX_NAME 128 /* a part's name or filename, longer ones are cut */

/* A part's headers, valid during on_part_begin only. The strings have no NUL inside
 * (control bytes are refused in headers); content_type is the header's value as sent,
 * trimmed. */
struct multipart_part {
    char name[MULTIPART_MAX_NAME + 1];     /* Content-Disposition name (required) */
    char filename[MULTIPART_MAX_NAME + 1]; /* its filename, "" when absent */
    int has_filename;
    char content_type[MULTIPART_MAX_NAME + 1]; /* "" when absent */
};

struct multipart_callbacks {
    /* Each returns 0 to go on, -1 to stop (multipart_feed then returns -1 with the message
     * the callback wrote with multipart_fail, or a generic one). Any may be NULL.
     * on_part_data gets a part's content in order, never empty: bytes are valid during the
     * call only, and a CRLF before a delimiter belongs to the delimiter, not to the content.
     * on_part_end comes when the part's closing delimiter is seen. */
    int (*on_part_begin)(void *arg, const struct multipart_part *part);
    int (*on_part_data)(void *arg, const char *bytes, size_t len);
    int (*on_part_end)(void *arg);
};

/* Opaque state; sized and aligned here so that it can live in the caller's memory. */
struct multipart {
    _Alignas(max_align_t) char opaque[MULTIPART_MAX_HEADER + 4 * MULTIPART_MAX_BOUNDARY + 512];
};

/* The boundary of a Content-Type value "multipart/form-data; boundary=..." (quoted or not,
 * parameters in any order, the type case-insensitive) into out (NUL-terminated, cap >=
 * MULTIPART_MAX_BOUNDARY + 1). 0, or -1 when the type is not multipart/form-data or the
 * boundary is missing or invalid. */
int multipart_boundary(const char *content_type, size_t len, char *out, size_t cap);

/* Starts a parse. `boundary` (as multipart_boundary gives it) is copied; `cb` and `arg`
 * must stay valid while the parse is fed. An invalid boundary makes every feed fail. */
void multipart_init(struct multipart *m, const char *boundary, const struct multipart_callbacks *cb, void *arg);

/* Feeds the next piece. 0, or -1 on an error or a callback's stop (then every later call
 * returns -1 too). */
int multipart_feed(struct multipart *m, const char *bytes, size_t len);

/* The stream has ended: 0 when the close delimiter was seen, else -1. */
int multipart_finish(struct multipart *m);

/* Why the last call failed (static or inside m): for the user; "" while nothing has. */
const char *multipart_error(const struct multipart *m);

/* For a callback: stops the parse with `message` (copied). Returns -1. */
int multipart_fail(struct multipart *m, const char *message);

#endif
