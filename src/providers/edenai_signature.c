#include "providers/edenai_signature.h"

#include <errno.h>
#include <math.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNATURE_MAX 1024 /* bytes of a signature: an RSA key of up to 8192 bits */

struct edenai_webhook_key {
    EVP_PKEY *pkey;
};

/* --- the key ------------------------------------------------------------------------------ */

struct edenai_webhook_key *edenai_webhook_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
    EVP_PKEY *pkey = NULL;
    struct edenai_webhook_key *key = NULL;
    /* Either PEM form of an RSA public key: SubjectPublicKeyInfo or PKCS#1. */
    OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    const unsigned char *p = (const unsigned char *)pem;
    size_t left = len;
    if (dc == NULL || OSSL_DECODER_from_data(dc, &p, &left) != 1 || pkey == NULL)
        snprintf(err, errlen, "not a PEM RSA public key");
    else if (EVP_PKEY_get_bits(pkey) < 2048)
        snprintf(err, errlen, "an RSA key of %d bits is too weak to trust (2048 at least)", EVP_PKEY_get_bits(pkey));
    else if ((key = malloc(sizeof *key)) == NULL)
        snprintf(err, errlen, "out of memory");
    else {
        key->pkey = pkey;
        pkey = NULL;
    }
    EVP_PKEY_free(pkey);
    OSSL_DECODER_CTX_free(dc);
    ERR_clear_error();
    return key;
}

struct edenai_webhook_key *edenai_webhook_key_load(const char *path, char *err, size_t errlen)
{
    char pem[16384], why[160];
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = fread(pem, 1, sizeof pem, fp);
    bool too_long = n == sizeof pem, failed = ferror(fp);
    fclose(fp);
    if (failed || too_long) {
        snprintf(err, errlen, "%s: %s", path, failed ? "cannot be read" : "too long for a public key");
        return NULL;
    }
    struct edenai_webhook_key *key = edenai_webhook_key_from_pem(pem, n, why, sizeof why);
    if (key == NULL)
        snprintf(err, errlen, "%s: %s", path, why);
    return key;
}

void edenai_webhook_key_free(struct edenai_webhook_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* --- the canonical form ------------------------------------------------------------------ */

struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->failed = true;
            return;
        }
        o->p = p, o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void newline(struct out *o, int depth)
{
    put(o, "\n", 1);
    for (int i = 0; i < depth; i++)
        put(o, "  ", 2);
}

/* Escaped as both writers escape with non-ASCII kept: the quote, the backslash and the
 * control characters, those with a short form by it, the others as \u00xx (lower case). */
