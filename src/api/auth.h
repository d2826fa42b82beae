/* Accounts in the browser (DESIGN §1.1): password login, the session cookie, and how a
 * request made with that cookie is authenticated and guarded against CSRF.
 *
 * POST /auth/login    {"name", "password"} or {"token"}: a session (HttpOnly, SameSite=Strict
 *                     cookie SESSION_COOKIE) and its CSRF token; rate-limited per name and
 *                     per address (api/login_limit.h)
 * POST /auth/logout   ends the session of the cookie, and clears the cookie
 * GET  /auth/session  who is logged in, with the CSRF token (a reloaded page needs it)
 *
 * The three answer under API_PREFIX and at the root ("/auth/login"). */
#ifndef VIDGEN_API_AUTH_H
#define VIDGEN_API_AUTH_H

#include "api/call.h"

int api_auth_login(struct api_call *c);
int api_auth_logout(struct api_call *c);
int api_auth_session(struct api_call *c);

/* For routes.c: authenticates a request that has no Authorization header by its session
 * cookie. A state-changing method (not GET or HEAD) must also come from this server's own
 * origin (Origin, Sec-Fetch-Site) and carry the session's CSRF token, else VG_ERR_FORBIDDEN.
 * Fills c->user, c->token_hash (the session's) and c->session. */
enum vg_err api_auth_cookie(struct api_call *c, struct vg_error *err);

/* Whether a request that says where it comes from (Origin, Sec-Fetch-Site) comes from a
 * page of this server; one that says nothing passes unless `require`. */
bool api_auth_same_origin(const struct api_call *c, bool require);

#endif
