#include "providers/remote_util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/json_region.h"

int remote_request_init(struct remote_request *out, const char *method, const char *base_url, const char *path,
                        const char *id, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t blen = base_url != NULL ? strlen(base_url) : 0;
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    if (strlen(method) >= sizeof out->method)
        return snprintf(err, errlen, "method %s is too long", method), -1;
    if (blen == 0)
        return snprintf(err, errlen, "the provider's base URL is not set"), -1;
    if (path == NULL || path[0] != '/')
        return snprintf(err, errlen, "endpoint '%s' does not start with '/'", path ? path : ""), -1;
    if (id != NULL && !remote_id_is_safe(id))
        return snprintf(err, errlen, "job id '%.64s' cannot go into a URL", id), -1;
    strcpy(out->method, method);
    if (asprintf(&out->url, "%.*s%s%s%s", (int)blen, base_url, path, id ? "/" : "", id ? id : "") < 0) {
        out->url = NULL;
        return snprintf(err, errlen, "out of memory"), -1;
    }
    return 0;
}

int remote_request_header(struct remote_request *out, const char *name, const char *value, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < REMOTE_MAX_HEADERS && out->headers[i] != NULL)
        i++;
    if (i == REMOTE_MAX_HEADERS)
        return snprintf(err, errlen, "too many headers"), -1;
    if (!remote_header_value_is_safe(value))
        return snprintf(err, errlen, "the %s header would hold a line break or control byte", name), -1;
    if (asprintf(&out->headers[i], "%s: %s", name, value) < 0) {
        out->headers[i] = NULL;
        return snprintf(err, errlen, "out of memory"), -1;
    }
    return 0;
}

int remote_request_post_json(struct remote_request *out, const char *base_url, const char *path, const char *id,
                             const json_t *body, char *err, size_t errlen)
{
    return remote_request_init(out, "POST", base_url, path, id, err, errlen) ||
                   remote_request_header(out, "Content-Type", "application/json", err, errlen) ||
                   remote_request_json(out, body, err, errlen)
               ? -1
               : 0;
}

int remote_request_json(struct remote_request *out, const json_t *body, char *err, size_t errlen)
{
    free(out->body);
    out->body = json_dumps(body, JSON_COMPACT);
    if (out->body == NULL) {
        out->body_len = 0;
        return snprintf(err, errlen, "cannot encode the request body"), -1;
    }
    out->body_len = strlen(out->body);
    return 0;
}

/* The length of the UTF-8 character at s (defined below). */
static size_t utf8_char_len(const unsigned char *s, size_t avail);

/* `s` as a JSON string literal at dst + *at, the way jansson's json_dumps writes one: '"',
 * '\\' and control bytes escaped, everything else (non-ASCII, '/') as it is. dst has room
 * for 6 bytes per byte of s and 2 more. False when s is not valid UTF-8. */
static bool put_json_string(char *dst, size_t *at, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    size_t o = *at, len = strlen(s);
    dst[o++] = '"';
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len(u + i, len - i);
        unsigned char c = u[i];
        if (n == 0)
            return false;
        if (n > 1)
            memcpy(dst + o, u + i, n), o += n;
        else if (c == '"' || c == '\\')
            dst[o++] = '\\', dst[o++] = (char)c;
        else if (c >= 0x20)
            dst[o++] = (char)c;
        else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            dst[o++] = '\\', dst[o++] = c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        else
            memcpy(dst + o, "\\u00", 4), o += 4, dst[o++] = hex[c >> 4], dst[o++] = hex[c & 15];
        i += n;
    }
    dst[o++] = '"';
    *at = o;
    return true;
}

int remote_request_json_pair(struct remote_request *out, const char *name, const char *value, const char *what,
                             char *err, size_t errlen)
{
    size_t at = 0;
    char *b;
    free(out->body);
    out->body = NULL, out->body_len = 0;
    if (value == NULL)
        return snprintf(err, errlen, "%s is not valid UTF-8 text", what), -1;
    if ((b = malloc(6 * (strlen(name) + strlen(value)) + 8)) == NULL)
        return snprintf(err, errlen, "out of memory"), -1;
    b[at++] = '{';
    bool ok = put_json_string(b, &at, name);
    b[at++] = ':';
    if (!ok || !put_json_string(b, &at, value)) {
        free(b);
        return snprintf(err, errlen, "%s is not valid UTF-8 text", what), -1;
    }
    b[at++] = '}';
    b[at] = '\0';
    out->body = b, out->body_len = at;
    return 0;
}

