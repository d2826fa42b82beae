/* Output frame size from the user's resolution and aspect-ratio choices. */
#ifndef VIDGEN_MEDIA_DIMENSIONS_H
#define VIDGEN_MEDIA_DIMENSIONS_H

/* Frame size for `resolution` ("720p", "1080p", "4K"; also "4k", "2160p") and `aspect`
 * ("W:H" with whole numbers 1..1000, e.g. "16:9", "9:16", "1:1", "4:3", "9:21", at most 4:1
 * either way). The short side is 720, 1080 or 2160; the long side follows the ratio,
 * rounded to the nearest even number (H.264 with 4:2:0 chroma needs even sizes).
 * Both strings are borrowed for the call only. Writes *width and *height and returns 0,
 * or returns -1 and leaves them untouched when either string is not understood. */
int media_dimensions(const char *resolution, const char *aspect, int *width, int *height);

#endif
