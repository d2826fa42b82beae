#include "media/thumbnail.h"

#include "media/decoder.h"
#include "media/error.h"

#include <errno.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

/* Where the thumbnail is taken, in the stream's time base: 1 s in, which is past any fade
 * from black; 10 % in for clips under 2 s. */
static int64_t thumbnail_time(const struct media_decoder *d)
{
    const AVStream *st = d->st;
    double seconds = 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        seconds = (double)st->duration * av_q2d(st->time_base);
    else if (d->ic->duration != AV_NOPTS_VALUE && d->ic->duration > 0)
        seconds = (double)d->ic->duration / AV_TIME_BASE;
    double at = seconds > 0 && seconds < 2 ? seconds / 10 : 1.0;
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    return start + av_rescale_q(llround(at * 1000), (AVRational){1, 1000}, st->time_base);
}

/* The slow, sure way: decode from the first frame, keeping the latest, until one at or
 * after `at` (or the end of the clip). Returns 0 or -1. */
static int decode_from_start(struct media_decoder *d, const char *path, int64_t at, AVFrame *frame, char *err,
                             size_t errlen)
{
    media_decoder_close(d);
    if (media_decoder_open(d, path, 1, 0, err, errlen) < 0)
        return -1;
    AVFrame *next = av_frame_alloc();
    if (!next)
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a frame");
    int rc, have = 0;
    while ((rc = media_decoder_next(d, next, err, errlen)) == 0) {
        av_frame_unref(frame);
        av_frame_move_ref(frame, next);
        have = 1;
        if (frame->best_effort_timestamp == AV_NOPTS_VALUE || frame->best_effort_timestamp >= at)
            break;
    }
    av_frame_free(&next);
    if (rc < 0)
        return -1;
    return have ? 0 : media_error(err, errlen, 0, "no video frame in the file decodes");
}

/* Whether decoding on from `frame`, the last one decoded, reaches `at` as soon as a seek
 * would: the keyframe a seek would land on is not after it. */
static int decode_on(const struct media_decoder *d, const AVFrame *frame, int64_t at)
{
    int64_t ts = frame->buf[0] ? frame->best_effort_timestamp : AV_NOPTS_VALUE;
    if (ts == AV_NOPTS_VALUE)
        return 0;
    int i = av_index_search_timestamp(d->st, at, AVSEEK_FLAG_BACKWARD);
    const AVIndexEntry *k = i >= 0 ? avformat_index_get_entry(d->st, i) : NULL;
    return k != NULL && k->timestamp <= ts;
}

/* Decodes the frame to use into `frame`: the first at or after thumbnail_time(), or the
 * last one when the clip ends sooner. `frame` may hold the last frame `d` decoded (a
 * probe's), which is used or decoded on from when that is as quick as a seek. Returns 0 or
 * -1. */
static int grab_frame(struct media_decoder *d, const char *path, AVFrame *frame, char *err, size_t errlen)
{
    int64_t at = thumbnail_time(d);
    if (frame->buf[0] && frame->best_effort_timestamp != AV_NOPTS_VALUE && frame->best_effort_timestamp >= at)
        return 0;
    if (decode_on(d, frame, at)) {
        int rc;
        d->skip_before = at;
        av_frame_unref(frame);
        if ((rc = media_decoder_next(d, frame, err, errlen)) <= 0)
            return rc;
        return decode_from_start(d, path, at, frame, err, errlen); /* the clip ends before `at` */
    }
    av_frame_unref(frame);
    /* Fast way: jump to the keyframe before `at`, then decode up to it; frames before `at`
     * that nothing refers to are not even decoded. */
    if (media_decoder_seek(d, at, NULL, 0) == 0) {
        int rc = media_decoder_next(d, frame, err, errlen);
        int64_t ts = rc == 0 ? frame->best_effort_timestamp : AV_NOPTS_VALUE;
        if (rc < 0)
            return -1;
        if (rc == 0 && (ts == AV_NOPTS_VALUE || ts == at))
            return 0;
        if (rc == 0 && ts < at) {
            d->skip_before = at;
            av_frame_unref(frame);
            if ((rc = media_decoder_next(d, frame, err, errlen)) <= 0)
                return rc;
        }
    }
    /* An unseekable file, a seek that landed past `at` (MPEG-TS has no index to seek
     * by), or a clip that ends before `at`. */
    return decode_from_start(d, path, at, frame, err, errlen);
}

/* Thumbnail size: the display aspect ratio (pixel aspect included), at most max_width
 * wide and never enlarged, both sides even. */
static void thumbnail_size(const AVFrame *f, int max_width, int *w, int *h)
{
    double shown = f->width;
    if (f->sample_aspect_ratio.num > 0 && f->sample_aspect_ratio.den > 0)
        shown = f->width * av_q2d(f->sample_aspect_ratio);
    int tw = (int)(shown < max_width ? shown : max_width) & ~1;
    tw = tw < 2 ? 2 : tw;
    int th = (int)lround(tw * f->height / shown / 2) * 2;
    *w = tw;
    *h = th < 2 ? 2 : th;
}

