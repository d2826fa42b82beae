/* Sending a file from disk: validators, conditional requests, one byte range, and the
 * generator that streams the body chunk by chunk (see file.h for the behaviour). */
#include "http/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* How much one proceed sends. Measured with bench/download.sh against nginx's sendfile
 * (bench/DOWNLOAD-RESULTS.md). pread()'s chunk size mattered little (64 KB to 1 MB were
 * within the noise; the copy dominates), and 512 KB bounds what an HTTP/2 download holds.
 * A sendfile() batch usually ends earlier, when the socket is full; the cap keeps one fast
 * client from holding the event loop long. How much h2o is then handed to send itself
 * (1 byte to 256 KB) made no difference either, so it gets one byte. */
#define FILE_CHUNK (512 * 1024)
#define FILE_BATCH (8 * 1024 * 1024)

#define ETAG_MAX 56 /* '"' + three 16-digit hex numbers + two '-' + '"' */

/* What the validators say about the open file. */
struct file_meta {
    uint64_t size;
    time_t mtime;
    char etag[ETAG_MAX + 1];
    size_t etag_len;
    char last_modified[H2O_TIMESTR_RFC1123_LEN + 1];
};

/* A body being streamed. Lives in req->pool (h2o_mem_alloc_shared, so that clearing the
 * pool closes a file still open); `buf` is in the same pool.
 *
 * Two ways to move the bytes (see stream_proceed). Over HTTP/1 without TLS, sendfile()
 * hands the page-cache pages to the socket with no copy through user space, as nginx
 * does; h2o (2.2) has no such path, so the stream sends around it between h2o's writes.
 * Elsewhere each chunk is read with pread() into `buf` and handed to h2o. Either way at
 * most one chunk of the file is in memory per response. */
struct file_stream {
    h2o_generator_t super; /* first: h2o hands the generator back to proceed and stop */
    int fd;                /* the file; -1 once closed */
    int sock_fd;           /* the client's socket for sendfile(), or -1 */
    bool begun;            /* h2o has sent the headers */
    uint64_t off;          /* next byte to send */
    uint64_t left;         /* bytes still to send */
    char *buf;             /* pread()'s buffer: FILE_CHUNK, or 1 byte in sendfile mode */
    size_t buf_size;
};

enum range_result {
    RANGE_NONE,          /* no usable Range: send everything with 200 */
    RANGE_ONE,           /* one satisfiable range: 206 */
    RANGE_UNSATISFIABLE, /* 416 */
};

/* --- validators -------------------------------------------------------------------- */

