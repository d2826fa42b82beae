/* Webhooks: the callback token (core/webhook.h), Eden AI's signature check with its
 * canonical JSON (providers/edenai_signature.h), and the store's side of a callback
 * (store_webhook_wake): which generation it wakes, and that nothing else changes. */
#include <criterion/criterion.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/webhook.h"
#include "providers/edenai_signature.h"
#include "store/store.h"
#include "util/id.h"

/* --- the token ------------------------------------------------------------------------- */

static bool all_base64url(const char *s)
{
    for (; *s; s++)
        if (!(strchr("-_", *s) || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

Test(webhook_token, a_new_token_is_43_url_safe_characters_and_its_hash_is_what_a_lookup_computes)
{
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], again[TOKEN_HASH_LEN + 1];
    char token2[WEBHOOK_TOKEN_LEN + 1], hash2[TOKEN_HASH_LEN + 1];
    webhook_token_new(token, hash);
    webhook_token_new(token2, hash2);
    cr_expect_eq(strlen(token), WEBHOOK_TOKEN_LEN);
    cr_expect(all_base64url(token), "%s", token);
    cr_expect_eq(strlen(hash), TOKEN_HASH_LEN);
    cr_expect(strstr(hash, token) == NULL && strcmp(hash, token) != 0, "the hash is the token");
    cr_assert_eq(webhook_token_hash(token, again), 0);
    cr_expect_str_eq(again, hash, "a lookup hashes the token as the submit stored it");
    cr_expect_str_neq(token, token2, "two submits, one token");
    cr_expect_str_neq(hash, hash2);
}

Test(webhook_token, only_a_token_shaped_string_is_hashed)
{
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], out[TOKEN_HASH_LEN + 1] = "untouched";
    char bad[8][64];
    webhook_token_new(token, hash);
    snprintf(bad[0], sizeof bad[0], "%.42s", token);           /* one short */
    snprintf(bad[1], sizeof bad[1], "%sA", token);             /* one long */
    snprintf(bad[2], sizeof bad[2], "%.42s=", token);          /* padding */
    snprintf(bad[3], sizeof bad[3], "%.42s+", token);          /* standard base64 */
    snprintf(bad[4], sizeof bad[4], "%.42s/", token);          /* a path separator */
    snprintf(bad[5], sizeof bad[5], "%.41s%%2", token);        /* percent-encoded */
    snprintf(bad[6], sizeof bad[6], "%s", "");                 /* empty */
    snprintf(bad[7], sizeof bad[7], "%.42s%c", token, '\xc3'); /* a non-ASCII byte */
    for (int i = 0; i < 8; i++)
        cr_expect_eq(webhook_token_hash(bad[i], out), -1, "'%s' taken for a token", bad[i]);
    cr_expect_str_eq(out, "untouched");
}

Test(webhook_token, the_url_is_the_public_url_then_the_route_then_provider_and_token)
{
    char url[256];
    cr_assert_eq(webhook_url(url, sizeof url, "https://vid.example.com/", "edenai", "TOKEN"), 0);
    cr_expect_str_eq(url, "https://vid.example.com/api/apps/video-generator/webhooks/edenai/TOKEN");
    cr_assert_eq(webhook_url(url, sizeof url, "http://h:8080/base//", "modelslab", "T"), 0);
    cr_expect_str_eq(url, "http://h:8080/base/api/apps/video-generator/webhooks/modelslab/T");
    cr_expect_eq(webhook_url(url, 20, "https://vid.example.com", "edenai", "TOKEN"), -1, "cut");
    cr_expect_eq(webhook_url(url, sizeof url, "", "edenai", "TOKEN"), -1, "no public URL");
}

/* --- canonical JSON ------------------------------------------------------------------------ */

/* Each input and what Python's json.dumps(json.loads(input), sort_keys=True, indent=2,
 * ensure_ascii=False) writes for it (which Eden AI's orjson writes alike). */
static const struct {
    const char *in, *want;
} canon_cases[] = {
    {"{}", "{}"},
    {"[]", "[]"},
    {"{\"b\":1,\"a\":[true,false,null],\"c\":{}}",
     "{\n  \"a\": [\n    true,\n    false,\n    null\n  ],\n  \"b\": 1,\n  \"c\": {}\n}"},
    {"{\"event\":\"async_job_completed\",\"job_id\":\"3c90\",\"status\":\"success\",\"output\":{\"video\":\"AAAA\","
     "\"video_resource_url\":\"https://x/y?a=1&b=2\"},\"error\":null}",
     "{\n  \"error\": null,\n  \"event\": \"async_job_completed\",\n  \"job_id\": \"3c90\",\n  \"output\": {\n    "
     "\"video\": \"AAAA\",\n    \"video_resource_url\": \"https://x/y?a=1&b=2\"\n  },\n  \"status\": \"success\"\n}"},
    {"{\"s\":\"quote\\\" back\\\\ slash\\/ nl\\n tab\\t cr\\r bs\\b ff\\f u1\\u0001 u1f\\u001f del\\u007f\"}",
     "{\n  \"s\": \"quote\\\" back\\\\ slash/ nl\\n tab\\t cr\\r bs\\b ff\\f u1\\u0001 u1f\\u001f del\x7f\"\n}"},
    {"{\"\\u00e9\":\"ünïcödé ✓ \\ud83d\\ude00\",\"e\":\"plain\",\"Z\":\"upper\",\"_\":1}",
     "{\n  \"Z\": \"upper\",\n  \"_\": 1,\n  \"e\": \"plain\",\n  \"é\": \"ünïcödé ✓ 😀\"\n}"},
    {"[1.0, 1.5, -0.0, 0.0, 100.0, 1e16, 1e15, 0.0001, 0.00001, 123456789.125, 1e-07, 2.5e-300, "
     "1.7976931348623157e308, 0.1, -2.75, 1e22, 12345678901234567890.0]",
     "[\n  1.0,\n  1.5,\n  -0.0,\n  0.0,\n  100.0,\n  1e+16,\n  1000000000000000.0,\n  0.0001,\n  1e-05,\n  "
     "123456789.125,\n  1e-07,\n  2.5e-300,\n  1.7976931348623157e+308,\n  0.1,\n  -2.75,\n  1e+22,\n  "
     "1.2345678901234567e+19\n]"},
    {"[0, -1, 9223372036854775807, -9223372036854775808]",
     "[\n  0,\n  -1,\n  9223372036854775807,\n  -9223372036854775808\n]"},
    {"[[[]],[{}],{\"a\":[1,{\"b\":[]}]}]", "[\n  [\n    []\n  ],\n  [\n    {}\n  ],\n  {\n    \"a\": [\n      1,\n     "
                                           " {\n        \"b\": []\n      }\n    ]\n  "
                                           "}\n]"},
};

Test(edenai_signature, the_canonical_form_is_what_eden_ai_and_python_write)
{
    for (size_t i = 0; i < sizeof canon_cases / sizeof canon_cases[0]; i++) {
        json_error_t e;
        json_t *v = json_loads(canon_cases[i].in, JSON_DECODE_ANY, &e);
        cr_assert_not_null(v, "case %zu: %s", i, e.text);
        size_t len = 0;
        char *got = edenai_canonical_json(v, &len);
        cr_assert_not_null(got, "case %zu", i);
        cr_expect_str_eq(got, canon_cases[i].want, "case %zu", i);
        cr_expect_eq(len, strlen(canon_cases[i].want), "case %zu", i);
        free(got);
        json_decref(v);
    }
}

/* --- signatures ------------------------------------------------------------------------ */

static EVP_PKEY *new_key(int bits)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    cr_assert_not_null(k);
    return k;
}

