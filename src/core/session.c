#include "core/session.h"

#include <sodium.h>
#include <string.h>

void session_token_new(char out[SESSION_TOKEN_LEN + 1])
{
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    memcpy(out, "vs_", 3);
    sodium_bin2base64(out + 3, SESSION_TOKEN_LEN + 1 - 3, bytes, sizeof bytes,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void session_csrf(const char *token, size_t len, char out[SESSION_CSRF_LEN + 1])
{
    static const char purpose[] = "vidgen csrf v1";
    unsigned char key[crypto_generichash_KEYBYTES], h[SESSION_CSRF_LEN / 2];
    /* the token itself keys the hash: hashed first, since a key has a fixed size */
    crypto_generichash(key, sizeof key, (const unsigned char *)token, len, NULL, 0);
    crypto_generichash(h, sizeof h, (const unsigned char *)purpose, sizeof purpose - 1, key, sizeof key);
    sodium_bin2hex(out, SESSION_CSRF_LEN + 1, h, sizeof h);
    sodium_memzero(key, sizeof key);
}

bool session_csrf_ok(const char *token, size_t token_len, const char *given, size_t len)
{
    char want[SESSION_CSRF_LEN + 1];
    if (len != SESSION_CSRF_LEN)
        return false;
    session_csrf(token, token_len, want);
    return sodium_memcmp(want, given, SESSION_CSRF_LEN) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool session_cookie_find(const char *v, size_t len, const char *name, const char **out, size_t *out_len)
{
    size_t nlen = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && v[end] != ';')
            end++;
        size_t a = i, b = end;
        while (a < b && is_space(v[a]))
            a++;
        while (b > a && is_space(v[b - 1]))
            b--;
        if (b - a > nlen && memcmp(v + a, name, nlen) == 0 && v[a + nlen] == '=') {
            *out = v + a + nlen + 1;
            *out_len = b - (a + nlen + 1);
            return *out_len > 0;
        }
        i = end + 1;
    }
    return false;
}
