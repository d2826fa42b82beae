#include "media/scene.h"

#include <math.h>
#include <string.h>

enum { SHAPE_CIRCLE, SHAPE_RING, SHAPE_SQUARE, SHAPE_DIAMOND, SHAPE_KINDS };

static const double TAU = 6.283185307179586;

/* FNV-1a, 64 bit: a tiny, well-spread hash so every prompt picks its own look. */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

/* splitmix64: a generator whose whole state is one local integer (thread-safe). */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static double uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* HSV (hue in degrees, s and v in 0..1) to Y'CbCr, BT.709 limited range. */
static void hsv_to_yuv(double hue, double s, double v, uint8_t out[3])
{
    hue = fmod(fmod(hue, 360.0) + 360.0, 360.0) / 60.0;
    double c = v * s, x = c * (1 - fabs(fmod(hue, 2.0) - 1)), m = v - c;
    double rgb[6][3] = {{c, x, 0}, {x, c, 0}, {0, c, x}, {0, x, c}, {x, 0, c}, {c, 0, x}};
    const double *p = rgb[(int)hue % 6];
    double r = p[0] + m, g = p[1] + m, b = p[2] + m;
    double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    out[0] = (uint8_t)lround(16 + 219 * y);
    out[1] = (uint8_t)lround(128 + 224 * (b - y) / 1.8556);
    out[2] = (uint8_t)lround(128 + 224 * (r - y) / 1.5748);
}

static void shape_init(struct media_scene_shape *sh, uint64_t *rng, double hue)
{
    sh->kind = (int)(next_u64(rng) % SHAPE_KINDS);
    sh->orbit = next_u64(rng) % 3 == 0;
    hsv_to_yuv(hue, uniform(rng, 0.55, 0.95), uniform(rng, 0.75, 1.0), sh->yuv);
    sh->x0 = uniform(rng, 0.2, 0.8);
    sh->y0 = uniform(rng, 0.2, 0.8);
    double speed = uniform(rng, 0.12, 0.4), dir = uniform(rng, 0, TAU);
    sh->vx = speed * cos(dir);
    sh->vy = speed * sin(dir);
    sh->orbit_r = uniform(rng, 0.12, 0.3);
    sh->orbit_w = uniform(rng, 0.6, 2.0) * (next_u64(rng) & 1 ? 1 : -1);
    sh->size = uniform(rng, 0.05, 0.15);
    sh->phase = uniform(rng, 0, TAU);
}

void media_scene_init(struct media_scene *s, const char *prompt, int width, int height)
{
    uint64_t rng = fnv1a64(prompt ? prompt : "");
    memset(s, 0, sizeof *s);
    s->width = width;
    s->height = height;

    /* Palette: a base hue and a harmony (analogous, complementary or triadic) for shapes. */
    double hue = uniform(&rng, 0, 360);
    static const double harmony[3] = {35, 180, 120};
    double step = harmony[next_u64(&rng) % 3];
    hsv_to_yuv(hue, uniform(&rng, 0.5, 0.9), uniform(&rng, 0.12, 0.3), s->top);
    hsv_to_yuv(hue + uniform(&rng, 20, 60), uniform(&rng, 0.5, 0.9), uniform(&rng, 0.4, 0.7), s->bottom);
    s->band_k = uniform(&rng, 0.4, 1.5);
    s->band_phase = uniform(&rng, 0, TAU);

    s->nshapes = 4 + (int)(next_u64(&rng) % (MEDIA_SCENE_MAX_SHAPES - 3));
    for (int i = 0; i < s->nshapes; i++)
        shape_init(&s->shapes[i], &rng, hue + step * (i % 3) + uniform(&rng, -15, 15));
}

/* Position that moves at constant speed and bounces between lo and hi (a triangle wave). */
static double bounce(double start, double speed, double t, double lo, double hi)
{
    double span = hi - lo;
    if (span <= 0)
        return (lo + hi) / 2;
    double p = fmod((start - lo) + speed * t, 2 * span);
    if (p < 0)
        p += 2 * span;
    return lo + (p <= span ? p : 2 * span - p);
}

/* The background: soft colour bands, one memset per row. It holds still on purpose:
 * measured with x264 veryfast, scrolling it costs about 12 % more encoding time. */
