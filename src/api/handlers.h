/* Every API handler, by resource; routes.c maps paths to them. */
#ifndef VIDGEN_API_HANDLERS_H
#define VIDGEN_API_HANDLERS_H

#include "api/call.h"

int api_health(struct api_call *c);

int api_models_list(struct api_call *c);
/* Builds api->models_json from the catalog and the providers' availability. */
int api_models_build(struct api *api, char *err, size_t errlen);

int api_estimate(struct api_call *c);

int api_providers_list(struct api_call *c);

struct gen_request;
struct price;
/* Writes the estimate object (total, breakdown, idr, model and provider names, chosen
 * options) as JSON into buf, NUL-terminated when it fits; returns its length without the
 * NUL (call with cap 0 to size the buffer). */
size_t api_estimate_write(char *buf, size_t cap, const struct gen_request *r, const struct price *p);

int api_projects_list(struct api_call *c);
int api_projects_create(struct api_call *c);
int api_projects_get(struct api_call *c);
int api_projects_update(struct api_call *c);
int api_projects_delete(struct api_call *c);

int api_credits_balance(struct api_call *c);
int api_credits_ledger(struct api_call *c);

int api_generate(struct api_call *c);
int api_generations_list(struct api_call *c);
int api_generation_get(struct api_call *c);
int api_generation_status(struct api_call *c);
int api_generation_cancel(struct api_call *c);
int api_generation_retry(struct api_call *c);
int api_generation_delete(struct api_call *c);
/* POST /webhooks/:provider/:token: a provider's callback (api/webhooks.c). */
int api_webhook(struct api_call *c);

/* Removes a deleted generation's video and thumbnail from the data directory, and its images
 * when nothing else refers to them. */
void api_remove_files(const struct api *api, struct store *store, const struct generation *g);

#endif
