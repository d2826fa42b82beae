/* The preview renderer's picture made from the user's images: a start image slowly zooms
 * in (and drifts a little), or, with an end image too, the start image cross-fades into the
 * end image, which settles to its full frame. The first frame shows the whole start image
 * and the last frame the whole end image (or the start image zoomed in, without one).
 * Each image fills the frame when its shape is near the frame's and is letterboxed when it
 * is far from it (a portrait photo in a landscape video). */
#ifndef VIDGEN_MEDIA_SLIDES_H
#define VIDGEN_MEDIA_SLIDES_H

#include <stddef.h>
#include <stdint.h>

struct media_slides;

/* Decodes the images (bytes borrowed for the call; `end` may be NULL) for frames of
 * width x height (even). NULL with a message in err on failure. */
struct media_slides *media_slides_new(const uint8_t *start, size_t start_len, const uint8_t *end, size_t end_len,
                                      int width, int height, char *err, size_t errlen);

/* Draws the frame at `progress` (0 for the first frame, 1 for the last) into the planes of
 * a YUV420P picture of the slides' size (owned by the caller). Not for two threads at once
 * on one media_slides. Returns 0, or -1 with a message in err. */
int media_slides_draw(struct media_slides *s, double progress, uint8_t *const planes[3], const int linesize[3],
                      char *err, size_t errlen);

void media_slides_free(struct media_slides *s);

#endif
