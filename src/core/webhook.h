/* Webhook tokens: the secret in a provider's callback URL.
 *
 * A submit that asks a provider to call back gives it the URL
 * VIDGEN_PUBLIC_URL + WEBHOOK_PATH + "/<provider>/<token>", where the token is 32 random
 * bytes in URL-safe base64 (43 characters), made afresh for that submit. The store keeps
 * only its hash (core/token.h's BLAKE2b, hex), so a leaked database leaks no callback URL;
 * POST /webhooks/:provider/:token finds the generation by that hash. The token is the
 * callback's only credential, and all it can do is make vidgen poll the provider at once:
 * a callback's content is never trusted (api/webhooks.c). */
#ifndef VIDGEN_CORE_WEBHOOK_H
#define VIDGEN_CORE_WEBHOOK_H

#include <stddef.h>

#include "core/token.h"

#define WEBHOOK_TOKEN_LEN 43 /* 32 bytes, base64url without padding */
/* API_PREFIX "/webhooks" (api/api.h, api/routes.c): the route that takes callbacks. */
#define WEBHOOK_PATH "/api/apps/video-generator/webhooks"

/* A fresh token and its stored form; `token` holds WEBHOOK_TOKEN_LEN + 1 bytes, `hash`
 * TOKEN_HASH_LEN + 1. */
void webhook_token_new(char token[WEBHOOK_TOKEN_LEN + 1], char hash[TOKEN_HASH_LEN + 1]);

/* The stored form of a token read from a URL: 0, or -1 (hash untouched) when `token` cannot
 * be one (not WEBHOOK_TOKEN_LEN characters of the base64url alphabet). */
int webhook_token_hash(const char *token, char hash[TOKEN_HASH_LEN + 1]);

/* Writes the callback URL of `provider` with `token` into buf: public_url (its trailing
 * slashes dropped) + WEBHOOK_PATH + "/" + provider + "/" + token. 0, or -1 when it does not
 * fit in `cap` or public_url is empty. */
int webhook_url(char *buf, size_t cap, const char *public_url, const char *provider, const char *token);

#endif
