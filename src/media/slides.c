#include "media/slides.h"

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

#include "media/error.h"
#include "media/image.h"

/* How far a picture moves in over the clip: the last frame of a start image shows 1/ZOOM of
 * it (and the first frame of an end image as much). */
#define ZOOM 1.15
/* Closer to the frame's shape than this (either way), an image is cropped to fill it. */
#define FILL_RATIO 1.25

struct media_slides {
    int width, height; /* the frame */
    int bw, bh;        /* each image fitted to the frame times ZOOM */
    AVFrame *start, *end;
    AVFrame *blend; /* the start image's frame while cross-fading, then the end's */
    struct SwsContext *sws;
};

static int even(double v)
{
    return (int)v & ~1;
}

static AVFrame *fitted(const uint8_t *bytes, size_t len, int bw, int bh, int width, int height, char *err,
                       size_t errlen)
{
    struct image_info info;
    if (image_check(bytes, len, &info, err, errlen) != IMAGE_OK)
        return NULL;
    double ratio = ((double)info.width / info.height) / ((double)width / height);
    enum image_fit fit = ratio < FILL_RATIO && ratio > 1 / FILL_RATIO ? IMAGE_FIT_COVER : IMAGE_FIT_CONTAIN;
    return image_decode(bytes, len, bw, bh, fit, AV_PIX_FMT_YUV420P, err, errlen);
}

struct media_slides *media_slides_new(const uint8_t *start, size_t start_len, const uint8_t *end, size_t end_len,
                                      int width, int height, char *err, size_t errlen)
{
    struct media_slides *s = calloc(1, sizeof *s);
    if (s == NULL) {
        media_error(err, errlen, 0, "out of memory");
        return NULL;
    }
    *s = (struct media_slides){.width = width, .height = height, .bw = even(width * ZOOM), .bh = even(height * ZOOM)};
    s->start = fitted(start, start_len, s->bw, s->bh, width, height, err, errlen);
    if (s->start != NULL && end != NULL)
        s->end = fitted(end, end_len, s->bw, s->bh, width, height, err, errlen);
    if (s->start == NULL || (end != NULL && s->end == NULL)) {
        media_slides_free(s);
        return NULL;
    }
    return s;
}

/* Scales the window of `img` that shows it at zoom `z` (1: all of it, ZOOM: the frame's size
 * of it), drifting a little right and up as it closes in, into the frame's planes. */
static int draw_zoomed(struct media_slides *s, const AVFrame *img, double z, uint8_t *const planes[3],
                       const int linesize[3], char *err, size_t errlen)
{
    int ww = even(s->bw / z), wh = even(s->bh / z);
    int x0 = even((s->bw - ww) * 0.6), y0 = even((s->bh - wh) * 0.4);
    s->sws = sws_getCachedContext(s->sws, ww, wh, AV_PIX_FMT_YUV420P, s->width, s->height, AV_PIX_FMT_YUV420P,
                                  SWS_BICUBIC, NULL, NULL, NULL);
    if (s->sws == NULL)
        return media_error(err, errlen, 0, "cannot scale the image");
    const uint8_t *src[3] = {img->data[0] + (size_t)y0 * img->linesize[0] + x0,
                             img->data[1] + (size_t)(y0 / 2) * img->linesize[1] + x0 / 2,
                             img->data[2] + (size_t)(y0 / 2) * img->linesize[2] + x0 / 2};
    sws_scale(s->sws, src, img->linesize, 0, wh, planes, linesize);
    return 0;
}

/* planes = planes * (1 - k) + other * k, k in 0..256. */
static void mix(uint8_t *const planes[3], const int linesize[3], const AVFrame *other, int k, int width, int height)
{
    for (int p = 0; p < 3; p++) {
        int w = p ? width / 2 : width, h = p ? height / 2 : height;
        for (int y = 0; y < h; y++) {
            uint8_t *d = planes[p] + (size_t)y * linesize[p];
            const uint8_t *o = other->data[p] + (size_t)y * other->linesize[p];
            for (int x = 0; x < w; x++)
                d[x] = (uint8_t)((d[x] * (256 - k) + o[x] * k + 128) >> 8);
        }
    }
}

int media_slides_draw(struct media_slides *s, double progress, uint8_t *const planes[3], const int linesize[3],
                      char *err, size_t errlen)
{
    double p = progress < 0 ? 0 : progress > 1 ? 1 : progress;
    if (draw_zoomed(s, s->start, 1 + (ZOOM - 1) * p, planes, linesize, err, errlen) != 0)
        return -1;
    if (s->end == NULL)
        return 0;
    if (s->blend == NULL) {
        s->blend = av_frame_alloc();
        if (s->blend == NULL)
            return media_error(err, errlen, 0, "out of memory");
        s->blend->format = AV_PIX_FMT_YUV420P;
        s->blend->width = s->width;
        s->blend->height = s->height;
        if (av_frame_get_buffer(s->blend, 0) < 0)
            return media_error(err, errlen, 0, "out of memory");
    }
    if (draw_zoomed(s, s->end, ZOOM - (ZOOM - 1) * p, s->blend->data, s->blend->linesize, err, errlen) != 0)
        return -1;
    mix(planes, linesize, s->blend, (int)(p * 256 + 0.5), s->width, s->height);
    return 0;
}

void media_slides_free(struct media_slides *s)
{
    if (s == NULL)
        return;
    av_frame_free(&s->start);
    av_frame_free(&s->end);
    av_frame_free(&s->blend);
    sws_freeContext(s->sws);
    free(s);
}
