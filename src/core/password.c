#include "core/password.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "PASSWORD_HASH_MAX is crypto_pwhash_STRBYTES");

enum vg_err password_check(const char *pw, size_t len, const char *field, struct vg_error *err)
{
    if (len < PASSWORD_MIN)
        return vg_fail(err, VG_ERR_INVALID, field, "the password must be at least %d characters long", PASSWORD_MIN);
    if (len > PASSWORD_MAX)
        return vg_fail(err, VG_ERR_INVALID, field, "the password must be at most %d bytes long", PASSWORD_MAX);
    if (memchr(pw, '\0', len) != NULL)
        return vg_fail(err, VG_ERR_INVALID, field, "the password must not contain a NUL character");
    return VG_OK;
}

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
    return crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                                 crypto_pwhash_ALG_ARGON2ID13);
}

/* A hash of a password nobody has, made once, verified against when there is no real one. */
static char decoy[PASSWORD_HASH_MAX];
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void make_decoy(void)
{
    char pw[PASSWORD_NEW_LEN + 1];
    password_new(pw);
    if (password_hash(pw, strlen(pw), decoy) != 0)
        decoy[0] = '\0';
}

static const char *decoy_hash(void)
{
    pthread_once(&decoy_once, make_decoy);
    return decoy[0] ? decoy : NULL;
}

bool password_verify(const char *hash, const char *pw, size_t len)
{
    if (hash == NULL ||
        strncmp(hash, crypto_pwhash_argon2id_STRPREFIX, strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0) {
        const char *decoy = decoy_hash();
        if (decoy != NULL && crypto_pwhash_str_verify(decoy, pw, len) == 0)
            return false; /* the same work as a real check; nobody knows the decoy's password */
        return false;
    }
    return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

void password_new(char out[PASSWORD_NEW_LEN + 1])
{
    unsigned char bytes[PASSWORD_NEW_LEN * 3 / 4];
    randombytes_buf(bytes, sizeof bytes);
    sodium_bin2base64(out, PASSWORD_NEW_LEN + 1, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
