#include "media/render.h"

#include "media/error.h"
#include "media/scene.h"
#include "media/slides.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Everything one render holds; released together by render_close(). */
struct render {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    int created;         /* out_path is ours to remove on failure */
    long total, written; /* frames asked for, packets muxed */
    int percent;         /* last percent reported, -1 before the first */
    render_progress_fn progress;
    void *arg;
};

/* Reports `percent` if it moved on; returns non-zero when the caller wants to cancel. */
static int report(struct render *r, int percent)
{
    if (!r->progress || percent <= r->percent)
        return 0;
    r->percent = percent;
    return r->progress(r->arg, percent);
}

static int open_encoder(struct render *r, const struct render_params *p, int fps, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return media_error(err, errlen, 0, "this FFmpeg build has no libx264 encoder");
    if (!(r->enc = avcodec_alloc_context3(codec)))
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate the encoder");
    AVCodecContext *c = r->enc;
    c->width = p->width;
    c->height = p->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, fps};
    c->framerate = (AVRational){fps, 1};
    c->gop_size = 2 * fps; /* a keyframe every 2 s keeps browser seeks short */
    c->thread_count = 0;   /* x264 picks its frame threads from the core count */
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    if (r->oc->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(c->priv_data, "preset", "veryfast", 0);
    /* x264's AVX-512 code reads bytes of its buffers it never wrote, and they change the
     * stream: one prompt rendered twice in one process gave two different files whenever
     * malloc handed x264 reused memory (tests/unit/test_media.c fills new memory to show it).
     * Capped at AVX2 the output is exact and, measured at 720p, no slower. */
    if (__builtin_cpu_supports("avx512f"))
        av_opt_set(c->priv_data, "x264-params", "asm=AVX2", 0);

    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot open the H.264 encoder at %dx%d", p->width, p->height);
    if (!(r->st = avformat_new_stream(r->oc, NULL)))
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot add the video stream");
    r->st->time_base = c->time_base;
    rc = avcodec_parameters_from_context(r->st->codecpar, c);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot set the stream parameters");

    r->frame = av_frame_alloc();
    r->pkt = av_packet_alloc();
    if (!r->frame || !r->pkt)
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a frame");
    r->frame->format = c->pix_fmt;
    r->frame->width = c->width;
    r->frame->height = c->height;
    rc = av_frame_get_buffer(r->frame, 0);
    return rc < 0 ? media_error(err, errlen, rc, "cannot allocate a frame") : 0;
}

