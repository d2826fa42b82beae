/* Login sessions of the web app: a random session token travels in an HttpOnly cookie and
 * is stored only as its hash (core/token.h's, like an API token). Its CSRF token is derived
 * from it (a keyed BLAKE2b), so it needs no storage: a page gets it from the login reply or
 * GET /auth/session and sends it back in SESSION_CSRF_HEADER; a cross-site page can read
 * neither the cookie nor the replies, so it cannot make one. */
#ifndef VIDGEN_CORE_SESSION_H
#define VIDGEN_CORE_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#define SESSION_COOKIE "vg_session"
#define SESSION_CSRF_HEADER "x-csrf-token"
#define SESSION_TOKEN_LEN 46 /* "vs_" + 43 base64url characters */
#define SESSION_CSRF_LEN 32  /* hex of 16 bytes */

/* A fresh session token; `out` holds SESSION_TOKEN_LEN + 1 bytes. */
void session_token_new(char out[SESSION_TOKEN_LEN + 1]);

/* The CSRF token of the session `token` (`len` bytes); `out` holds SESSION_CSRF_LEN + 1. */
void session_csrf(const char *token, size_t len, char out[SESSION_CSRF_LEN + 1]);

/* Whether `given` (`len` bytes) is the CSRF token of the session `token`, in constant time. */
bool session_csrf_ok(const char *token, size_t token_len, const char *given, size_t len);

/* The value of the cookie `name` in a Cookie header value (`v`, `len` bytes): *out points
 * into `v`. False when the cookie is absent or empty. */
bool session_cookie_find(const char *v, size_t len, const char *name, const char **out, size_t *out_len);

#endif
