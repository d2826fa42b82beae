/* Every HTTP/1 request head, checked before h2o reads a byte of its body.
 *
 * libh2o 2.2 reads a request's body whole, up to its global limit, before any handler runs,
 * and has no hook between the head and the body. The one call in between that goes through
 * the dynamic linker is picohttpparser's phr_parse_request, so http/head.c defines it: it
 * calls libh2o's own and then edits what the parse returned, before h2o looks at it.
 *
 * - Conflicting framing is made an error h2o answers with 400 at once (and closes): two
 *   Content-Length headers that disagree, or Content-Length with Transfer-Encoding (RFC 9112
 *   §6.3: a smuggling attempt). Otherwise h2o would go by the first and wait for a body the
 *   client never meant to send.
 * - A route that takes larger bodies than h2o's global limit (uploads) is given its body
 *   unread: for a request `defers_body` picks, with a Content-Length and no Upgrade, the
 *   length h2o sees is 0 and the real one travels in HTTP_HEAD_DEFERRED_HEADER. The handler
 *   runs with the head only, can refuse (a bad token, a quota) before anything more is read,
 *   and reads the body itself through http/body.h, as it arrives.
 *
 * HTTP/2 requests do not pass here: their bodies stay within h2o's global limit. */
#ifndef VIDGEN_HTTP_HEAD_H
#define VIDGEN_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

/* Carries "<content-length> <head-length>" of a deferred body; a client's own header of
 * this name is dropped from every HTTP/1 request. */
#define HTTP_HEAD_DEFERRED_HEADER "x-vidgen-deferred-body"

/* Whether the handler of `method` `path` (the request target, query included) reads its
 * body itself. Called on the loop threads; must not block. */
typedef bool (*http_head_defers_body)(const char *method, size_t method_len, const char *path, size_t path_len);

/* Sets the process's chooser (NULL: no route defers). Call before serving. */
void http_head_init(http_head_defers_body defers_body);

#endif
