/* A generation request (the body of POST /estimate-credits and POST /generate) read from
 * JSON and checked against the chosen model's limits. The estimate and generate share this
 * one code path, so a price shown is a price that generate accepts. */
#ifndef VIDGEN_CORE_GEN_REQUEST_H
#define VIDGEN_CORE_GEN_REQUEST_H

#include <jansson.h>
#include <stdbool.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/pricing.h"

enum gen_request_mode {
    GEN_REQUEST_ESTIMATE, /* prompt and projectId optional */
    GEN_REQUEST_GENERATE, /* prompt and projectId required */
};

struct gen_request {
    const struct catalog_model *model; /* borrowed from the catalog */
    const char *project_id;            /* strings below: borrowed from the JSON body, NULL when absent */
    const char *prompt;
    const char *negative_prompt;
    /* startImagePath / startImageId as given (at most one of each pair); resolving them to the
     * user's uploads is the caller's job. start_field names the one given, for messages. */
    const char *start_image, *start_image_id;
    const char *end_image, *end_image_id;
    const char *start_field, *end_field;
    const char *aspect_ratio; /* the model's default when absent */
    enum resolution resolution;
    int duration;
    bool audio, enhance_prompt;
};

/* Reads `body` (a JSON object) into `out` and checks it against `catalog`.
 * Errors: 404 for an unknown modelId, 422 naming the field for a wrong type, a missing
 * required field or a value outside the model's limits. `out` borrows from `body`. */
enum vg_err gen_request_parse(const struct catalog *catalog, json_t *body, enum gen_request_mode mode,
                              struct gen_request *out, struct vg_error *err);

/* The price of a checked request. */
void gen_request_price(const struct gen_request *r, struct price *out);

#endif
