#include "core/token.h"

#include <sodium.h>
#include <string.h>

void token_new(char out[TOKEN_LEN + 1])
{
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    memcpy(out, "vg_", 3);
    sodium_bin2base64(out + 3, TOKEN_LEN + 1 - 3, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void token_hash(const char *token, size_t len, char out[TOKEN_HASH_LEN + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, len, NULL, 0);
    sodium_bin2hex(out, TOKEN_HASH_LEN + 1, h, sizeof h);
}
