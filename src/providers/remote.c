#include "providers/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/remote_util.h"

void remote_request_free(struct remote_request *r)
{
    free(r->url);
    for (size_t i = 0; i < REMOTE_MAX_HEADERS + 1; i++)
        free(r->headers[i]);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *remote_cost_unit_name(enum remote_cost_unit unit)
{
    static const char *const names[REMOTE_COST_UNIT_COUNT] = {
        [REMOTE_COST_USD] = "usd", [REMOTE_COST_CREDITS] = "credits", [REMOTE_COST_UNITS] = "units"};
    return (unsigned)unit < REMOTE_COST_UNIT_COUNT ? names[unit] : NULL;
}

void remote_reply_from_status(const struct remote_http *http, struct remote_reply *out)
{
    remote_reply_status_named(http, "the provider", out);
}

/* Retry-After's delta-seconds form; a fraction ("1.5") is read too, as Eden AI's body field
 * has one. -1 when `s` is not entirely such a number. */
static int64_t delta_seconds_ms(const char *s, size_t len)
{
    int64_t whole = 0, frac = 0, scale = 1000;
    size_t i = 0;
    if (len == 0)
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        if ((whole = whole * 10 + (s[i] - '0')) > REMOTE_MAX_WAIT_MS / 1000)
            return REMOTE_MAX_WAIT_MS;
    if (i == 0)
        return -1;
    if (i < len && s[i] == '.') {
        if (++i == len)
            return -1;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale > 1)
                frac += (s[i] - '0') * (scale /= 10);
    }
    return i == len ? whole * 1000 + frac : -1;
}

/* The three date forms HTTP allows (RFC 9110 §5.6.7), read in the C locale's English names. */
static int64_t http_date_ms(const char *s, int64_t now_unix_ms)
{
    static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                        "%a %b %e %H:%M:%S %Y"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, forms[i], &tm);
        if (end == NULL || *end != '\0')
            continue;
        int64_t t = (int64_t)timegm(&tm), now = now_unix_ms / 1000;
        if (t == -1)
            return -1;
        if (t - now >= REMOTE_MAX_WAIT_MS / 1000)
            return REMOTE_MAX_WAIT_MS;
        return t <= now ? 0 : t * 1000 - now_unix_ms;
    }
    return -1;
}

int64_t remote_retry_after_ms(const char *value, int64_t now_unix_ms)
{
    char buf[64];
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, value, len);
    buf[len] = '\0';
    if (buf[0] >= '0' && buf[0] <= '9')
        return delta_seconds_ms(buf, len);
    return http_date_ms(buf, now_unix_ms);
}