/* The public half of `k` as PEM, in a buffer the caller frees. */
static char *public_pem(EVP_PKEY *k, bool pkcs1, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    if (pkcs1) {
        OSSL_ENCODER_CTX *ec = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
        cr_assert(ec != NULL && OSSL_ENCODER_to_bio(ec, b) == 1);
        OSSL_ENCODER_CTX_free(ec);
    } else
        cr_assert_eq(PEM_write_bio_PUBKEY(b, k), 1);
    long n = BIO_get_mem_data(b, &data);
    char *copy = malloc((size_t)n + 1);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    BIO_free(b);
    return copy;
}

static struct edenai_webhook_key *load(EVP_PKEY *k, bool pkcs1)
{
    char err[200] = "";
    size_t len;
    char *pem = public_pem(k, pkcs1, &len);
    struct edenai_webhook_key *key = edenai_webhook_key_from_pem(pem, len, err, sizeof err);
    free(pem);
    cr_assert_not_null(key, "%s", err);
    return key;
}

/* What Eden AI sends in X-Edenai-Signature for `body`: hex of the RSA PKCS#1 v1.5 / SHA-256
 * signature of the SHA-256 hex digest of its canonical JSON. */
static void sign(EVP_PKEY *k, const char *body, char *hex_out)
{
    unsigned char md[32], sig[1024];
    char digest[65];
    size_t sig_len = sizeof sig;
    json_t *v = json_loads(body, 0, NULL);
    cr_assert_not_null(v);
    size_t len;
    char *canon = edenai_canonical_json(v, &len);
    json_decref(v);
    EVP_Digest(canon, len, md, NULL, EVP_sha256(), NULL);
    free(canon);
    for (int i = 0; i < 32; i++)
        sprintf(digest + 2 * i, "%02x", md[i]);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    cr_assert_eq(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)digest, 64), 1);
    EVP_MD_CTX_free(ctx);
    for (size_t i = 0; i < sig_len; i++)
        sprintf(hex_out + 2 * i, "%02x", sig[i]);
}

