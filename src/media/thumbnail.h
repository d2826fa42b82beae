/* Still images for the history list: one JPEG frame from a video. */
#ifndef VIDGEN_MEDIA_THUMBNAIL_H
#define VIDGEN_MEDIA_THUMBNAIL_H

#include <stddef.h>

/* Writes a JPEG of the frame at about 1 s into video_path (at 10 % of the duration for
 * clips under 2 s; the last frame if the clip ends before that point) to jpeg_path
 * (created or replaced). The picture keeps the video's display aspect ratio, is at most
 * max_width wide (never enlarged) and has even sides. Both paths are borrowed for the
 * call. Returns 0, or -1 with a readable message in err (errlen bytes, owned by the
 * caller; jpeg_path is then not left behind half written). Thread-safe. */
int media_thumbnail(const char *video_path, const char *jpeg_path, int max_width, char *err, size_t errlen);

struct media_decoder;
struct AVFrame;
/* media_thumbnail from a decoder already open on video_path (media/clip.c). `frame` (owned
 * by the caller) is scratch; it may hold the last frame `d` decoded, to be reused. */
int media_thumbnail_decoder(struct media_decoder *d, const char *video_path, struct AVFrame *frame,
                            const char *jpeg_path, int max_width, char *err, size_t errlen);

#endif