static void put_string(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                                      : NULL;
        char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
        if (esc == NULL && c >= 0x20)
            continue;
        put(o, s + run, i - run);
        put_str(o, esc ? esc : u);
        run = i + 1;
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

/* A real as Python's repr writes it: the shortest digits that read back as the same double;
 * positional when the decimal point falls at most 16 places right of the first digit or 4
 * left of it (0.0001, 1000000000000000.0), with ".0" when it is whole; else d[.ddd]e±XX with
 * at least two exponent digits (1e-05, 1e+16, 1.5e+300). */
static void put_real(struct out *o, double d)
{
    char sci[40], digits[24], text[64];
    int nd = 0, prec;
    size_t t = 0;
    if (!isfinite(d)) {
        o->failed = true;
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    snprintf(sci, sizeof sci, "%.*e", prec - 1, d); /* "-d.ddde+XX" */
    const char *p = sci;
    for (; *p != 'e' && *p != '\0'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    if (*p != 'e' || nd == 0) {
        o->failed = true;
        return;
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int decpt = atoi(p + 1) + 1; /* d = 0.DIGITS x 10^decpt */
    if (sci[0] == '-')
        text[t++] = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            text[t++] = '0', text[t++] = '.';
            for (int i = decpt; i < 0; i++)
                text[t++] = '0';
            memcpy(text + t, digits, (size_t)nd), t += (size_t)nd;
        } else if (decpt >= nd) {
            memcpy(text + t, digits, (size_t)nd), t += (size_t)nd;
            for (int i = nd; i < decpt; i++)
                text[t++] = '0';
            text[t++] = '.', text[t++] = '0';
        } else {
            memcpy(text + t, digits, (size_t)decpt), t += (size_t)decpt;
            text[t++] = '.';
            memcpy(text + t, digits + decpt, (size_t)(nd - decpt)), t += (size_t)(nd - decpt);
        }
    } else {
        text[t++] = digits[0];
        if (nd > 1) {
            text[t++] = '.';
            memcpy(text + t, digits + 1, (size_t)nd - 1), t += (size_t)nd - 1;
        }
        t += (size_t)snprintf(text + t, sizeof text - t, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
    }
    put(o, text, t);
}

static int key_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_value(struct out *o, const json_t *v, int depth);

/* Keys sorted by their UTF-8 bytes, which is the order of their code points. */
static void put_object(struct out *o, const json_t *v, int depth)
{
    size_t n = json_object_size(v), i = 0;
    const char *key;
    json_t *item;
    if (n == 0)
        return put_str(o, "{}");
    const char **keys = malloc(n * sizeof *keys);
    if (keys == NULL) {
        o->failed = true;
        return;
    }
    json_object_foreach((json_t *)v, key, item)
    {
        keys[i++] = key;
    }
    qsort(keys, n, sizeof *keys, key_order);
    put(o, "{", 1);
    for (i = 0; i < n; i++) {
        if (i > 0)
            put(o, ",", 1);
        newline(o, depth + 1);
        put_string(o, keys[i], strlen(keys[i]));
        put(o, ": ", 2);
        put_value(o, json_object_get(v, keys[i]), depth + 1);
    }
    newline(o, depth);
    put(o, "}", 1);
    free(keys);
}

static void put_array(struct out *o, const json_t *v, int depth)
{
    size_t n = json_array_size(v);
    if (n == 0)
        return put_str(o, "[]");
    put(o, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(o, ",", 1);
        newline(o, depth + 1);
        put_value(o, json_array_get(v, i), depth + 1);
    }
    newline(o, depth);
    put(o, "]", 1);
}

/* Recursion as deep as the value: jansson's parser bounds that (JSON_PARSER_MAX_DEPTH). */
static void put_value(struct out *o, const json_t *v, int depth)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: return put_object(o, v, depth);
    case JSON_ARRAY: return put_array(o, v, depth);
    case JSON_STRING: return put_string(o, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return put_str(o, num);
    case JSON_REAL: return put_real(o, json_real_value(v));
    case JSON_TRUE: return put_str(o, "true");
    case JSON_FALSE: return put_str(o, "false");
    case JSON_NULL: return put_str(o, "null");
    }
}

char *edenai_canonical_json(const json_t *v, size_t *len)
{
    struct out o = {0};
    put_value(&o, v, 0);
    if (o.failed || o.p == NULL) {
        free(o.p);
        return NULL;
    }
    if (len)
        *len = o.len;
    return o.p;
}

/* --- verification --------------------------------------------------------------------------- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The bytes of `n` hex characters into out (at most SIGNATURE_MAX); -1 when they are not. */
static long unhex(const char *s, size_t n, unsigned char *out)
{
    if (n == 0 || n % 2 != 0 || n / 2 > SIGNATURE_MAX)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

/* The lower-case hex SHA-256 of `len` bytes (what Python's hexdigest() gives). */
static bool sha256_hex(const char *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return false;
    for (unsigned i = 0; i < n; i++)
        hex[2 * i] = digits[md[i] >> 4], hex[2 * i + 1] = digits[md[i] & 15];
    hex[64] = '\0';
    return true;
}

bool edenai_webhook_verify(const struct edenai_webhook_key *key, const char *body, size_t len,
                           const char *signature_hex, size_t hex_len)
{
    unsigned char sig[SIGNATURE_MAX];
    char digest[65];
    long sig_len = key && signature_hex ? unhex(signature_hex, hex_len, sig) : -1;
    bool ok = false;
    if (sig_len <= 0)
        return false;
    /* Duplicate keys refused: the signer's parse and ours could keep different ones. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    size_t canon_len = 0;
    char *canon = root ? edenai_canonical_json(root, &canon_len) : NULL;
    json_decref(root);
    if (canon == NULL || !sha256_hex(canon, canon_len, digest)) {
        free(canon);
        return false;
    }
    free(canon);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, key->pkey) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
         EVP_DigestVerify(ctx, sig, (size_t)sig_len, (const unsigned char *)digest, 64) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