static bool verify(const struct edenai_webhook_key *key, const char *body, const char *sig)
{
    return edenai_webhook_verify(key, body, strlen(body), sig, strlen(sig));
}

#define BODY                                                                                                           \
    "{\"event\":\"async_job_completed\",\"job_id\":\"3c90c3cc-0d44\",\"status\":\"success\",\"feature\":\"video\","    \
    "\"output\":{\"video\":\"AAAA\",\"video_resource_url\":\"https://cdn.test/v.mp4\"},\"cost\":\"0.48\"}"

Test(edenai_signature, a_signed_body_verifies_however_it_is_spaced_or_ordered)
{
    EVP_PKEY *k = new_key(2048);
    struct edenai_webhook_key *key = load(k, false), *pkcs1 = load(k, true);
    char sig[2100];
    sign(k, BODY, sig);
    cr_expect(verify(key, BODY, sig));
    cr_expect(verify(pkcs1, BODY, sig), "a PKCS#1 PEM is the same key");
    /* The same object written otherwise: the signature covers the canonical form. */
    cr_expect(
        verify(key,
               "{ \"status\" : \"success\", \"job_id\":\"3c90c3cc-0d44\", \"feature\":\"video\", \"cost\":\"0.48\","
               "\n\"output\":{\"video_resource_url\":\"https:\\/\\/cdn.test\\/v.mp4\",\"video\":\"AAAA\"},"
               "\"event\":\"async_job_completed\"}",
               sig));
    for (char *p = sig; *p; p++) /* hex in either case */
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    cr_expect(verify(key, BODY, sig));
    edenai_webhook_key_free(key);
    edenai_webhook_key_free(pkcs1);
    EVP_PKEY_free(k);
}

Test(edenai_signature, a_changed_body_a_bad_signature_or_another_key_does_not_verify)
{
    EVP_PKEY *k = new_key(2048), *other = new_key(2048);
    struct edenai_webhook_key *key = load(k, false);
    char sig[2100], other_sig[2100], cut[2100];
    sign(k, BODY, sig);
    sign(other, BODY, other_sig);
    cr_expect_not(verify(key, BODY, other_sig), "signed by another key");
    char *changed = strdup(BODY);
    memcpy(strstr(changed, "AAAA"), "AAAB", 4); /* another video, same length */
    cr_expect_not(verify(key, changed, sig), "a changed value");
    free(changed);
    cr_expect_not(verify(key, "{\"event\":\"async_job_completed\",\"job_id\":\"3c90c3cc-0d44\"}", sig), "cut");
    cr_expect_not(verify(key, BODY "x", sig), "not JSON");
    cr_expect_not(verify(key, "{\"status\":\"success\",\"status\":\"fail\"}", sig), "a repeated key");
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(sig) - 2, sig);
    cr_expect_not(verify(key, BODY, cut), "a cut signature");
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(sig) - 1, sig);
    cr_expect_not(verify(key, BODY, cut), "an odd number of hex digits");
    snprintf(cut, sizeof cut, "%s", sig);
    cut[10] = 'g';
    cr_expect_not(verify(key, BODY, cut), "not hex");
    cr_expect_not(verify(key, BODY, ""), "empty");
    cr_expect_not(edenai_webhook_verify(key, BODY, strlen(BODY), NULL, 0), "none");
    cr_expect_not(edenai_webhook_verify(NULL, BODY, strlen(BODY), sig, strlen(sig)), "no key");
    cr_expect_not(edenai_webhook_verify(key, NULL, 0, sig, strlen(sig)), "no body");
    edenai_webhook_key_free(key);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

