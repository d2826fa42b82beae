#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum vg_err vg_fail(struct vg_error *e, enum vg_err code, const char *field, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    e->retry_after_s = 0;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}

static const struct {
    int status;
    const char *name;
} table[] = {
    [VG_OK] = {200, "ok"},
    [VG_ERR_BAD_REQUEST] = {400, "bad_request"},
    [VG_ERR_UNAUTHORIZED] = {401, "unauthorized"},
    [VG_ERR_NO_CREDITS] = {402, "insufficient_credits"},
    [VG_ERR_FORBIDDEN] = {403, "forbidden"},
    [VG_ERR_NOT_FOUND] = {404, "not_found"},
    [VG_ERR_METHOD] = {405, "method_not_allowed"},
    [VG_ERR_CONFLICT] = {409, "conflict"},
    [VG_ERR_TOO_LARGE] = {413, "payload_too_large"},
    [VG_ERR_MEDIA_TYPE] = {415, "unsupported_media_type"},
    [VG_ERR_INVALID] = {422, "invalid_request"},
    [VG_ERR_RATE_LIMITED] = {429, "rate_limited"},
    [VG_ERR_INTERNAL] = {500, "internal_error"},
    [VG_ERR_UNAVAILABLE] = {503, "unavailable"},
};

int vg_err_http_status(enum vg_err code)
{
    return (unsigned)code < sizeof table / sizeof table[0] ? table[code].status : 500;
}

const char *vg_err_name(enum vg_err code)
{
    return (unsigned)code < sizeof table / sizeof table[0] ? table[code].name : "internal_error";
}
