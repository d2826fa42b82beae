/* The preview renderer's picture: a deterministic animation chosen by hashing the prompt
 * (palette, shapes, sizes, speeds, directions), drawn straight into YUV 4:2:0 planes.
 * Pure computation: no allocation, no global state, safe from any number of threads. */
#ifndef VIDGEN_MEDIA_SCENE_H
#define VIDGEN_MEDIA_SCENE_H

#include <stdint.h>

#define MEDIA_SCENE_MAX_SHAPES 8

struct media_scene_shape {
    int kind;                /* circle, ring, square, diamond */
    int orbit;               /* 1: circles a centre; 0: bounces off the edges */
    uint8_t yuv[3];          /* colour, BT.709 limited range */
    double x0, y0;           /* start (bounce) or orbit centre, in frame fractions */
    double vx, vy;           /* bounce speed in frame fractions per second */
    double orbit_r, orbit_w; /* orbit radius (fraction of short side) and rad/s */
    double size;             /* radius as a fraction of the short side */
    double phase;            /* orbit start angle */
};

/* Everything needed to draw any frame; a plain value the caller owns (stack is fine). */
struct media_scene {
    int width, height;
    uint8_t top[3], bottom[3]; /* background gradient ends, Y U V */
    double band_k, band_phase; /* background bands per height, and where they start */
    int nshapes;
    struct media_scene_shape shapes[MEDIA_SCENE_MAX_SHAPES];
};

/* Fills *s for `prompt` (borrowed for the call; NULL is taken as "") and a frame of
 * width x height (both even). The same prompt always gives the same scene. */
void media_scene_init(struct media_scene *s, const char *prompt, int width, int height);

/* Draws the frame at time t seconds into the three planes of a YUV420P picture of the
 * scene's size (buffers and strides owned by the caller). `done` (0..1) sets the length of
 * the thin time bar along the bottom edge. */
void media_scene_draw(const struct media_scene *s, double t, double done, uint8_t *const planes[3],
                      const int linesize[3]);

#endif
