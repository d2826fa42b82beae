/* Image validation and decoding for uploads (start and end images of a generation).
 *
 * image_check decides from the bytes alone, never from a file name or a client's
 * Content-Type: the type by its magic bytes (JPEG, PNG, WebP; anything else is
 * IMAGE_UNSUPPORTED, named when recognisable: GIF, BMP, TIFF, HEIC, AVIF, PDF, SVG, text...),
 * the dimensions read from the header by a small parser before anything large is allocated
 * (a 50,000 x 50,000 header or a decompression bomb is refused without decoding), the
 * file's structure walked to its end (JPEG markers to EOI, PNG chunks to IEND, WebP chunks
 * to the RIFF size), then one full decode with FFmpeg's decoders. A truncated or damaged
 * file, or bytes after the image's end, is IMAGE_INVALID; only zero, CR and LF padding
 * (up to 4 KB) may follow a JPEG's EOI. A PNG's compressed data is also inflated (into a
 * small scratch buffer) up to the size its header promises, since FFmpeg shows a PNG cut
 * short with blank rows. The EXIF orientation is read from a JPEG's APP1 segment, a PNG's
 * eXIf chunk or a WebP's EXIF chunk, and the reported width and height are those of the
 * image as displayed.
 *
 * image_decode gives the displayed picture (orientation applied, transparency over black),
 * scaled to fit or fill a frame, for the local renderer.
 *
 * Both are thread-safe and keep nothing between calls. */
#ifndef VIDGEN_MEDIA_IMAGE_H
#define VIDGEN_MEDIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_MIN_SIDE 64            /* smaller images are refused: no provider takes them */
#define IMAGE_MAX_SIDE 8192          /* larger sides are refused from the header */
#define IMAGE_MAX_PIXELS (40u << 20) /* 40 Mpx at most, from the header */

enum image_type { IMAGE_JPEG = 1, IMAGE_PNG, IMAGE_WEBP };

enum image_verdict {
    IMAGE_OK,
    IMAGE_UNSUPPORTED, /* not JPEG, PNG or WebP by its content, or a kind of one FFmpeg's decoders
                          cannot show: animated WebP, arithmetic-coded or hierarchical JPEG (HTTP 415) */
    IMAGE_INVALID,     /* one of them, but damaged, truncated, with trailing bytes, or out of bounds (422) */
};

struct image_info {
    enum image_type type;
    const char *mime;  /* "image/jpeg", "image/png", "image/webp" (static) */
    const char *ext;   /* "jpg", "png", "webp" (static) */
    int width, height; /* as displayed (after orientation) */
    int orientation;   /* EXIF 1..8; 1 when absent */
};

/* Checks `len` bytes at `bytes`. IMAGE_OK fills *out; otherwise `msg` (cap bytes) says what
 * was wrong, for the user ("the file is not a JPEG, PNG or WebP image (it starts like a GIF)",
 * "the image is 50000x50000 pixels; at most 8192 on a side", "the PNG is truncated", ...). */
enum image_verdict image_check(const uint8_t *bytes, size_t len, struct image_info *out, char *msg, size_t cap);

/* How image_decode fits the picture to the frame. */
enum image_fit {
    IMAGE_FIT_CONTAIN, /* letterboxed: all of the picture, black bars */
    IMAGE_FIT_COVER,   /* cropped: the frame filled, centred */
};

/* The EXIF orientation (1..8) in a TIFF-structured EXIF block (what follows "Exif\0\0" in a
 * JPEG's APP1 segment): IFD0's Orientation tag, either byte order. 1 when the block is
 * damaged or has no valid tag. Reads only within tiff[0..len). Used by image_check. */
int image_exif_orientation(const uint8_t *tiff, size_t len);

struct AVFrame;
/* Decodes an image that image_check accepted, applies its orientation and scales it to
 * width x height with `fit`, into a new frame in `pix_fmt` (an enum AVPixelFormat value, e.g.
 * AV_PIX_FMT_YUV420P). Returns the frame (the caller frees it with av_frame_free) or NULL
 * with a message in msg. */
struct AVFrame *image_decode(const uint8_t *bytes, size_t len, int width, int height, enum image_fit fit, int pix_fmt,
                             char *msg, size_t cap);

#endif
