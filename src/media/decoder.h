/* Reading the video stream of a file: open the container, pick the video stream, open its
 * decoder, pull decoded frames. Shared by media_probe() and media_thumbnail().
 * A decoder belongs to one thread at a time; separate decoders are independent. */
#ifndef VIDGEN_MEDIA_DECODER_H
#define VIDGEN_MEDIA_DECODER_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stddef.h>

struct media_decoder {
    AVFormatContext *ic;
    AVCodecContext *dec;
    AVStream *st; /* the chosen video stream, owned by ic */
    AVPacket *pkt;
    int flushing; /* the demuxer is at its end; the decoder is being drained */
    /* Frames stamped before this (stream time base) are never returned, so frames that no
     * other frame refers to are not even decoded. AV_NOPTS_VALUE (set by open): none. */
    int64_t skip_before;
};

enum media_decoder_flags {
    MEDIA_DECODER_FULL_INFO = 1, /* always read ahead for stream info (frame rate etc.) */
};

/* Opens `path` (borrowed for the call) and its best video stream (cover art does not
 * count), with `threads` decoding threads (0 = automatic). Without MEDIA_DECODER_FULL_INFO
 * the read-ahead for stream information is skipped when the container header already says
 * enough to decode (MP4, MOV). Returns 0, or -1 with a readable message in err; either
 * way media_decoder_close() releases what *d holds. */
int media_decoder_open(struct media_decoder *d, const char *path, int threads, int flags, char *err, size_t errlen);

/* Decodes the next frame into `frame` (owned by the caller; its old content is released).
 * Damaged packets are skipped. Returns 0 with a frame, 1 at the end of the stream, or -1
 * with a readable message in err. */
int media_decoder_next(struct media_decoder *d, AVFrame *frame, char *err, size_t errlen);

/* Moves to the keyframe at or before `ts` (stream time base) and empties the decoder, so
 * media_decoder_next() continues from there (also after it reported the end).
 * Returns 0, or -1 with a readable message in err. */
int media_decoder_seek(struct media_decoder *d, int64_t ts, char *err, size_t errlen);

/* Releases everything *d holds; safe on a zeroed or half-opened decoder. */
void media_decoder_close(struct media_decoder *d);

#endif
