/* The service's error values. One enum, mapped once to an HTTP status and a JSON `code`
 * (api/reply.c); messages are written for the user who must act on them. */
#ifndef VIDGEN_CORE_ERR_H
#define VIDGEN_CORE_ERR_H

#include <stddef.h>

enum vg_err {
    VG_OK = 0,
    VG_ERR_BAD_REQUEST,  /* 400: malformed syntax (bad JSON, wrong content type) */
    VG_ERR_UNAUTHORIZED, /* 401: missing or bad token */
    VG_ERR_NO_CREDITS,   /* 402: balance too low */
    VG_ERR_FORBIDDEN,    /* 403: an admin-only action */
    VG_ERR_NOT_FOUND,    /* 404: absent, or owned by another user */
    VG_ERR_METHOD,       /* 405 */
    VG_ERR_CONFLICT,     /* 409 */
    VG_ERR_TOO_LARGE,    /* 413 */
    VG_ERR_MEDIA_TYPE,   /* 415 */
    VG_ERR_INVALID,      /* 422: well-formed but outside the rules; names a field */
    VG_ERR_RATE_LIMITED, /* 429 */
    VG_ERR_INTERNAL,     /* 500 */
    VG_ERR_UNAVAILABLE,  /* 503 */
};

/* An error with its detail. `field` names the offending request field ("" when none). */
struct vg_error {
    enum vg_err code;
    char field[64];
    char message[256];
    int retry_after_s; /* VG_ERR_UNAVAILABLE, VG_ERR_RATE_LIMITED: when to try again; 0 = not said */
};

/* Fills `e` and returns e->code, so callers can `return vg_fail(e, ...)`. `e` may be NULL. */
enum vg_err vg_fail(struct vg_error *e, enum vg_err code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int vg_err_http_status(enum vg_err code);
/* Stable machine-readable name, e.g. "invalid_request" (static string). */
const char *vg_err_name(enum vg_err code);

#endif
