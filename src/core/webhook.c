#include "core/webhook.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void webhook_token_new(char token[WEBHOOK_TOKEN_LEN + 1], char hash[TOKEN_HASH_LEN + 1])
{
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    sodium_bin2base64(token, WEBHOOK_TOKEN_LEN + 1, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(bytes, sizeof bytes);
    token_hash(token, WEBHOOK_TOKEN_LEN, hash);
}

static int is_base64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int webhook_token_hash(const char *token, char hash[TOKEN_HASH_LEN + 1])
{
    size_t n = 0;
    while (n <= WEBHOOK_TOKEN_LEN && token[n] != '\0' && is_base64url(token[n]))
        n++;
    if (n != WEBHOOK_TOKEN_LEN || token[n] != '\0')
        return -1;
    token_hash(token, n, hash);
    return 0;
}

int webhook_url(char *buf, size_t cap, const char *public_url, const char *provider, const char *token)
{
    size_t n = strlen(public_url);
    while (n > 0 && public_url[n - 1] == '/')
        n--;
    if (n == 0)
        return -1;
    int len = snprintf(buf, cap, "%.*s%s/%s/%s", (int)n, public_url, WEBHOOK_PATH, provider, token);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}