static void meta_init(struct file_meta *m, const struct stat *st)
{
    struct tm gmt;
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
    m->size = (uint64_t)st->st_size;
    m->mtime = st->st_mtim.tv_sec;
    m->etag_len = (size_t)snprintf(m->etag, sizeof m->etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
                                   (uint64_t)st->st_ino, m->size, mtime_ns);
    gmtime_r(&m->mtime, &gmt);
    h2o_time2str_rfc1123(m->last_modified, &gmt);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* True when the entity-tag list `v` (If-None-Match syntax: "*" or 1#entity-tag) names the
 * file's tag by weak comparison, the one If-None-Match uses: a W/ prefix is ignored. */
static bool etag_list_matches(h2o_iovec_t v, const struct file_meta *m)
{
    const char *p = v.base, *end = v.base + v.len;
    while (p < end) {
        while (p < end && (is_ows(*p) || *p == ','))
            p++;
        const char *tag = p;
        while (p < end && *p != ',')
            p++;
        const char *tag_end = p;
        while (tag_end > tag && is_ows(tag_end[-1]))
            tag_end--;
        size_t len = (size_t)(tag_end - tag);
        if (len == 1 && tag[0] == '*')
            return true;
        if (len > 2 && tag[0] == 'W' && tag[1] == '/')
            tag += 2, len -= 2;
        if (len == m->etag_len && memcmp(tag, m->etag, len) == 0)
            return true;
    }
    return false;
}

/* Parses an HTTP date in its only current form, IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 * GMT"). The obsolete forms are not accepted: the header is then ignored, as RFC 9110
 * §13.1.3 asks for an invalid date. */
static bool parse_http_date(h2o_iovec_t v, time_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[40], mon[4];
    struct tm tm = {0};
    int n = 0;
    if (v.len >= sizeof buf)
        return false;
    memcpy(buf, v.base, v.len);
    buf[v.len] = '\0';
    if (sscanf(buf, "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        (size_t)n != v.len)
        return false;
    const char *at = strstr(months, mon);
    if (strlen(mon) != 3 || at == NULL || (at - months) % 3 != 0)
        return false;
    tm.tm_mon = (int)(at - months) / 3;
    tm.tm_year -= 1900;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* The value of the request header `token`, or {NULL, 0}. */
static h2o_iovec_t request_header(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

/* RFC 9110 §13.2.2 steps 3 and 4 for GET and HEAD: If-None-Match (every such header, as
 * one list) decides when present; otherwise If-Modified-Since. */
static bool not_modified(h2o_req_t *req, const struct file_meta *m)
{
    bool present = false;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, i)) >= 0;) {
        present = true;
        if (etag_list_matches(req->headers.entries[i].value, m))
            return true;
    }
    if (present)
        return false;
    time_t since;
    h2o_iovec_t ims = request_header(req, H2O_TOKEN_IF_MODIFIED_SINCE);
    return ims.base != NULL && parse_http_date(ims, &since) && m->mtime <= since;
}

/* If-Range (RFC 9110 §13.1.5): true when there is none, or it names the current file —
 * its ETag by strong comparison, or exactly its Last-Modified date. */
static bool if_range_holds(h2o_req_t *req, const struct file_meta *m)
{
    h2o_iovec_t v = request_header(req, H2O_TOKEN_IF_RANGE);
    time_t date;
    if (v.base == NULL)
        return true;
    if (v.len > 0 && v.base[0] == '"')
        return h2o_memis(v.base, v.len, m->etag, m->etag_len);
    if (v.len > 1 && v.base[0] == 'W' && v.base[1] == '/')
        return false; /* a weak tag never matches in a strong comparison */
    return parse_http_date(v, &date) && date == m->mtime;
}

/* --- Range ------------------------------------------------------------------------- */

/* Reads decimal digits at *p. False when there is none; *big is set when the number does
 * not fit in 64 bits (the digits are still consumed). */
static bool read_number(const char **p, const char *end, uint64_t *out, bool *big)
{
    const char *start = *p;
    *out = 0, *big = false;
    for (; *p < end && **p >= '0' && **p <= '9'; ++*p) {
        unsigned d = (unsigned)(**p - '0');
        if (*out > (UINT64_MAX - d) / 10)
            *big = true;
        else
            *out = *out * 10 + d;
    }
    return *p > start;
}

/* One range-spec, [s, end): "first-last", "first-" or "-suffix", against `size` bytes. */
static enum range_result range_spec(const char *s, const char *end, uint64_t size, uint64_t *first, uint64_t *last)
{
    uint64_t a, b = 0;
    bool a_big, b_big = false;
    if (*s == '-') { /* the last n bytes */
        s++;
        if (!read_number(&s, end, &b, &b_big) || s != end)
            return RANGE_NONE;
        if (b == 0 && !b_big)
            return RANGE_UNSATISFIABLE;
        if (size == 0)
            return RANGE_NONE; /* nothing to cut from: the (empty) whole answers */
        *first = (b_big || b >= size) ? 0 : size - b;
        *last = size - 1;
        return RANGE_ONE;
    }
    if (!read_number(&s, end, &a, &a_big) || s == end || *s++ != '-')
        return RANGE_NONE;
    bool open_ended = s == end;
    if (!open_ended && (!read_number(&s, end, &b, &b_big) || s != end))
        return RANGE_NONE;
    if (!open_ended && !b_big && (a_big || b < a))
        return RANGE_NONE; /* last before first: invalid, so ignored */
    if (a_big || a >= size)
        return RANGE_UNSATISFIABLE;
    *first = a;
    *last = (open_ended || b_big || b >= size) ? size - 1 : b;
    return RANGE_ONE;
}

/* A Range header value (RFC 9110 §14.1.2). Only a set of exactly one range-spec is served;
 * empty list elements are skipped, as list syntax requires. */
static enum range_result range_parse(h2o_iovec_t v, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p = v.base, *end = v.base + v.len, *spec = NULL, *spec_end = NULL;
    int n = 0;
    if (v.len < 6 || !h2o_lcstris(v.base, 6, H2O_STRLIT("bytes=")))
        return RANGE_NONE;
    for (p += 6; p < end; p++) {
        while (p < end && is_ows(*p))
            p++;
        const char *e = p;
        while (e < end && *e != ',')
            e++;
        const char *t = e;
        while (t > p && is_ows(t[-1]))
            t--;
        if (t > p)
            n++, spec = p, spec_end = t;
        p = e;
    }
    if (n != 1)
        return RANGE_NONE;
    return range_spec(spec, spec_end, size, first, last);
}

/* What the request's Range and If-Range ask for. */
static enum range_result requested_range(h2o_req_t *req, const struct file_meta *m, uint64_t *first, uint64_t *last)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_RANGE, -1);
    if (i < 0 || h2o_find_header(&req->headers, H2O_TOKEN_RANGE, i) >= 0)
        return RANGE_NONE; /* none, or several Range fields: not one range */
    enum range_result r = range_parse(req->headers.entries[i].value, m->size, first, last);
    if (r != RANGE_NONE && !if_range_holds(req, m))
        return RANGE_NONE;
    return r;
}

/* --- response headers -------------------------------------------------------------- */

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value, size_t len)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, len);
}

