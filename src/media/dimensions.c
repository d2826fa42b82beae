#include "media/dimensions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Short side in pixels for a resolution name, or 0 when unknown. */
static int short_side(const char *resolution)
{
    static const struct {
        const char *name;
        int px;
    } table[] = {
        {"720p", 720},
        {"1080p", 1080},
        {"4K", 2160},
        {"2160p", 2160},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(resolution, table[i].name) == 0)
            return table[i].px;
    return 0;
}

/* Parses a whole number 1..1000 made only of digits; *end gets the first byte after it. */
static int ratio_term(const char *s, const char **end)
{
    int v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9' && p - s < 5)
        v = v * 10 + (*p++ - '0');
    *end = p;
    return (p == s || v < 1 || v > 1000) ? 0 : v;
}

int media_dimensions(const char *resolution, const char *aspect, int *width, int *height)
{
    if (!resolution || !aspect)
        return -1;
    int base = short_side(resolution);
    const char *p;
    int w = ratio_term(aspect, &p);
    if (!base || !w || *p != ':')
        return -1;
    int h = ratio_term(p + 1, &p);
    if (!h || *p != '\0')
        return -1;
    /* Refuse strips thinner than 4:1: nobody asks for them and they make huge frames. */
    if (w > 4 * h || h > 4 * w)
        return -1;

    /* long = round(base * long/short), then to the nearest even number. */
    int lo = w < h ? w : h, hi = w < h ? h : w;
    int long_side = (int)(((long)base * hi + lo) / (2L * lo) * 2);
    *width = w >= h ? long_side : base;
    *height = w >= h ? base : long_side;
    return 0;
}
