/* Passwords: checked for length, stored as Argon2id strings (libsodium's crypto_pwhash_str:
 * the algorithm, its limits and a random salt travel inside the string), never kept in
 * clear. Hashing and verifying take about 0.1 s of CPU and 64 MiB each (the "interactive"
 * limits), on purpose: run them off an event loop (http/offload.h). */
#ifndef VIDGEN_CORE_PASSWORD_H
#define VIDGEN_CORE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PASSWORD_MIN 8        /* bytes a password has at least */
#define PASSWORD_MAX 1024     /* and at most */
#define PASSWORD_HASH_MAX 128 /* bytes of a hash string, with its NUL (crypto_pwhash_STRBYTES) */
#define PASSWORD_NEW_LEN 24   /* characters of password_new()'s passwords */

/* VG_OK when `pw` (`len` bytes) is an acceptable password, else VG_ERR_INVALID naming
 * `field` with what is wrong. */
enum vg_err password_check(const char *pw, size_t len, const char *field, struct vg_error *err);

/* The stored form of `pw` in `out`. -1 when the machine cannot give the memory it takes. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX]);

/* Whether `pw` is the password of `hash` (a string password_hash made). A malformed or
 * empty hash matches nothing, after the same work as a real one (a missing user and a
 * wrong password take the same time). */
bool password_verify(const char *hash, const char *pw, size_t len);

/* A fresh random password (base64url, PASSWORD_NEW_LEN characters + NUL). */
void password_new(char out[PASSWORD_NEW_LEN + 1]);

#endif
