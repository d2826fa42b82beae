#include "core/pricing.h"

/* ceil(base * num / den) for non-negative operands. */
static long pct_up(long base, long num, long den)
{
    return (base * num + den - 1) / den;
}

void pricing_compute(long base, int default_duration, const struct price_options *o, struct price *out)
{
    static const long resolution_pct[RES_COUNT] = {[RES_720P] = 0, [RES_1080P] = 30, [RES_4K] = 100};

    out->base = base;
    out->resolution = pct_up(base, (unsigned)o->resolution < RES_COUNT ? resolution_pct[o->resolution] : 0, 100);

    /* +50 % of base per 5 s above the default, pro rata: base × 0.5 × extra / 5 = base × extra / 10. */
    long extra = o->duration > default_duration ? o->duration - default_duration : 0;
    out->duration = pct_up(base, extra, 10);

    long image_pct = o->start_image && o->end_image ? 40 : o->end_image ? 30 : o->start_image ? 20 : 0;
    out->images = pct_up(base, image_pct, 100);

    out->audio = o->audio ? PRICING_AUDIO_CREDITS : 0;
    out->enhancement = o->enhance_prompt ? PRICING_ENHANCE_CREDITS : 0;
    out->total = out->base + out->resolution + out->duration + out->images + out->audio + out->enhancement;
}