int remote_json_put_str(json_t *obj, const char *key, const char *value, const char *what, char *err, size_t errlen)
{
    if (value == NULL || json_object_set_new(obj, key, json_string(value)) != 0)
        return snprintf(err, errlen, "%s is not valid UTF-8 text", what), -1;
    return 0;
}

/* ASCII only, whatever the locale. */
static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool remote_id_is_safe(const char *id)
{
    size_t n = 0;
    for (; id[n] != '\0'; n++)
        if (n >= 127 || !id_char(id[n]))
            return false;
    return n > 0 && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

bool remote_header_value_is_safe(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

bool remote_key_available(const char *key, const char *var, char *reason, size_t reason_len)
{
    if (key != NULL && key[0] != '\0')
        return true;
    snprintf(reason, reason_len, "%s is not set", var);
    return false;
}

void remote_reply_init(struct remote_reply *out)
{
    memset(out, 0, sizeof *out);
    out->state = REMOTE_RETRY;
    out->eta_ms = out->retry_after_ms = -1;
    out->progress = -1;
}

void remote_reply_set(struct remote_reply *out, enum remote_state state, const char *fmt, ...)
{
    char buf[2 * sizeof out->message];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out->state = state;
    remote_text_copy(out->message, sizeof out->message, buf, n < 0 ? 0 : strnlen(buf, sizeof buf));
}

void remote_reply_status_named(const struct remote_http *http, const char *who, struct remote_reply *out)
{
    long s = http->status;
    remote_reply_init(out);
    out->retry_after_ms = remote_http_retry_after_ms(http, NULL);
    if (s == 0)
        remote_reply_set(out, REMOTE_RETRY, "no reply from %s (timeout or connection reset)", who);
    else if (s == 408)
        remote_reply_set(out, REMOTE_RETRY, "%s timed out (HTTP 408)", who);
    else if (s == 429)
        remote_reply_set(out, REMOTE_RETRY, "%s is rate limiting (HTTP 429)", who);
    else if (s >= 500 && s <= 599)
        remote_reply_set(out, REMOTE_RETRY, "%s is failing or overloaded (HTTP %ld)", who, s);
    else if (s >= 400 && s <= 499)
        remote_reply_set(out, REMOTE_FAILED, "%s refused the request (HTTP %ld)", who, s);
    else
        remote_reply_set(out, REMOTE_RETRY, "unexpected reply from %s (HTTP %ld)", who, s);
}

json_t *remote_json_load(const char *body, size_t len, size_t flags, char *why, size_t whylen)
{
    json_error_t e;
    size_t i = 0;
    if (body == NULL)
        len = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    if (i == len)
        return snprintf(why, whylen, "an empty reply"), NULL;
    json_t *root = json_region_loadb(body, len, flags | JSON_DECODE_ANY, &e);
    if (root == NULL && (body[i] == '{' || body[i] == '['))
        return snprintf(why, whylen, "malformed or truncated JSON (%s, at byte %d)", e.text, e.position), NULL;
    if (root == NULL) {
        char start[48];
        remote_text_copy(start, sizeof start, body + i, len - i < 40 ? len - i : 40);
        return snprintf(why, whylen, "a reply that is not JSON (%zu bytes: \"%s\")", len, start), NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return snprintf(why, whylen, "JSON that is not an object"), NULL;
    }
    return root;
}

const char *remote_json_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

bool remote_json_copy_id(const json_t *v, char *dst, size_t cap)
{
    char buf[128];
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof buf && strlen(json_string_value(v)) < sizeof buf)
        strcpy(buf, json_string_value(v));
    else
        return false;
    if (!remote_id_is_safe(buf) || strlen(buf) >= cap)
        return false;
    strcpy(dst, buf);
    return true;
}

bool remote_json_copy_url(const json_t *v, char *dst, size_t cap)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    size_t scheme = strncasecmp(s, "https://", 8) == 0 ? 8 : strncasecmp(s, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || n >= cap || strlen(s) != n || n == scheme || s[scheme] == '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    memcpy(dst, s, n + 1);
    return true;
}

int64_t remote_json_seconds_ms(const json_t *v)
{
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (!(d >= 0))
        return -1;
    return d * 1000.0 >= (double)REMOTE_MAX_WAIT_MS ? REMOTE_MAX_WAIT_MS : (int64_t)(d * 1000.0);
}

static int64_t now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t remote_http_retry_after_ms(const struct remote_http *http, const json_t *body_value)
{
    int64_t header = -1, body = remote_json_seconds_ms(body_value);
    if (http->retry_after != NULL)
        header = remote_retry_after_ms(http->retry_after, http->now_unix_ms > 0 ? http->now_unix_ms : now_unix_ms());
    return header > body ? header : body;
}

void remote_json_text(const json_t *v, char *dst, size_t cap)
{
    if (cap == 0)
        return;
    dst[0] = '\0';
    if (json_is_string(v)) {
        remote_text_copy(dst, cap, json_string_value(v), json_string_length(v));
    } else if (v != NULL && !json_is_null(v)) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s != NULL)
            remote_text_copy(dst, cap, s, strlen(s));
        free(s);
    }
}

