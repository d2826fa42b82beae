#include "media/probe.h"

#include "media/decoder.h"
#include "media/error.h"

#include <stdio.h>
#include <string.h>

/* An MP4 written with its index first (as downloads usually are) still opens and decodes
 * its first frames when the end of the file is missing; only the index shows that the
 * data it points at is not there. Formats without an index pass this check. */
static int check_complete(const struct media_decoder *d, char *err, size_t errlen)
{
    int64_t size = avio_size(d->ic->pb), end = 0;
    if (size <= 0)
        return 0;
    for (unsigned s = 0; s < d->ic->nb_streams; s++) {
        AVStream *st = d->ic->streams[s];
        int n = avformat_index_get_entries_count(st);
        for (int i = 0; i < n; i++) {
            const AVIndexEntry *e = avformat_index_get_entry(st, i);
            if (e && e->size > 0 && e->pos + e->size > end)
                end = e->pos + e->size;
        }
    }
    if (end > size)
        return media_error(err, errlen, 0, "the file is truncated (%lld of %lld bytes present)", (long long)size,
                           (long long)end);
    return 0;
}

static void describe(const struct media_decoder *d, const AVFrame *frame, struct media_info *out)
{
    const AVStream *st = d->st;
    memset(out, 0, sizeof *out);
    snprintf(out->codec, sizeof out->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
    out->width = frame->width;
    out->height = frame->height;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        out->seconds = (double)st->duration * av_q2d(st->time_base);
    else if (d->ic->duration != AV_NOPTS_VALUE && d->ic->duration > 0)
        out->seconds = (double)d->ic->duration / AV_TIME_BASE;
    AVRational rate = av_guess_frame_rate(d->ic, (AVStream *)st, NULL);
    out->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
}

/* A single JPEG, PNG or WebP opens as a one-frame "video"; a provider that sends one
 * instead of a clip has not delivered a video. Animated formats (GIF) are not refused. */
static int check_not_still(const struct media_decoder *d, char *err, size_t errlen)
{
    const char *name = d->ic->iformat->name;
    size_t n = strlen(name);
    if (strcmp(name, "image2") == 0 || (n > 5 && strcmp(name + n - 5, "_pipe") == 0))
        return media_error(err, errlen, 0, "a still image (%s), not a video",
                           avcodec_get_name(d->st->codecpar->codec_id));
    return 0;
}

int media_probe_decoder(struct media_decoder *d, AVFrame *frame, struct media_info *out, char *err, size_t errlen)
{
    if (check_not_still(d, err, errlen) < 0 || check_complete(d, err, errlen) < 0)
        return -1;
    int rc = media_decoder_next(d, frame, err, errlen);
    if (rc == 1)
        media_error(err, errlen, 0, "no video frame in the file decodes");
    if (rc != 0)
        return -1;
    describe(d, frame, out);
    return 0;
}

int media_probe(const char *path, struct media_info *out, char *err, size_t errlen)
{
    struct media_decoder d;
    AVFrame *frame = NULL;
    int ret = -1;

    if (media_decoder_open(&d, path, 1, MEDIA_DECODER_FULL_INFO, err, errlen) < 0)
        goto out;
    if (!(frame = av_frame_alloc())) {
        media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a frame");
        goto out;
    }
    ret = media_probe_decoder(&d, frame, out, err, errlen);
out:
    av_frame_free(&frame);
    media_decoder_close(&d);
    return ret;
}
