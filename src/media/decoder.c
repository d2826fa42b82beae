#include "media/decoder.h"

#include "media/error.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Demuxers we open: the containers video services deliver, plus single images and plain
 * audio so that media_probe() can say precisely what it refuses. */
#define SAFE_FORMATS                                                                                                   \
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,ogg,gif,image2,jpeg_pipe,png_pipe,"                          \
    "webp_pipe,wav,mp3,aac,flac"

/* The best video stream that is a moving picture (not an MP3's cover art), or -1. */
static int pick_stream(AVFormatContext *ic)
{
    int best = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (best >= 0 && !(ic->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return best;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVStream *st = ic->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return -1;
}

static int open_container(struct media_decoder *d, const char *path, int flags, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return media_error(err, errlen, AVERROR(errno), "cannot open the file");
    if (sb.st_size == 0)
        return media_error(err, errlen, 0, "the file is empty");
    /* Files come from users and providers: a playlist (HLS, concat) posing as a video could
     * make FFmpeg fetch URLs or read other local files into the picture. Only plain local
     * files and container formats that hold their own data are opened. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    av_dict_set(&opts, "format_whitelist", SAFE_FORMATS, 0);
    int rc = avformat_open_input(&d->ic, path, NULL, &opts);
    av_dict_free(&opts);
    if (rc == AVERROR_INVALIDDATA || rc == AVERROR_EOF)
        return media_error(err, errlen, 0, "not a video file (unrecognised, damaged or cut short)");
    if (rc == AVERROR(EINVAL))
        return media_error(err, errlen, 0, "not a video file (unsupported format)");
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot open the file");

    /* MP4/MOV headers carry everything a decoder needs; reading ahead to guess stream
     * information would only decode frames we then throw away. */
    int idx = pick_stream(d->ic);
    const AVCodecParameters *par = idx >= 0 ? d->ic->streams[idx]->codecpar : NULL;
    if ((flags & MEDIA_DECODER_FULL_INFO) || !par || par->codec_id == AV_CODEC_ID_NONE || par->width <= 0 ||
        par->height <= 0) {
        rc = avformat_find_stream_info(d->ic, NULL);
        if (rc < 0)
            return media_error(err, errlen, rc, "not a video file (unreadable streams)");
        idx = pick_stream(d->ic);
    }
    if (idx < 0)
        return media_error(err, errlen, 0, "the file has no video stream");
    d->st = d->ic->streams[idx];
    for (unsigned i = 0; i < d->ic->nb_streams; i++)
        if ((int)i != idx)
            d->ic->streams[i]->discard = AVDISCARD_ALL; /* the demuxer skips their data */
    return 0;
}

int media_decoder_open(struct media_decoder *d, const char *path, int threads, int flags, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->skip_before = AV_NOPTS_VALUE;
    if (!path || !*path)
        return media_error(err, errlen, 0, "no file name");
    if (open_container(d, path, flags, err, errlen) < 0)
        return -1;

    enum AVCodecID id = d->st->codecpar->codec_id;
    const AVCodec *codec = avcodec_find_decoder(id);
    if (!codec)
        return media_error(err, errlen, 0, "no decoder for the video codec '%s'", avcodec_get_name(id));
    d->dec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    if (!d->dec || !d->pkt)
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a decoder");
    int rc = avcodec_parameters_to_context(d->dec, d->st->codecpar);
    if (rc < 0)
        return media_error(err, errlen, rc, "bad '%s' stream parameters", avcodec_get_name(id));
    d->dec->thread_count = threads;
    d->dec->pkt_timebase = d->st->time_base;
    rc = avcodec_open2(d->dec, codec, NULL);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot open the '%s' decoder", avcodec_get_name(id));
    return 0;
}

/* Feeds the decoder one packet of our stream, or starts draining it at the end of the
 * file. Returns 0, or -1 on a read error other than the end of the file. */
static int feed(struct media_decoder *d, char *err, size_t errlen)
{
    for (;;) {
        int rc = av_read_frame(d->ic, d->pkt);
        if (rc == AVERROR_EOF) {
            d->flushing = 1;
            avcodec_send_packet(d->dec, NULL);
            return 0;
        }
        if (rc < 0)
            return media_error(err, errlen, rc, "cannot read the file");
        if (d->pkt->stream_index != d->st->index) {
            av_packet_unref(d->pkt);
            continue;
        }
        /* A frame we will not return and nothing refers to need not be decoded at all. */
        int early = d->skip_before != AV_NOPTS_VALUE && d->pkt->pts != AV_NOPTS_VALUE && d->pkt->pts < d->skip_before;
        d->dec->skip_frame = early ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
        rc = avcodec_send_packet(d->dec, d->pkt);
        av_packet_unref(d->pkt);
        /* A damaged packet is skipped: what follows may still decode. */
        if (rc < 0 && rc != AVERROR_INVALIDDATA)
            return media_error(err, errlen, rc, "cannot decode the video");
        return 0;
    }
}

int media_decoder_next(struct media_decoder *d, AVFrame *frame, char *err, size_t errlen)
{
    for (;;) {
        int rc = avcodec_receive_frame(d->dec, frame);
        if (rc == AVERROR_EOF)
            return 1;
        if (rc == 0) {
            int64_t ts = frame->best_effort_timestamp;
            if (d->skip_before == AV_NOPTS_VALUE || ts == AV_NOPTS_VALUE || ts >= d->skip_before)
                return 0;
            av_frame_unref(frame);
            continue;
        }
        if (rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA)
            return media_error(err, errlen, rc, "cannot decode the video");
        if (d->flushing) /* drained: nothing more will come out */
            return 1;
        if (feed(d, err, errlen) < 0)
            return -1;
    }
}

int media_decoder_seek(struct media_decoder *d, int64_t ts, char *err, size_t errlen)
{
    int rc = av_seek_frame(d->ic, d->st->index, ts, AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        return media_error(err, errlen, rc, "cannot seek in the video");
    avcodec_flush_buffers(d->dec);
    d->flushing = 0;
    return 0;
}

void media_decoder_close(struct media_decoder *d)
{
    avcodec_free_context(&d->dec);
    av_packet_free(&d->pkt);
    avformat_close_input(&d->ic);
    d->st = NULL;
}