static int open_output(struct render *r, const struct render_params *p, int fps, const char *out_path, char *err,
                       size_t errlen)
{
    int rc = avformat_alloc_output_context2(&r->oc, NULL, "mp4", out_path);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot set up the MP4 muxer");
    if (open_encoder(r, p, fps, err, errlen) < 0)
        return -1;
    rc = avio_open(&r->oc->pb, out_path, AVIO_FLAG_WRITE);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot create %s", out_path);
    r->created = 1;

    /* +faststart moves the index in front of the data once the file is complete, so a
     * browser can start playing and seeking before it has downloaded everything. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "movflags", "+faststart", 0);
    rc = avformat_write_header(r->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot write the MP4 header");
    return 0;
}

/* Sends `frame` (NULL to flush) and muxes every packet the encoder has ready.
 * Returns 0, 1 when cancelled, or -1 on error. */
static int encode(struct render *r, AVFrame *frame, char *err, size_t errlen)
{
    int rc = avcodec_send_frame(r->enc, frame);
    if (rc < 0)
        return media_error(err, errlen, rc, "the H.264 encoder refused a frame");
    for (;;) {
        rc = avcodec_receive_packet(r->enc, r->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return media_error(err, errlen, rc, "H.264 encoding failed");
        if (r->pkt->duration <= 0)
            r->pkt->duration = 1; /* one frame, so the clip lasts exactly seconds*fps frames */
        av_packet_rescale_ts(r->pkt, r->enc->time_base, r->st->time_base);
        r->pkt->stream_index = r->st->index;
        rc = av_interleaved_write_frame(r->oc, r->pkt); /* takes the packet's data */
        if (rc < 0)
            return media_error(err, errlen, rc, "cannot write to the MP4 file");
        r->written++;
        /* 100 is kept for "the file is complete", after the trailer. */
        if (report(r, (int)(r->written * 99 / r->total)))
            return 1;
    }
}

#define IMAGE_FILE_MAX (32u << 20)

/* Reads an image file whole into *out (the caller's, free()). */
static int read_image(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (f == NULL)
        return media_error(err, errlen, 0, "cannot open the image %s", path);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size <= 0 || (size_t)size > IMAGE_FILE_MAX || fseek(f, 0, SEEK_SET) != 0 ||
        (*out = malloc((size_t)size)) == NULL || fread(*out, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(*out);
        *out = NULL;
        return media_error(err, errlen, 0, "cannot read the image %s", path);
    }
    fclose(f);
    *len = (size_t)size;
    return 0;
}

/* The user's images, ready to draw; NULL in *out when the picture is the prompt's scene. */
static int open_slides(const struct render_params *p, struct media_slides **out, char *err, size_t errlen)
{
    uint8_t *start = NULL, *end = NULL;
    size_t start_len = 0, end_len = 0;
    *out = NULL;
    if (p->start_image == NULL)
        return 0;
    if (read_image(p->start_image, &start, &start_len, err, errlen) == 0 &&
        (p->end_image == NULL || read_image(p->end_image, &end, &end_len, err, errlen) == 0))
        *out = media_slides_new(start, start_len, end, end_len, p->width, p->height, err, errlen);
    free(start);
    free(end);
    return *out != NULL ? 0 : -1;
}

/* Draws frame i of the clip: the images when there are, else the prompt's scene. */
static int draw(struct render *r, struct media_slides *slides, const struct media_scene *scene, long i, int fps,
                char *err, size_t errlen)
{
    if (slides != NULL)
        return media_slides_draw(slides, r->total > 1 ? (double)i / (r->total - 1) : 0, r->frame->data,
                                 r->frame->linesize, err, errlen);
    media_scene_draw(scene, (double)i / fps, (double)(i + 1) / r->total, r->frame->data, r->frame->linesize);
    return 0;
}

/* Draws and encodes every frame, then flushes. Returns 0, 1 when cancelled, or -1. */
static int encode_all(struct render *r, const struct render_params *p, int fps, char *err, size_t errlen)
{
    struct media_scene scene;
    struct media_slides *slides;
    media_scene_init(&scene, p->prompt, p->width, p->height);
    int rc = open_slides(p, &slides, err, errlen);
    for (long i = 0; rc == 0 && i < r->total; i++) {
        /* The encoder may still hold the previous picture; get a buffer we may write. */
        if ((rc = av_frame_make_writable(r->frame)) < 0) {
            rc = media_error(err, errlen, rc, "cannot allocate a frame");
            break;
        }
        if ((rc = draw(r, slides, &scene, i, fps, err, errlen)) != 0)
            break;
        r->frame->pts = i;
        rc = encode(r, r->frame, err, errlen);
    }
    media_slides_free(slides);
    return rc != 0 ? rc : encode(r, NULL, err, errlen);
}

static void render_close(struct render *r)
{
    if (r->oc && r->oc->pb)
        avio_closep(&r->oc->pb);
    avformat_free_context(r->oc);
    avcodec_free_context(&r->enc);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
}

static int check_params(const struct render_params *p, const char *out_path, char *err, size_t errlen)
{
    if (!p || !out_path || !*out_path)
        return media_error(err, errlen, 0, "no render parameters or output path");
    if (p->width < 16 || p->height < 16 || p->width > 7680 || p->height > 7680 || (p->width | p->height) & 1)
        return media_error(err, errlen, 0, "frame size %dx%d is not even and within 16..7680", p->width, p->height);
    if (p->seconds < 1 || p->seconds > 600)
        return media_error(err, errlen, 0, "duration %d s is outside 1..600", p->seconds);
    if (p->fps < 0 || p->fps > 120)
        return media_error(err, errlen, 0, "frame rate %d is outside 1..120", p->fps);
    return 0;
}

int media_render(const struct render_params *p, const char *out_path, render_progress_fn progress, void *arg, char *err,
                 size_t errlen)
{
    if (check_params(p, out_path, err, errlen) < 0)
        return -1;
    int fps = p->fps ? p->fps : 24;
    struct render r = {.total = (long)p->seconds * fps, .percent = -1, .progress = progress, .arg = arg};
    int rc = open_output(&r, p, fps, out_path, err, errlen);
    if (rc == 0)
        rc = report(&r, 0);
    if (rc == 0)
        rc = encode_all(&r, p, fps, err, errlen);
    if (rc == 0) {
        /* Writes the index and, for +faststart, rewrites the file with it in front. */
        int av = av_write_trailer(r.oc);
        rc = av < 0 ? media_error(err, errlen, av, "cannot finish the MP4 file") : 0;
    }
    if (rc == 0)
        rc = report(&r, 100);
    render_close(&r);
    if (rc != 0 && r.created)
        unlink(out_path);
    return rc;
}

#define RENDER_MEMORY_FIXED (16u << 20) /* encoder and muxer state, whatever the size */
#define RENDER_BYTES_PER_PIXEL 40       /* the frames x264 buffers whatever its threads */
#define RENDER_BYTES_PER_PIXEL_CORE 30  /* and those each core's threads add */

size_t media_render_memory(int width, int height, int cores)
{
    size_t pixels = (size_t)(width > 0 ? width : 0) * (size_t)(height > 0 ? height : 0);
    size_t per_pixel = RENDER_BYTES_PER_PIXEL + RENDER_BYTES_PER_PIXEL_CORE * (size_t)(cores > 0 ? cores : 1);
    return RENDER_MEMORY_FIXED + pixels * per_pixel;
}