Test(edenai_signature, only_a_strong_enough_rsa_public_key_is_taken)
{
    char err[200] = "", path[] = "/tmp/vidgen-test-key-XXXXXX";
    size_t len;
    EVP_PKEY *weak = new_key(1024), *ec = EVP_EC_gen("P-256");
    char *pem = public_pem(weak, false, &len);
    cr_expect_null(edenai_webhook_key_from_pem(pem, len, err, sizeof err));
    cr_expect(strstr(err, "1024") != NULL, "%s", err);
    free(pem);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, ec);
    char *data;
    len = (size_t)BIO_get_mem_data(b, &data);
    cr_expect_null(edenai_webhook_key_from_pem(data, len, err, sizeof err), "an EC key");
    BIO_free(b);
    cr_expect_null(edenai_webhook_key_from_pem("not a key", 9, err, sizeof err));
    cr_expect(strstr(err, "PEM") != NULL, "%s", err);
    /* From a file, and a file that is not there. */
    EVP_PKEY *k = new_key(2048);
    pem = public_pem(k, false, &len);
    int fd = mkstemp(path);
    cr_assert(fd >= 0 && write(fd, pem, len) == (ssize_t)len);
    close(fd);
    struct edenai_webhook_key *key = edenai_webhook_key_load(path, err, sizeof err);
    cr_expect_not_null(key, "%s", err);
    edenai_webhook_key_free(key);
    unlink(path);
    cr_expect_null(edenai_webhook_key_load(path, err, sizeof err));
    cr_expect(strstr(err, path) != NULL, "%s", err);
    free(pem);
    EVP_PKEY_free(k);
    EVP_PKEY_free(weak);
    EVP_PKEY_free(ec);
}

/* --- the store's side ------------------------------------------------------------------------ */

struct fixture {
    char dir[64];
    struct store *s;
    char gen[ID_LEN + 1], other[ID_LEN + 1];
};

static void make_generation(struct fixture *f, const char *user, const char *project, char id[ID_LEN + 1])
{
    struct generation g;
    bool replayed;
    struct vg_error err;
    struct generation_new in = {.user_id = user,
                                .project_id = project,
                                .provider = "modelslab",
                                .model_id = "veo3",
                                .model_name = "Veo 3",
                                .prompt = "a fox",
                                .resolution = "720p",
                                .aspect_ratio = "16:9",
                                .duration = 8,
                                .credits = 10};
    cr_assert_eq(store_generation_create(f->s, &in, &g, &replayed, &err), VG_OK, "%s", err.message);
    memcpy(id, g.id, ID_LEN + 1);
    generation_free(&g);
}

