/* libFuzzer target: any bytes as the body of POST /estimate-credits or /generate. The
 * parser must never crash, and whatever it accepts must price to a total that is the sum
 * of its components and within the model's limits. */
#include <stdint.h>
#include <stdlib.h>

#include "core/gen_request.h"

static struct catalog catalog;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (catalog.n == 0 && catalog_load(NULL, &catalog, err, sizeof err) != 0)
        abort();
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (body == NULL)
        return 0;
    for (int mode = GEN_REQUEST_ESTIMATE; mode <= GEN_REQUEST_GENERATE; mode++) {
        struct gen_request r;
        struct vg_error e;
        if (gen_request_parse(&catalog, body, mode, &r, &e) != VG_OK)
            continue;
        struct price p;
        gen_request_price(&r, &p);
        if (p.total != p.base + p.resolution + p.duration + p.images + p.audio + p.enhancement ||
            p.total < r.model->base_credits || !catalog_allows_duration(r.model, r.duration))
            abort();
    }
    json_decref(body);
    return 0;
}
