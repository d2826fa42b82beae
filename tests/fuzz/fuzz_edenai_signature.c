/* libFuzzer target: any bytes as the body of an Eden AI webhook, through the signature check
 * (providers/edenai_signature.c). No input may crash it or verify under a key that never
 * signed anything, and the canonical form of any JSON it takes must read back as the same
 * value and be its own canonical form (what the signature covers is well defined). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/edenai_signature.h"

static struct edenai_webhook_key *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[200], *pem;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    if (k == NULL || b == NULL || PEM_write_bio_PUBKEY(b, k) != 1)
        abort();
    long n = BIO_get_mem_data(b, &pem);
    if ((key = edenai_webhook_key_from_pem(pem, (size_t)n, err, sizeof err)) == NULL)
        abort();
    BIO_free(b);
    EVP_PKEY_free(k);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sig[] = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";
    /* The body, and as a signature: a fixed one, and the body itself (hex or not). */
    if (edenai_webhook_verify(key, (const char *)data, size, sig, sizeof sig - 1) ||
        edenai_webhook_verify(key, (const char *)data, size, (const char *)data, size))
        abort();
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (v == NULL)
        return 0;
    size_t len = 0, len2 = 0;
    char *canon = edenai_canonical_json(v, &len);
    if (canon == NULL || strlen(canon) != len)
        abort();
    json_t *back = json_loadb(canon, len, JSON_DECODE_ANY, NULL);
    char *again = back ? edenai_canonical_json(back, &len2) : NULL;
    if (back == NULL || !json_equal(v, back) || again == NULL || len2 != len || memcmp(canon, again, len) != 0)
        abort();
    free(again);
    free(canon);
    json_decref(back);
    json_decref(v);
    return 0;
}