static void setup(struct fixture *f)
{
    char url[128], err[256];
    struct user u;
    struct project p;
    struct vg_error e;
    snprintf(f->dir, sizeof f->dir, "/tmp/vidgen-webhook-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(url, sizeof url, "sqlite:%s/vidgen.db", f->dir);
    cr_assert_not_null(f->s = store_open(url, err, sizeof err), "%s", err);
    cr_assert_eq(store_migrate(f->s, NULL, &e), VG_OK, "%s", e.message);
    cr_assert_eq(store_user_create(f->s, "u", false, 100, &u, &e), VG_OK, "%s", e.message);
    cr_assert_eq(store_project_create(f->s, u.id, "p", NULL, &p, &e), VG_OK, "%s", e.message);
    make_generation(f, u.id, p.id, f->gen);
    make_generation(f, u.id, p.id, f->other);
    project_free(&p);
}

static void teardown(struct fixture *f)
{
    char path[128];
    store_close(f->s);
    for (const char *const *x = (const char *const[]){"", "-wal", "-shm", NULL}; *x; x++) {
        snprintf(path, sizeof path, "%s/vidgen.db%s", f->dir, *x);
        unlink(path);
    }
    rmdir(f->dir);
}

/* Every column of the row, as text: what "nothing changed" compares. */
static char *row(struct fixture *f, const char *id)
{
    char path[128], *out = NULL;
    size_t len = 0;
    sqlite3 *db;
    sqlite3_stmt *st;
    snprintf(path, sizeof path, "%s/vidgen.db", f->dir);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT * FROM generations WHERE id = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    FILE *m = open_memstream(&out, &len);
    for (int i = 0; i < sqlite3_column_count(st); i++)
        fprintf(m, "%s=%s|", sqlite3_column_name(st, i), (const char *)sqlite3_column_text(st, i));
    fclose(m);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static int64_t next_run_at(struct fixture *f, const char *id)
{
    char *r = row(f, id), *p = strstr(r, "next_run_at=");
    int64_t v = strtoll(p + strlen("next_run_at="), NULL, 10);
    free(r);
    return v;
}

/* Claims the generation `want`, which must be the one due. */
static void claim(struct fixture *f, const char *want, const char *owner)
{
    struct generation g;
    struct vg_error e;
    cr_assert_eq(store_job_claim(f->s, owner, NULL, 30000, JOBS_REMOTE, &g, &e), VG_OK, "%s", e.message);
    cr_assert_str_eq(g.id, want, "claimed %s", g.id);
    generation_free(&g);
}

static void update(struct fixture *f, const char *id, const char *owner, struct job_update u)
{
    struct vg_error e;
    cr_assert_eq(store_job_update(f->s, id, owner, &u, NULL, &e), VG_OK, "%s", e.message);
}

/* Submitted with a callback token; released to wait an hour between polls. */
static void submitted(struct fixture *f, const char *id, const char *owner, const char *job_id, const char *hash)
{
    claim(f, id, owner);
    update(f, id, owner, (struct job_update){.outcome = JOB_RUNNING, .progress = -1, .webhook_hash = hash});
    update(f, id, owner,
           (struct job_update){.outcome = JOB_RUNNING, .progress = 5, .phase = "polling", .provider_job_id = job_id});
    update(f, id, owner,
           (struct job_update){.outcome = JOB_WAIT, .next_run_at = clock_now_ms() + 3600000, .progress = -1});
}

Test(webhook_store, a_callback_with_the_token_provider_and_job_makes_only_that_job_due_and_nothing_else)
{
    struct fixture f;
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], token2[WEBHOOK_TOKEN_LEN + 1],
        hash2[TOKEN_HASH_LEN + 1], id[ID_LEN + 1] = "";
    struct vg_error e;
    setup(&f);
    webhook_token_new(token, hash);
    webhook_token_new(token2, hash2);
    submitted(&f, f.gen, "w:1", "111", hash);
    submitted(&f, f.other, "w:2", "222", hash2);
    char *before = row(&f, f.gen), *before_other = row(&f, f.other);
    /* Wrong token, another generation's token, another provider, another provider job: no. */
    const struct {
        const char *provider, *hash, *job;
    } misses[] = {
        {"modelslab", "0000000000000000000000000000000000000000000000000000000000000000", "111"},
        {"modelslab", hash2, "111"},
        {"edenai", hash, "111"},
        {"modelslab", hash, "222"},
        {"modelslab", hash, ""},
    };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        cr_expect_eq(store_webhook_wake(f.s, misses[i].provider, misses[i].hash, misses[i].job, id, &e),
                     VG_ERR_NOT_FOUND, "miss %zu woke %s", i, id);
    char *after = row(&f, f.gen), *after_other = row(&f, f.other);
    cr_expect_str_eq(after, before, "a miss changed the row");
    cr_expect_str_eq(after_other, before_other);
    free(after), free(after_other);
    /* The right one: due now, and not one other column changes. */
    int64_t now = clock_now_ms();
    cr_assert_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_OK, "%s", e.message);
    cr_expect_str_eq(id, f.gen);
    cr_expect_leq(next_run_at(&f, f.gen), clock_now_ms());
    cr_expect_geq(next_run_at(&f, f.gen), now);
    after = row(&f, f.gen), after_other = row(&f, f.other);
    cr_expect_str_eq(after_other, before_other, "the other generation was touched");
    /* the same row but for next_run_at */
    cr_expect_str_eq(strchr(strstr(after, "next_run_at="), '|'), strchr(strstr(before, "next_run_at="), '|'));
    cr_expect_eq(strncmp(after, before, (size_t)(strstr(before, "next_run_at=") - before)), 0);
    free(before), free(after), free(before_other), free(after_other);
    teardown(&f);
}

