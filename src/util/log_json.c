/* A log message as the inside of a JSON string. Messages carry what others sent (a
 * provider's reason, a URL, a file name): whatever their bytes, the line stays valid JSON
 * and valid UTF-8, so that a log shipper never drops it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* The length of the valid UTF-8 character at s (1..4), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    uint32_t c = len == 2 ? (s[0] & 0x1fu) : len == 3 ? (s[0] & 0x0fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < len; i++)
        c = c << 6 | (s[i] & 0x3fu);
    bool overlong = (len == 3 && c < 0x800) || (len == 4 && c < 0x10000);
    return overlong || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ? 0 : len;
}

void log_json_escape(char *dst, size_t *n, size_t cap, size_t reserve, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    char esc[8];
    while (*s) {
        size_t len = utf8_length(s);
        const char *out = (const char *)s;
        size_t out_len = len;
        if (len == 0)
            out = "\\ufffd", out_len = 6, len = 1;
        else if (*s == '"' || *s == '\\')
            esc[0] = '\\', esc[1] = (char)*s, out = esc, out_len = 2;
        else if (*s < 0x20)
            out_len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *s), out = esc;
        if (*n + out_len + reserve > cap)
            return;
        memcpy(dst + *n, out, out_len);
        *n += out_len;
        s += len;
    }
}
