/* Sending one file from disk as the response to a GET or HEAD, with HTTP validators and
 * byte ranges: what h2o's own file handler does for static trees, for a file a handler
 * has already authorised (DESIGN §3, "Known ground": h2o_file_send() ignores Range).
 *
 *   - ETag (strong: inode, size, mtime in ns), Last-Modified, Cache-Control private;
 *   - If-None-Match (lists, "*", W/ forms; weak comparison) and, without it,
 *     If-Modified-Since answer 304 with the validators and no body;
 *   - Range: one range "a-b", "a-" or "-n" answers 206 with Content-Range; a range that
 *     starts at or beyond the end answers 416 with a Content-Range giving only the size; a
 *     malformed Range, several ranges, or an If-Range that does not match are ignored and
 *     the whole file goes out with 200 (RFC 9110 §14.2 allows it);
 *   - HEAD answers the same headers, Content-Length included, and no body.
 *
 * The body is streamed by an h2o generator, a chunk each time h2o asks for more: over
 * HTTP/1 without TLS with sendfile() (no copy through user space, as nginx does), else
 * with pread() into a buffer. The file is never read whole into memory. A client gone
 * away shows as EPIPE, so SIGPIPE must be ignored (http/server.c does).
 *
 * Ownership: the three strings are borrowed for the call only (what the response keeps is
 * copied into req->pool). The open file and the chunk buffer belong to the request; the file
 * is closed when the last byte has been handed to h2o, when the client goes away, or at the
 * latest when the request's pool is cleared. */
#ifndef VIDGEN_HTTP_FILE_H
#define VIDGEN_HTTP_FILE_H

#include <h2o.h>

/* Answers `req` with the regular file at `path`. `content_type` is sent as it is;
 * `download_name` NULL sends "Content-Disposition: inline", else "attachment" with that file
 * name (an ASCII-safe `filename` and, when that had to change it, an RFC 8187 `filename*`).
 * Returns 0 once a response is under way; -1 when the file cannot be opened or stat'ed or is
 * not a regular file, in which case nothing was sent or added to the response and the
 * caller answers (404 in the API). */
int http_file_send(h2o_req_t *req, const char *path, const char *content_type, const char *download_name);

#endif
