#include "media/clip.h"

#include <stdlib.h>
#include <string.h>

#include "media/decoder.h"
#include "media/error.h"
#include "media/thumbnail.h"

struct media_clip {
    struct media_decoder d;
    AVFrame *frame; /* the last frame decoded */
    char path[];    /* a thumbnail may need to open the file again (decode_from_start) */
};

int media_clip_open(struct media_clip **clip, const char *path, struct media_info *out, char *err, size_t errlen)
{
    size_t n = strlen(path);
    struct media_clip *c = calloc(1, sizeof *c + n + 1);
    *clip = NULL;
    if (c == NULL || (c->frame = av_frame_alloc()) == NULL) {
        free(c);
        return media_error(err, errlen, AVERROR(ENOMEM), "cannot allocate a frame");
    }
    memcpy(c->path, path, n + 1);
    if (media_decoder_open(&c->d, path, 1, MEDIA_DECODER_FULL_INFO, err, errlen) < 0 ||
        media_probe_decoder(&c->d, c->frame, out, err, errlen) < 0) {
        media_clip_close(c);
        return -1;
    }
    *clip = c;
    return 0;
}

int media_clip_thumbnail(struct media_clip *c, const char *jpeg_path, int max_width, char *err, size_t errlen)
{
    return media_thumbnail_decoder(&c->d, c->path, c->frame, jpeg_path, max_width, err, errlen);
}

void media_clip_close(struct media_clip *c)
{
    if (c == NULL)
        return;
    av_frame_free(&c->frame);
    media_decoder_close(&c->d);
    free(c);
}
