/* Eden AI's webhook signature (../shared/providers/edenai.md §4): the header
 * X-Edenai-Signature holds, in hex, an RSA PKCS#1 v1.5 / SHA-256 signature of the SHA-256
 * hex digest of the body's canonical JSON (keys sorted, two-space indent, UTF-8), made with
 * a key whose public half Eden AI support hands out (EDENAI_WEBHOOK_PUBLIC_KEY, a PEM file).
 *
 * The canonical form is what Eden AI's orjson (OPT_INDENT_2 | OPT_SORT_KEYS) and Python's
 * json.dumps(sort_keys=True, indent=2, ensure_ascii=False) both write: the body is parsed
 * and written again, never hashed as received. The two agree on everything a callback holds
 * (strings, integers, null, booleans, objects, arrays) and on reals in [1e-4, 1e16); a real
 * outside that range is written as Python writes it, so a body whose signer wrote it the
 * other way fails to verify, and its job is followed by polling as if no callback had come.
 *
 * Verification needs no state beyond the key, which is read once at start and then only
 * read: any number of threads may verify with one key at once. */
#ifndef VIDGEN_PROVIDERS_EDENAI_SIGNATURE_H
#define VIDGEN_PROVIDERS_EDENAI_SIGNATURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Eden AI's public key (opaque: an OpenSSL EVP_PKEY). */
struct edenai_webhook_key;

/* Reads the RSA public key from the PEM file at `path` ("BEGIN PUBLIC KEY" or "BEGIN RSA
 * PUBLIC KEY"). NULL with a message in `err` when it cannot. The caller frees it with
 * edenai_webhook_key_free. */
struct edenai_webhook_key *edenai_webhook_key_load(const char *path, char *err, size_t errlen);
/* The same from `len` bytes of PEM text. */
struct edenai_webhook_key *edenai_webhook_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);
/* NULL is accepted. */
void edenai_webhook_key_free(struct edenai_webhook_key *key);

/* `v` written in the canonical form, NUL-terminated, its length in *len (may be NULL). The
 * caller frees it (free). NULL when out of memory or for a value JSON cannot hold (a real
 * that is not finite). */
char *edenai_canonical_json(const json_t *v, size_t *len);

/* Whether `signature_hex` (hex, either case, `hex_len` characters) is Eden AI's signature
 * of the webhook body `body` (`len` bytes, untrusted) under `key`. False for anything else:
 * a body that is not JSON or repeats a key, a signature that is not hex, another key's. */
bool edenai_webhook_verify(const struct edenai_webhook_key *key, const char *body, size_t len,
                           const char *signature_hex, size_t hex_len);

#endif
