/* libFuzzer target: any bytes as an uploaded image (media/image.c): the type sniffing, the
 * hand-written header walkers for JPEG, PNG and WebP, the EXIF parser, then FFmpeg's
 * decoders. Nothing may crash or read outside the input; an accepted image is within the
 * bounds and decodes to a frame of the size asked for, in both fits. The input is also
 * given to the EXIF parser directly, as a TIFF block. */
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>
#include <stdint.h>
#include <string.h>

#include "media/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int o = image_exif_orientation(data, size);
    if (o < 1 || o > 8)
        __builtin_trap();

    char msg[200] = "";
    struct image_info info;
    enum image_verdict v = image_check(data, size, &info, msg, sizeof msg);
    if (v != IMAGE_OK) {
        if (v != IMAGE_UNSUPPORTED && v != IMAGE_INVALID)
            __builtin_trap();
        if (!msg[0] || !memchr(msg, '\0', sizeof msg))
            __builtin_trap(); /* every refusal says why */
        return 0;
    }
    if (info.width < IMAGE_MIN_SIDE || info.height < IMAGE_MIN_SIDE || info.width > IMAGE_MAX_SIDE ||
        info.height > IMAGE_MAX_SIDE || (uint64_t)info.width * (uint64_t)info.height > IMAGE_MAX_PIXELS ||
        info.orientation < 1 || info.orientation > 8 || !info.mime || !info.ext)
        __builtin_trap();

    static const struct {
        int w, h, fit, fmt;
    } outs[] = {{48, 32, IMAGE_FIT_CONTAIN, AV_PIX_FMT_YUV420P}, {31, 47, IMAGE_FIT_COVER, AV_PIX_FMT_RGB24}};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        AVFrame *f = image_decode(data, size, outs[i].w, outs[i].h, outs[i].fit, outs[i].fmt, msg, sizeof msg);
        if (!f || f->width != outs[i].w || f->height != outs[i].h || f->format != outs[i].fmt)
            __builtin_trap();
        av_frame_free(&f);
    }
    return 0;
}