/* The headers every answer about the file carries, 304 included (RFC 9110 §15.4.5). The
 * content is one user's, so shared caches must not keep it, and a browser revalidates. */
static void add_validators(h2o_req_t *req, const struct file_meta *m)
{
    add_header(req, H2O_TOKEN_ETAG, h2o_strdup(&req->pool, m->etag, m->etag_len).base, m->etag_len);
    add_header(req, H2O_TOKEN_LAST_MODIFIED, h2o_strdup(&req->pool, m->last_modified, H2O_TIMESTR_RFC1123_LEN).base,
               H2O_TIMESTR_RFC1123_LEN);
    add_header(req, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("private, max-age=0, must-revalidate"));
}

static bool is_filename_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

/* "inline", or "attachment" with the name: `filename` keeps letters, digits, '.', '_' and
 * '-' and turns anything else into '_'; when that changed the name, `filename*` carries it
 * whole, percent-encoded UTF-8 (RFC 6266 §4.3, RFC 8187). */
static void add_disposition(h2o_req_t *req, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    if (name == NULL) {
        add_header(req, H2O_TOKEN_CONTENT_DISPOSITION, H2O_STRLIT("inline"));
        return;
    }
    size_t n = strnlen(name, 255), len = 0;
    char *v = h2o_mem_alloc_pool(&req->pool, sizeof "attachment; filename=\"\"; filename*=UTF-8''" + 4 * n);
    bool changed = false;
    len += (size_t)sprintf(v, "attachment; filename=\"");
    for (size_t i = 0; i < n; i++) {
        bool ok = is_filename_char((unsigned char)name[i]);
        changed |= !ok;
        v[len++] = ok ? name[i] : '_';
    }
    v[len++] = '"';
    if (changed) {
        len += (size_t)sprintf(v + len, "; filename*=UTF-8''");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)name[i];
            if (is_filename_char(c)) {
                v[len++] = (char)c;
            } else {
                v[len++] = '%', v[len++] = hex[c >> 4], v[len++] = hex[c & 15];
            }
        }
    }
    add_header(req, H2O_TOKEN_CONTENT_DISPOSITION, v, len);
}