Test(webhook_store, a_callback_while_a_worker_holds_the_job_makes_it_due_when_the_worker_lets_it_go)
{
    struct fixture f;
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    setup(&f);
    webhook_token_new(token, hash);
    submitted(&f, f.gen, "w:1", "111", hash);
    submitted(&f, f.other, "w:0", "000", NULL);
    /* Make it due, claim it to poll; the callback comes while the poll is out. */
    cr_assert_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_OK);
    claim(&f, f.gen, "w:3");
    int64_t held = next_run_at(&f, f.gen);
    cr_assert_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_OK);
    cr_expect_eq(next_run_at(&f, f.gen), held, "a held job's schedule is the holder's");
    /* The poll said "processing, look again in an hour": the callback wins, once. */
    update(&f, f.gen, "w:3",
           (struct job_update){.outcome = JOB_WAIT, .next_run_at = clock_now_ms() + 3600000, .progress = -1});
    cr_expect_leq(next_run_at(&f, f.gen), clock_now_ms(), "the callback during the poll was lost");
    claim(&f, f.gen, "w:4");
    update(&f, f.gen, "w:4",
           (struct job_update){.outcome = JOB_WAIT, .next_run_at = clock_now_ms() + 3600000, .progress = -1});
    cr_expect_gt(next_run_at(&f, f.gen), clock_now_ms() + 3000000, "one callback, one early poll");
    teardown(&f);
}

Test(webhook_store, a_callback_for_a_job_that_ended_changes_nothing)
{
    struct fixture f;
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], id[ID_LEN + 1];
    struct vg_error e;
    setup(&f);
    webhook_token_new(token, hash);
    submitted(&f, f.gen, "w:1", "111", hash);
    submitted(&f, f.other, "w:0", "000", NULL);
    cr_assert_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_OK);
    claim(&f, f.gen, "w:2");
    update(&f, f.gen, "w:2",
           (struct job_update){.outcome = JOB_COMPLETED, .output_path = "videos/x.mp4", .thumbnail_path = "t/x.jpg"});
    char *before = row(&f, f.gen);
    cr_expect_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_ERR_NOT_FOUND, "a replay woke it");
    char *after = row(&f, f.gen);
    cr_expect_str_eq(after, before);
    free(before), free(after);
    teardown(&f);
}

Test(webhook_store, a_token_is_known_only_for_its_provider_while_its_job_has_not_ended)
{
    struct fixture f;
    char token[WEBHOOK_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1], token2[WEBHOOK_TOKEN_LEN + 1],
        hash2[TOKEN_HASH_LEN + 1];
    struct vg_error e;
    setup(&f);
    webhook_token_new(token, hash);
    webhook_token_new(token2, hash2);
    submitted(&f, f.gen, "w:1", "111", hash);
    submitted(&f, f.other, "w:0", "000", NULL);
    cr_expect_eq(store_webhook_known(f.s, "modelslab", hash, &e), VG_OK, "%s", e.message);
    cr_expect_eq(store_webhook_known(f.s, "edenai", hash, &e), VG_ERR_NOT_FOUND, "another provider's");
    cr_expect_eq(store_webhook_known(f.s, "modelslab", hash2, &e), VG_ERR_NOT_FOUND, "a token never given");
    char id[ID_LEN + 1];
    cr_assert_eq(store_webhook_wake(f.s, "modelslab", hash, "111", id, &e), VG_OK); /* due now */
    claim(&f, f.gen, "w:2");
    update(&f, f.gen, "w:2",
           (struct job_update){.outcome = JOB_COMPLETED, .output_path = "videos/x.mp4", .thumbnail_path = "t/x.jpg"});
    cr_expect_eq(store_webhook_known(f.s, "modelslab", hash, &e), VG_ERR_NOT_FOUND, "the job has ended");
    teardown(&f);
}
