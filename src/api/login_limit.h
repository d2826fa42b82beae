/* The brake on password guessing: failed logins counted per user name and per client
 * address over a window; past the limit, further attempts for that name (or from that
 * address) are refused with 429 until the window ends, before any password is checked.
 * A success clears the name's count. In memory, shared by every loop thread of the process
 * (a mutex); a restart forgets it. Bounded: LOGIN_LIMIT_SLOTS keys per kind, the stalest
 * forgotten first. */
#ifndef VIDGEN_API_LOGIN_LIMIT_H
#define VIDGEN_API_LOGIN_LIMIT_H

#include <stdint.h>

#define LOGIN_LIMIT_WINDOW_S 900 /* 15 minutes */
#define LOGIN_LIMIT_PER_NAME 5   /* failures per name within the window */
#define LOGIN_LIMIT_PER_ADDR 20  /* failures per address within the window */
#define LOGIN_LIMIT_SLOTS 4096

struct login_limit;

/* NULL when out of memory; login_limit_free() releases it. */
struct login_limit *login_limit_new(void);
void login_limit_free(struct login_limit *l);

/* 0 when an attempt for `name` from `addr` may go ahead now, else the seconds to wait.
 * `name` NULL: an attempt that names no user (an API token), limited by its address only. */
int login_limit_wait(struct login_limit *l, const char *name, const char *addr, int64_t now_ms);
/* Counts a failed attempt against both (`name` NULL: the address only). */
void login_limit_failed(struct login_limit *l, const char *name, const char *addr, int64_t now_ms);
/* Clears the count of `name`. */
void login_limit_succeeded(struct login_limit *l, const char *name);

#endif