/* --- the body ---------------------------------------------------------------------- */

static void stream_close(struct file_stream *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* The pool is being cleared: the last chance to close a file that is still open. */
static void stream_dispose(void *p)
{
    stream_close(p);
}

/* Reads the next chunk (at most buf_size bytes) into the stream's buffer. -1 on an I/O
 * error, or when the file ended early (it shrank under us; errno is then 0). */
static int chunk_read(struct file_stream *s, h2o_iovec_t *chunk)
{
    ssize_t n;
    size_t want = s->left < s->buf_size ? (size_t)s->left : s->buf_size;
    errno = 0;
    while ((n = pread(s->fd, s->buf, want, (off_t)s->off)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return -1;
    *chunk = h2o_iovec_init(s->buf, (size_t)n);
    return 0;
}

/* Sends up to FILE_BATCH bytes with sendfile(), stopping before the last byte of the body
 * (h2o sends that one) or when the socket is full. -1 when the socket failed (the client
 * went away: errno EPIPE or ECONNRESET) or the file did (errno; 0 when it ended early). */
static int sendfile_batch(struct file_stream *s, h2o_req_t *req)
{
    uint64_t want = s->left - 1 < FILE_BATCH ? s->left - 1 : FILE_BATCH;
    while (want > 0) {
        off_t off = (off_t)s->off;
        errno = 0;
        ssize_t n = sendfile(s->sock_fd, s->fd, &off, (size_t)want); /* SIGPIPE is ignored (server.c) */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0; /* full: h2o's write of the next byte waits for it to drain */
        if (n <= 0)
            return -1;
        s->off += (uint64_t)n;
        s->left -= (uint64_t)n;
        want -= (uint64_t)n;
        req->bytes_sent += (uint64_t)n; /* h2o counts only what passes through it */
    }
    return 0;
}

/* h2o wants more: everything handed to it so far has been written to the socket. With a
 * socket to sendfile() to, the bytes go there first (not on the first call: the headers
 * have not gone yet); then the next chunk is read and handed to h2o — a single byte in
 * sendfile mode, so that h2o's write of it waits for room in the socket and calls proceed
 * again, and so that h2o ends the response itself with the last byte.
 * h2o_send() may end the request and clear its pool at once (on the last or a failed
 * chunk), so the stream is never touched after it. */
static void stream_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    struct file_stream *s = (struct file_stream *)g;
    h2o_iovec_t chunk;
    if ((s->begun && s->sock_fd >= 0 && sendfile_batch(s, req) != 0) || chunk_read(s, &chunk) != 0) {
        if (errno != EPIPE && errno != ECONNRESET)
            log_warn("http: sending a file, at byte %" PRIu64 ": %s", s->off,
                     errno ? strerror(errno) : "the file ended early");
        stream_close(s);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    s->begun = true;
    s->off += chunk.len;
    s->left -= chunk.len;
    h2o_send_state_t state = s->left == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS;
    if (state == H2O_SEND_STATE_FINAL)
        stream_close(s);
    h2o_send(req, &chunk, 1, state);
}

/* The client went away (or the server is stopping) before the last chunk. */
static void stream_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    stream_close((struct file_stream *)g);
}

/* The socket to sendfile() the body to, or -1. Only HTTP/1 over plain TCP, and only when
 * h2o writes the body there as it is given: no framing, no encryption, and no filter
 * between the generator and the connection's own output stream (the server registers
 * none; the chunked encoder stays out when Content-Length is known; _ostr_top->next is
 * how h2o's own file handler tells). HTTP/2 and TLS need every byte to pass through h2o.
 * Call after h2o_start_response(), which sets the filters up. */
static int sendfile_socket(h2o_req_t *req)
{
    if (req->version >= 0x200 || req->res.content_length == SIZE_MAX || req->_ostr_top->next != NULL ||
        req->conn->callbacks->get_socket == NULL)
        return -1;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->ssl != NULL)
        return -1;
    return h2o_socket_get_fd(sock);
}

/* Starts the response (status and headers already set) and sends the first chunk of
 * [off, off + len), len > 0. Takes ownership of `fd`. */
static void stream_start(h2o_req_t *req, int fd, uint64_t off, uint64_t len)
{
    struct file_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, stream_dispose);
    *s = (struct file_stream){.super = {stream_proceed, stream_stop}, .fd = fd, .off = off, .left = len};
    h2o_start_response(req, &s->super);
    s->sock_fd = sendfile_socket(req);
    s->buf_size = s->sock_fd >= 0 ? 1 : len < FILE_CHUNK ? (size_t)len : FILE_CHUNK;
    s->buf = h2o_mem_alloc_pool(&req->pool, s->buf_size);
    posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_SEQUENTIAL);
    stream_proceed(&s->super, req);
}

