/* Checking that a file is a playable video, and what it holds. */
#ifndef VIDGEN_MEDIA_PROBE_H
#define VIDGEN_MEDIA_PROBE_H

#include <stddef.h>

struct media_info {
    char codec[32];    /* FFmpeg's short codec name: "h264", "hevc", "vp9", "av1", ... */
    int width, height; /* of the decoded picture */
    double seconds;    /* duration; 0 when the file does not say */
    double fps;        /* average frame rate; 0 when unknown */
};

/* Opens path (borrowed for the call), finds its best video stream, checks that the data
 * its index points at is all in the file, and decodes at least one frame. Fills *out
 * (owned by the caller) and returns 0; returns -1 with a readable message in err (errlen
 * bytes, owned by the caller) when the file is missing, empty, truncated, not a video,
 * audio only, a still image (JPEG, PNG, WebP...), or does not decode. Thread-safe. */
int media_probe(const char *path, struct media_info *out, char *err, size_t errlen);

struct media_decoder;
struct AVFrame;
/* media_probe's checks on a decoder just opened with MEDIA_DECODER_FULL_INFO (media/clip.c):
 * decodes the first frame into `frame` (owned by the caller) and fills *out. 0 or -1. */
int media_probe_decoder(struct media_decoder *d, struct AVFrame *frame, struct media_info *out, char *err,
                        size_t errlen);

#endif
