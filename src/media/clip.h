/* A downloaded or rendered video checked and thumbnailed through one open: the container
 * is opened and its stream information read once, and the thumbnail decodes on from the
 * frame the probe decoded when that is as quick as a seek. The same checks and the same
 * thumbnail as media_probe() then media_thumbnail(), at about the cost of one of them. */
#ifndef VIDGEN_MEDIA_CLIP_H
#define VIDGEN_MEDIA_CLIP_H

#include <stddef.h>

#include "media/probe.h"

struct media_clip;

/* media_probe() on `path` (borrowed for the call), keeping the file open: *clip (freed by
 * media_clip_close) on 0; -1 with a readable message in err, and *clip NULL. */
int media_clip_open(struct media_clip **clip, const char *path, struct media_info *out, char *err, size_t errlen);

/* media_thumbnail() of the open clip. Once per clip. */
int media_clip_thumbnail(struct media_clip *clip, const char *jpeg_path, int max_width, char *err, size_t errlen);

/* NULL is accepted. */
void media_clip_close(struct media_clip *clip);

#endif