/* A response with no body: 304, 416, HEAD, or an empty file. */
static void send_headers_only(h2o_req_t *req, int status, const char *reason)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = status;
    req->res.reason = reason;
    h2o_start_response(req, &generator);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

/* Opens `path` for reading if it is a regular file. O_NONBLOCK: opening a FIFO must not
 * block the event loop (it is refused just after); it changes nothing for a regular file. */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 304: the validators (already added) and nothing else. */
static void send_not_modified(h2o_req_t *req)
{
    req->res.content_length = SIZE_MAX;
    send_headers_only(req, 304, "Not Modified");
}

/* 416, with the size the client can ask within. */
static void send_unsatisfiable(h2o_req_t *req, uint64_t size)
{
    char *cr = h2o_mem_alloc_pool(&req->pool, 32);
    add_header(req, H2O_TOKEN_CONTENT_RANGE, cr, (size_t)sprintf(cr, "bytes */%" PRIu64, size));
    req->res.content_length = 0;
    send_headers_only(req, 416, "Range Not Satisfiable");
}

/* Status, Content-* and Accept-Ranges of a 200 (range NONE) or 206 (ONE); returns the
 * length of the body. */
static uint64_t set_entity_headers(h2o_req_t *req, const struct file_meta *m, enum range_result range, uint64_t first,
                                   uint64_t last, const char *content_type, const char *download_name)
{
    h2o_iovec_t type = h2o_strdup(&req->pool, content_type, SIZE_MAX);
    add_header(req, H2O_TOKEN_CONTENT_TYPE, type.base, type.len);
    add_header(req, H2O_TOKEN_ACCEPT_RANGES, H2O_STRLIT("bytes"));
    add_disposition(req, download_name);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    if (range != RANGE_ONE) {
        req->res.status = 200;
        req->res.reason = "OK";
        return m->size;
    }
    char *cr = h2o_mem_alloc_pool(&req->pool, 64);
    add_header(req, H2O_TOKEN_CONTENT_RANGE, cr,
               (size_t)sprintf(cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, m->size));
    req->res.status = 206;
    req->res.reason = "Partial Content";
    return last - first + 1;
}

int http_file_send(h2o_req_t *req, const char *path, const char *content_type, const char *download_name)
{
    struct stat st;
    struct file_meta m;
    uint64_t first = 0, last = 0;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return -1;
    meta_init(&m, &st);
    add_validators(req, &m);
    enum range_result range = RANGE_NONE;
    if (not_modified(req, &m)) {
        send_not_modified(req);
    } else if ((range = requested_range(req, &m, &first, &last)) == RANGE_UNSATISFIABLE) {
        send_unsatisfiable(req, m.size);
    } else {
        uint64_t len = set_entity_headers(req, &m, range, first, last, content_type, download_name);
        req->res.content_length = (size_t)len;
        if (len > 0 && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
            stream_start(req, fd, first, len); /* takes the file */
            return 0;
        }
        send_headers_only(req, req->res.status, req->res.reason);
    }
    close(fd);
    return 0;
}
