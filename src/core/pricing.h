/* Credit pricing (DESIGN §5): a pure function of a model and the chosen options.
 *
 * Every percentage is of the model's base credits (priced at its default duration and
 * 720p), and every component is rounded up to a whole credit on its own, so the breakdown
 * always adds up to the total a user is charged. */
#ifndef VIDGEN_CORE_PRICING_H
#define VIDGEN_CORE_PRICING_H

#include <stdbool.h>

#include "core/catalog.h"

#define PRICING_IDR_PER_CREDIT 50
#define PRICING_AUDIO_CREDITS 10
#define PRICING_ENHANCE_CREDITS 5

struct price_options {
    enum resolution resolution;
    int duration; /* seconds */
    bool start_image, end_image, audio, enhance_prompt;
};

struct price {
    long base, resolution, duration, images, audio, enhancement;
    long total; /* the sum of the components above */
};

/* Prices `o` for a model with `base_credits` and `default_duration`. Limits are not checked
 * here (gen_request_check does that); any duration prices, as the seed's examples do. */
void pricing_compute(long base_credits, int default_duration, const struct price_options *o, struct price *out);

#endif