/* Scales `src` into a new full-range YUV 4:2:0 frame (*out, freed by the caller). */
static int scale_frame(const AVFrame *src, int max_width, AVFrame **out, char *err, size_t errlen)
{
    AVFrame *dst = av_frame_alloc();
    struct SwsContext *sws = sws_alloc_context();
    int rc = AVERROR(ENOMEM);
    if (!dst || !sws)
        goto fail;
    thumbnail_size(src, max_width, &dst->width, &dst->height);
    dst->format = AV_PIX_FMT_YUV420P;
    dst->color_range = AVCOL_RANGE_JPEG; /* JPEG's own range: 0..255 */
    if ((rc = av_frame_get_buffer(dst, 0)) < 0)
        goto fail;

    int full = src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P ||
               src->format == AV_PIX_FMT_YUVJ422P || src->format == AV_PIX_FMT_YUVJ444P;
    av_opt_set_int(sws, "srcw", src->width, 0);
    av_opt_set_int(sws, "srch", src->height, 0);
    av_opt_set_int(sws, "src_format", src->format, 0);
    av_opt_set_int(sws, "src_range", full, 0);
    av_opt_set_int(sws, "dstw", dst->width, 0);
    av_opt_set_int(sws, "dsth", dst->height, 0);
    av_opt_set_int(sws, "dst_format", dst->format, 0);
    av_opt_set_int(sws, "dst_range", 1, 0);
    av_opt_set_int(sws, "sws_flags", SWS_BICUBIC, 0);
    if ((rc = sws_init_context(sws, NULL, NULL)) < 0 || (rc = sws_scale_frame(sws, dst, src)) < 0)
        goto fail;
    sws_freeContext(sws);
    *out = dst;
    return 0;
fail:
    sws_freeContext(sws);
    av_frame_free(&dst);
    return media_error(err, errlen, rc, "cannot scale the frame");
}

/* Encodes `pic` as a baseline JPEG into pkt (owned by the caller). */
static int encode_jpeg(const AVFrame *pic, AVPacket *pkt, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        return media_error(err, errlen, 0, "this FFmpeg build has no JPEG encoder");
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c)
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate the JPEG encoder");
    c->width = pic->width;
    c->height = pic->height;
    c->pix_fmt = pic->format;
    c->color_range = AVCOL_RANGE_JPEG;
    c->time_base = (AVRational){1, 25};
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * 3; /* q 3 on FFmpeg's 2..31 scale: sharp, still small */
    int rc = avcodec_open2(c, codec, NULL);
    if (rc >= 0)
        rc = avcodec_send_frame(c, pic);
    if (rc >= 0)
        rc = avcodec_receive_packet(c, pkt);
    avcodec_free_context(&c);
    return rc < 0 ? media_error(err, errlen, rc, "cannot encode the JPEG") : 0;
}

static int write_file(const char *path, const void *data, size_t size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return media_error(err, errlen, AVERROR(errno), "cannot create %s", path);
    int ok = fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        unlink(path);
        return media_error(err, errlen, 0, "cannot write %s", path);
    }
    return 0;
}

int media_thumbnail_decoder(struct media_decoder *d, const char *video_path, AVFrame *frame, const char *jpeg_path,
                            int max_width, char *err, size_t errlen)
{
    AVFrame *small = NULL;
    AVPacket *jpeg = NULL;
    int ret = -1;
    if (!jpeg_path || max_width < 2) {
        media_error(err, errlen, 0, "no JPEG path or a maximum width under 2");
        goto out;
    }
    if (!(jpeg = av_packet_alloc())) {
        media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a packet");
        goto out;
    }
    if (grab_frame(d, video_path, frame, err, errlen) < 0 || scale_frame(frame, max_width, &small, err, errlen) < 0 ||
        encode_jpeg(small, jpeg, err, errlen) < 0 ||
        write_file(jpeg_path, jpeg->data, (size_t)jpeg->size, err, errlen) < 0)
        goto out;
    ret = 0;
out:
    av_packet_free(&jpeg);
    av_frame_free(&small);
    return ret;
}

int media_thumbnail(const char *video_path, const char *jpeg_path, int max_width, char *err, size_t errlen)
{
    struct media_decoder d;
    AVFrame *frame = NULL;
    int ret = -1;

    if (media_decoder_open(&d, video_path, 1, 0, err, errlen) < 0)
        goto out;
    if (!(frame = av_frame_alloc())) {
        media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a frame");
        goto out;
    }
    ret = media_thumbnail_decoder(&d, video_path, frame, jpeg_path, max_width, err, errlen);
out:
    av_frame_free(&frame);
    media_decoder_close(&d);
    return ret;
}