static void draw_background(const struct media_scene *s, uint8_t *const planes[3], const int linesize[3])
{
    for (int p = 0; p < 3; p++) {
        int sub = p ? 1 : 0, w = s->width >> sub, h = s->height >> sub;
        for (int y = 0; y < h; y++) {
            double mix = 0.5 + 0.5 * sin(TAU * s->band_k * y / h + s->band_phase);
            int v = (int)lround(s->top[p] + (s->bottom[p] - s->top[p]) * mix);
            memset(planes[p] + (size_t)y * linesize[p], v, (size_t)w);
        }
    }
}

/* Half-widths of a shape's row `dy` from its centre: [-outer, outer] is covered except
 * (-inner, inner). Returns 0 when the row misses the shape. */
static int shape_span(int kind, double r, double dy, double *outer, double *inner)
{
    double ady = fabs(dy);
    *inner = -1;
    if (ady > r)
        return 0;
    switch (kind) {
    case SHAPE_SQUARE: *outer = r * 0.85; return ady <= r * 0.85;
    case SHAPE_DIAMOND: *outer = r - ady; return 1;
    case SHAPE_RING:
        *outer = sqrt(r * r - dy * dy);
        if (ady < r * 0.6)
            *inner = sqrt(r * r * 0.36 - dy * dy);
        return 1;
    default: *outer = sqrt(r * r - dy * dy); return 1;
    }
}

static void fill(uint8_t *row, int w, double from, double to, uint8_t v)
{
    int a = (int)lround(from), b = (int)lround(to);
    a = a < 0 ? 0 : a;
    b = b > w ? w : b;
    if (b > a)
        memset(row + a, v, (size_t)(b - a));
}

/* Draws one shape centred at (cx, cy) with radius r, in luma pixels, on all three planes. */
static void draw_shape(const struct media_scene *s, const struct media_scene_shape *sh, double cx, double cy, double r,
                       uint8_t *const planes[3], const int linesize[3])
{
    for (int p = 0; p < 3; p++) {
        int sub = p ? 1 : 0, w = s->width >> sub, h = s->height >> sub;
        double pcx = cx / (1 << sub), pcy = cy / (1 << sub), pr = r / (1 << sub);
        int y0 = (int)floor(pcy - pr), y1 = (int)ceil(pcy + pr);
        y0 = y0 < 0 ? 0 : y0;
        y1 = y1 > h ? h : y1;
        for (int y = y0; y < y1; y++) {
            double outer, inner;
            if (!shape_span(sh->kind, pr, y + 0.5 - pcy, &outer, &inner))
                continue;
            uint8_t *row = planes[p] + (size_t)y * linesize[p];
            if (inner < 0) {
                fill(row, w, pcx - outer, pcx + outer, sh->yuv[p]);
            } else {
                fill(row, w, pcx - outer, pcx - inner, sh->yuv[p]);
                fill(row, w, pcx + inner, pcx + outer, sh->yuv[p]);
            }
        }
    }
}

void media_scene_draw(const struct media_scene *s, double t, double done, uint8_t *const planes[3],
                      const int linesize[3])
{
    draw_background(s, planes, linesize);

    /* Shapes keep their size and move by whole, even pixels, so each is an exact copy of
     * itself one frame earlier (chroma included) and the motion search predicts it fully;
     * measured, sub-pixel placement and pulsing sizes cost x264 about 5 % more time. */
    double w = s->width, h = s->height, unit = w < h ? w : h;
    for (int i = 0; i < s->nshapes; i++) {
        const struct media_scene_shape *sh = &s->shapes[i];
        double r = floor(unit * sh->size), cx, cy;
        if (sh->orbit) {
            double a = sh->orbit_w * t + sh->phase;
            cx = sh->x0 * w + unit * sh->orbit_r * cos(a);
            cy = sh->y0 * h + unit * sh->orbit_r * sin(a);
        } else {
            cx = bounce(sh->x0 * w, sh->vx * w, t, r, w - r);
            cy = bounce(sh->y0 * h, sh->vy * h, t, r, h - r);
        }
        draw_shape(s, sh, 2 * floor(cx / 2), 2 * floor(cy / 2), r, planes, linesize);
    }

    /* Time bar: shows at a glance how far into the clip a frame is. */
    int bar = s->height / 90 < 2 ? 2 : (s->height / 90 + 1) & ~1;
    done = done < 0 ? 0 : done > 1 ? 1 : done;
    for (int p = 0; p < 3; p++) {
        int sub = p ? 1 : 0, bw = (int)lround((s->width >> sub) * done);
        for (int y = (s->height - bar) >> sub; y < s->height >> sub; y++)
            memset(planes[p] + (size_t)y * linesize[p], p ? 128 : 235, (size_t)bw);
    }
}