/* The length of the UTF-8 character at s (1 to 4), or 0 when the bytes are not one
 * (a stray continuation byte, a truncated or overlong sequence, a surrogate, > U+10FFFF). */
static size_t utf8_char_len(const unsigned char *s, size_t avail)
{
    size_t n;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

void remote_text_copy(char *dst, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len(s + i, len - i);
        if (o + (n ? n : 1) >= cap)
            break;
        if (n == 0)
            dst[o++] = '?', i++;
        else if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))
            dst[o++] = ' ', i++;
        else
            memcpy(dst + o, s + i, n), o += n, i += n;
    }
    dst[o] = '\0';
}

bool remote_text_is_moderation(const char *text)
{
    static const char *const words[] = {"nsfw",       "safety", "moderat", "content policy",   "inappropriate",
                                        "prohibited", "violat", "unsafe",  "sensitive content"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (remote_text_has(text, words[i]))
            return true;
    return false;
}

bool remote_text_has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* A decimal string, digit by digit: the integer part, then up to six decimals kept. */
static bool cost_from_text(const char *s, size_t len, int64_t *micros)
{
    int64_t whole = 0, frac = 0;
    size_t i = 0, decimals = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        whole = whole * 10 + (s[i++] - '0');
        if (whole >= REMOTE_COST_MAX_UNITS)
            return false;
    }
    if (i == 0)
        return false;
    if (i < len && s[i] == '.') {
        if (++i == len)
            return false;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, decimals++)
            if (decimals < 6)
                frac = frac * 10 + (s[i] - '0');
        if (decimals == 0)
            return false;
    }
    if (i != len)
        return false;
    for (; decimals < 6; decimals++)
        frac *= 10;
    *micros = whole * 1000000 + frac;
    return true;
}

bool remote_json_cost(const json_t *v, int64_t *micros)
{
    if (json_is_string(v))
        return cost_from_text(json_string_value(v), json_string_length(v), micros);
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < REMOTE_COST_MAX_UNITS) {
        *micros = (int64_t)json_integer_value(v) * 1000000;
        return true;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < (double)REMOTE_COST_MAX_UNITS) {
        *micros = (int64_t)(json_real_value(v) * 1e6 + 0.5); /* a binary fraction: the nearest millionth */
        return true;
    }
    return false;
}

void remote_reply_cost(struct remote_reply *out, const json_t *v, enum remote_cost_unit unit)
{
    int64_t micros;
    if (v != NULL && remote_json_cost(v, &micros)) {
        out->cost_micros = micros;
        out->cost_unit = unit;
    }
}
