/* API tokens: 32 random bytes shown once to the user as "vg_<base64url>", and kept in the
 * store only as their BLAKE2b hash (a fast hash is right here: the token has 256 bits of
 * entropy, so there is nothing to brute-force, and every request looks one up). */
#ifndef VIDGEN_CORE_TOKEN_H
#define VIDGEN_CORE_TOKEN_H

#include <stddef.h>

#define TOKEN_LEN 46      /* "vg_" + 43 base64url characters */
#define TOKEN_HASH_LEN 64 /* hex of a 32-byte hash */

/* A fresh token; `out` holds TOKEN_LEN + 1 bytes. */
void token_new(char out[TOKEN_LEN + 1]);

/* The stored form of `token` (any bytes, `len` long); `out` holds TOKEN_HASH_LEN + 1. */
void token_hash(const char *token, size_t len, char out[TOKEN_HASH_LEN + 1]);

#endif
