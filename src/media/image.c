#include "media/image.h"

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define ACCEPTED "upload a JPEG, PNG or WebP image"

/* Zero, CR and LF bytes a JPEG may carry after its end marker: some cameras and card
 * readers pad files with zeros, and text-mode transfers add line ends. They hold no data,
 * so they cannot hide a second file; anything else after the end is refused. */
#define JPEG_MAX_PADDING 4096

/* What the header parsers learn before anything is decoded. */
struct header {
    enum image_type type;
    int width, height; /* as stored; 0 until the parser has found them */
    int orientation;
};

static const struct {
    const char *name, *mime, *ext;
    enum AVCodecID codec;
} types[] = {
    [IMAGE_JPEG] = {"JPEG", "image/jpeg", "jpg", AV_CODEC_ID_MJPEG},
    [IMAGE_PNG] = {"PNG", "image/png", "png", AV_CODEC_ID_PNG},
    [IMAGE_WEBP] = {"WebP", "image/webp", "webp", AV_CODEC_ID_WEBP},
};

static enum image_verdict say(enum image_verdict v, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum image_verdict say(enum image_verdict v, char *msg, size_t cap, const char *fmt, ...)
{
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return v;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | le24(p);
}

/* ---- what the file is ---- */

/* Formats people upload instead of the three we take, by their first bytes, so the refusal
 * can say what the file is. An image format's name fills "%s images are not accepted";
 * anything else is "the file is %s, not an image". */
static const struct {
    size_t at, len;
    const char *magic;
    int is_image;
    const char *name;
} others[] = {
    {0, 6, "GIF87a", 1, "GIF"},
    {0, 6, "GIF89a", 1, "GIF"},
    {0, 4, "II*\0", 1, "TIFF"},
    {0, 4, "MM\0*", 1, "TIFF"},
    {4, 8, "ftypheic", 1, "HEIC"},
    {4, 8, "ftypheix", 1, "HEIC"},
    {4, 8, "ftyphevc", 1, "HEIC"},
    {4, 8, "ftypheim", 1, "HEIC"},
    {4, 8, "ftypheis", 1, "HEIC"},
    {4, 8, "ftypmif1", 1, "HEIF"},
    {4, 8, "ftypmsf1", 1, "HEIF"},
    {4, 8, "ftypavif", 1, "AVIF"},
    {4, 8, "ftypavis", 1, "AVIF"},
    {4, 4, "ftyp", 0, "an MP4 or QuickTime video"},
    {0, 12, "\0\0\0\x0cJXL \r\n\x87\n", 1, "JPEG XL"},
    {0, 2, "\xff\x0a", 1, "JPEG XL"},
    {0, 12, "\0\0\0\x0cjP  \r\n\x87\n", 1, "JPEG 2000"},
    {0, 4, "\0\0\1\0", 1, "ICO"},
    {0, 4, "8BPS", 1, "Photoshop (PSD)"},
    {0, 5, "%PDF-", 0, "a PDF document"},
    {0, 4, "PK\3\4", 0, "a ZIP archive (or an Office document)"},
    {0, 4, "PK\5\6", 0, "a ZIP archive"},
    {0, 4, "\x1a\x45\xdf\xa3", 0, "a Matroska or WebM video"},
    {0, 4, "RIFF", 0, "a RIFF file (such as WAV or AVI), not WebP"},
    {0, 3, "ID3", 0, "an MP3 file"},
    {0, 2, "\x1f\x8b", 0, "a gzip archive"},
};

/* Whether the first 512 bytes look like text: printable ASCII, white space and well-formed
 * UTF-8 sequences (one cut short at the end counts). */
static int looks_like_text(const uint8_t *b, size_t len)
{
    size_t n = len < 512 ? len : 512;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        if (c == 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f'))
            return 0;
        if (c < 0x80)
            continue;
        size_t more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
        if (more == 9)
            return 0;
        for (; more && ++i < n; more--)
            if ((b[i] & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* Whether `needle` occurs in the first 1 KB of b, ignoring case. */
static int text_has(const uint8_t *b, size_t len, const char *needle)
{
    size_t n = len < 1024 ? len : 1024, k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp((const char *)b + i, needle, k) == 0)
            return 1;
    return 0;
}

/* A BMP has only two magic bytes ("BM"), so its header is checked a little further: the
 * file size it states and the reserved zeros. */
static int looks_like_bmp(const uint8_t *b, size_t len)
{
    static const uint8_t zeros[4];
    return len >= 26 && b[0] == 'B' && b[1] == 'M' && memcmp(b + 6, zeros, 4) == 0 && le32(b + 2) >= 26;
}

/* The type by the magic bytes, or 0 with the refusal in msg. */
static enum image_type sniff(const uint8_t *b, size_t len, char *msg, size_t cap)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len == 0) {
        say(IMAGE_UNSUPPORTED, msg, cap, "the file is empty: " ACCEPTED);
        return 0;
    }
    if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return IMAGE_JPEG;
    /* The first four bytes are enough to call a cut-short file a PNG, and say so. */
    if (len >= 4 && memcmp(b, png, len < 8 ? len : 8) == 0)
        return IMAGE_PNG;
    if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return IMAGE_WEBP;

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        if (len < others[i].at + others[i].len || memcmp(b + others[i].at, others[i].magic, others[i].len) != 0)
            continue;
        if (others[i].is_image)
            say(IMAGE_UNSUPPORTED, msg, cap, "%s images are not accepted: " ACCEPTED, others[i].name);
        else
            say(IMAGE_UNSUPPORTED, msg, cap, "the file is %s, not an image: " ACCEPTED, others[i].name);
        return 0;
    }
    if (looks_like_bmp(b, len)) {
        say(IMAGE_UNSUPPORTED, msg, cap, "BMP images are not accepted: " ACCEPTED);
        return 0;
    }
    size_t skip = len >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0 ? 3 : 0; /* UTF-8 byte order mark */
    if (looks_like_text(b + skip, len - skip)) {
        const char *what = text_has(b, len, "<svg")    ? NULL
                           : text_has(b, len, "<html") ? "an HTML page"
                           : text_has(b, len, "<?xml") ? "an XML document"
                                                       : "text";
        if (!what)
            say(IMAGE_UNSUPPORTED, msg, cap, "SVG images are not accepted: " ACCEPTED);
        else
            say(IMAGE_UNSUPPORTED, msg, cap, "the file is %s, not an image: " ACCEPTED, what);
        return 0;
    }
    say(IMAGE_UNSUPPORTED, msg, cap, "the file is not a JPEG, PNG or WebP image (its first bytes match none of them)");
    return 0;
}

/* ---- EXIF orientation ---- */

/* A TIFF structure's IFD0 holds the Orientation tag (0x0112, a SHORT). Every offset is
 * checked against len before it is read; IFD0's entry count is cut to what fits. */
int image_exif_orientation(const uint8_t *tiff, size_t len)
{
    if (!tiff || len < 8)
        return 1;
    int big = 0;
    if (memcmp(tiff, "MM\0*", 4) == 0)
        big = 1;
    else if (memcmp(tiff, "II*\0", 4) != 0)
        return 1;
    uint32_t ifd = big ? be32(tiff + 4) : le32(tiff + 4);
    if (ifd < 8 || ifd > len - 2)
        return 1;
    size_t count = big ? be16(tiff + ifd) : le16(tiff + ifd);
    size_t room = (len - ifd - 2) / 12;
    if (count > room)
        count = room;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *e = tiff + ifd + 2 + 12 * i;
        unsigned tag = big ? be16(e) : le16(e), type = big ? be16(e + 2) : le16(e + 2);
        uint32_t n = big ? be32(e + 4) : le32(e + 4);
        if (tag != 0x0112)
            continue;
        if (n != 1 || (type != 3 && type != 4)) /* SHORT, or LONG from a careless writer */
            return 1;
        uint32_t v = type == 3 ? (big ? be16(e + 8) : le16(e + 8)) : (big ? be32(e + 8) : le32(e + 8));
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* EXIF in a PNG eXIf or WebP EXIF chunk is a TIFF structure, though some writers put
 * JPEG's "Exif\0\0" in front. */
static int chunk_orientation(const uint8_t *p, size_t n)
{
    if (n >= 6 && memcmp(p, "Exif\0", 5) == 0)
        return image_exif_orientation(p + 6, n - 6);
    return image_exif_orientation(p, n);
}

/* ---- headers ---- */

static enum image_verdict truncated(const struct header *h, char *msg, size_t cap, const char *where)
{
    return say(IMAGE_INVALID, msg, cap, "the %s is truncated (%s)", types[h->type].name, where);
}

/* The bytes a PNG's filtered image data holds: one filter byte and the packed samples per
 * row, over the seven Adam7 passes when interlaced. */
static uint64_t png_raw_size(uint32_t w, uint32_t h, unsigned depth, unsigned color, int interlaced)
{
    static const unsigned channels[7] = {1, 0, 3, 1, 2, 0, 4};
    static const struct {
        uint32_t x0, y0, dx, dy;
    } pass[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    uint64_t bits = (uint64_t)depth * channels[color], total = 0;
    if (!interlaced)
        return (uint64_t)h * (1 + ((uint64_t)w * bits + 7) / 8);
    for (int i = 0; i < 7; i++) {
        uint64_t pw = w > pass[i].x0 ? (w - pass[i].x0 + pass[i].dx - 1) / pass[i].dx : 0;
        uint64_t ph = h > pass[i].y0 ? (h - pass[i].y0 + pass[i].dy - 1) / pass[i].dy : 0;
        if (pw && ph)
            total += ph * (1 + (pw * bits + 7) / 8);
    }
    return total;
}

/* FFmpeg's PNG decoder shows a picture whose compressed data ends early (it only logs
 * that rows are missing), so the IDAT stream is inflated here first, into a small buffer
 * thrown away, until it has given every byte the header promises. It stops there: a bomb
 * costs no more than an honest image of its (bounded) size. */
static enum image_verdict png_data(const uint8_t *b, size_t len, uint64_t need, char *msg, size_t cap)
{
    z_stream z = {0};
    uint8_t sink[16384];
    uint64_t got = 0;
    int rc = Z_OK;
    if (inflateInit(&z) != Z_OK)
        return say(IMAGE_INVALID, msg, cap, "the PNG could not be checked (out of memory)");
    for (size_t p = 8; p + 12 <= len && got < need && rc != Z_STREAM_END;) {
        uint32_t n = be32(b + p);
        if (memcmp(b + p + 4, "IDAT", 4) == 0) {
            z.next_in = (Bytef *)(b + p + 8);
            z.avail_in = n;
            while (z.avail_in && got < need && rc == Z_OK) {
                uint64_t want = need - got < sizeof sink ? need - got : sizeof sink;
                z.next_out = sink;
                z.avail_out = (uInt)want;
                rc = inflate(&z, Z_NO_FLUSH);
                got += want - z.avail_out;
                if (rc == Z_BUF_ERROR && z.avail_out == 0)
                    rc = Z_OK;
            }
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                break;
            rc = rc == Z_BUF_ERROR ? Z_OK : rc;
        }
        p += 12 + (size_t)n; /* the chunk walk has checked every length */
    }
    inflateEnd(&z);
    if (got >= need)
        return IMAGE_OK;
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR)
        return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (its compressed image data is invalid)");
    return say(IMAGE_INVALID, msg, cap, "the PNG is truncated (its image data holds %.0f%% of the picture)",
               100.0 * (double)got / (double)need);
}

/* PNG: the signature, IHDR first, then chunks up to IEND, each within the file; nothing
 * after IEND. CRCs are left to the decoder (asked to check them). */
static enum image_verdict png_header(const uint8_t *b, size_t len, struct header *h, char *msg, size_t cap)
{
    if (len < 8 + 8 + 13 + 4)
        return truncated(h, msg, cap, "its header is incomplete");
    if (be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (it does not start with its IHDR header)");
    uint32_t w = be32(b + 16), ht = be32(b + 20);
    unsigned depth = b[24], color = b[25];
    if (w > INT32_MAX || ht > INT32_MAX)
        return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (its header gives an impossible size)");
    if (!w || !ht)
        return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (its header gives no size)");
    h->width = (int)w;
    h->height = (int)ht;
    int depth_ok = (color == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
                   (color == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                   ((color == 2 || color == 4 || color == 6) && (depth == 8 || depth == 16));
    if (!depth_ok || b[26] != 0 || b[27] != 0 || b[28] > 1)
        return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (its header has invalid settings)");

    size_t p = 8;
    int idat = 0, exif = 0;
    for (;;) {
        if (len - p < 12)
            return truncated(h, msg, cap, "it ends before its IEND chunk");
        uint32_t n = be32(b + p);
        const uint8_t *type = b + p + 4;
        if (n > INT32_MAX)
            return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (a chunk has an impossible length)");
        if (n > len - p - 12)
            return truncated(h, msg, cap, "it ends inside a chunk");
        if (p > 8 && memcmp(type, "IHDR", 4) == 0)
            return say(IMAGE_INVALID, msg, cap, "the PNG is damaged (it has two IHDR headers)");
        if (memcmp(type, "IDAT", 4) == 0)
            idat = 1;
        if (memcmp(type, "eXIf", 4) == 0 && !exif) {
            h->orientation = chunk_orientation(type + 4, n);
            exif = 1;
        }
        p += 12 + (size_t)n;
        if (memcmp(type, "IEND", 4) == 0)
            break;
    }
    if (!idat)
        return say(IMAGE_INVALID, msg, cap, "the PNG has no image data (no IDAT chunk)");
    if (p < len)
        return say(IMAGE_INVALID, msg, cap, "the PNG has %zu unexpected bytes after its end (IEND chunk)", len - p);
    if (w > IMAGE_MAX_SIDE || ht > IMAGE_MAX_SIDE || (uint64_t)w * ht > IMAGE_MAX_PIXELS)
        return say(IMAGE_INVALID, msg, cap, "the PNG is too large"); /* the caller says how large */
    return png_data(b, len, png_raw_size(w, ht, depth, color, b[28]), msg, cap);
}

/* A JPEG's frame header (SOFn `m`, its `n` bytes at `seg`): the size, and the kinds FFmpeg
 * cannot show refused. */
static enum image_verdict jpeg_frame(unsigned m, const uint8_t *seg, size_t n, struct header *h, char *msg, size_t cap)
{
    if (n < 6)
        return say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (its frame header is short)");
    h->height = (int)be16(seg + 1);
    h->width = (int)be16(seg + 3);
    if (m >= 0xc5)
        return say(IMAGE_UNSUPPORTED, msg, cap,
                   "this kind of JPEG (%s) is not supported: save it as a baseline or progressive JPEG",
                   m == 0xc5 || m == 0xc6 || m == 0xc7 || m == 0xcd || m == 0xce || m == 0xcf ? "hierarchical"
                                                                                              : "arithmetic-coded");
    if (h->height == 0)
        return say(IMAGE_UNSUPPORTED, msg, cap,
                   "this kind of JPEG (height given after the image data) is not supported");
    return IMAGE_OK;
}

/* Moves *p past a scan's entropy-coded data to the next real marker (stuffed 0xff00, fill
 * bytes and restart markers belong to the data). -1 when the file ends first. */
static int jpeg_skip_scan(const uint8_t *b, size_t len, size_t *p)
{
    for (;;) {
        const uint8_t *ff = *p < len ? memchr(b + *p, 0xff, len - *p) : NULL;
        if (!ff || (size_t)(ff - b) + 1 >= len)
            return -1;
        *p = (size_t)(ff - b);
        unsigned next = b[*p + 1];
        if (next != 0x00 && next != 0xff && !(next >= 0xd0 && next <= 0xd7))
            return 0;
        *p += next == 0xff ? 1 : 2;
    }
}

/* What may follow a JPEG's end marker: `extra` bytes at `b`. */
static enum image_verdict jpeg_after_end(const uint8_t *b, size_t extra, char *msg, size_t cap)
{
    /* A multi-picture JPEG (CIPA MPF: the gain map of an Ultra HDR photo, the HDR or depth
     * map of a phone camera's) carries its other pictures as JPEGs after the first one's
     * end. Phones make such files by default, so they are taken: the first picture is the
     * image, and what follows it is one more JPEG's start, not another kind of file. */
    if (extra >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return IMAGE_OK;
    size_t i = 0;
    while (i < extra && i < JPEG_MAX_PADDING && (b[i] == 0 || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i < extra)
        return say(IMAGE_INVALID, msg, cap, "the JPEG has %zu unexpected bytes after its end (EOI marker)", extra);
    return IMAGE_OK;
}

/* JPEG: markers from SOI to EOI. Each segment's length is checked against the file;
 * entropy-coded data after SOS is skipped to the next marker that is not a restart
 * marker or a stuffed 0xFF00. The frame header (SOFn) gives the size, the first APP1
 * "Exif" segment the orientation. */
static enum image_verdict jpeg_header(const uint8_t *b, size_t len, struct header *h, char *msg, size_t cap)
{
    size_t p = 2;
    int sof = 0, sos = 0, exif = 0;
    for (;;) {
        if (p >= len)
            return truncated(h, msg, cap, "it ends before its end marker");
        if (b[p] != 0xff)
            return say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (a marker is missing)");
        while (p < len && b[p] == 0xff) /* fill bytes */
            p++;
        if (p >= len)
            return truncated(h, msg, cap, "it ends before its end marker");
        unsigned m = b[p++];
        if (m == 0xd9) { /* EOI */
            if (!sos)
                return say(IMAGE_INVALID, msg, cap, "the JPEG has no image data");
            break;
        }
        if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7))
            return say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (a marker is out of place)");
        if (len - p < 2)
            return truncated(h, msg, cap, "it ends inside a segment");
        size_t n = be16(b + p);
        if (n < 2)
            return say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (a segment has an impossible length)");
        if (n > len - p)
            return truncated(h, msg, cap, "it ends inside a segment");
        const uint8_t *seg = b + p + 2;
        n -= 2;
        p += n + 2;

        if (m == 0xe1 && !exif && n >= 6 && memcmp(seg, "Exif\0", 5) == 0) {
            h->orientation = image_exif_orientation(seg + 6, n - 6);
            exif = 1;
        } else if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) { /* SOFn */
            enum image_verdict v = sof++
                                       ? say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (it has two frame headers)")
                                       : jpeg_frame(m, seg, n, h, msg, cap);
            if (v != IMAGE_OK)
                return v;
        } else if (m == 0xda) { /* SOS, then entropy-coded data up to the next real marker */
            if (!sof)
                return say(IMAGE_INVALID, msg, cap, "the JPEG is damaged (image data before its frame header)");
            sos = 1;
            if (jpeg_skip_scan(b, len, &p) != 0)
                return truncated(h, msg, cap, "it ends inside its image data");
        }
    }
    return jpeg_after_end(b + p, len - p, msg, cap);
}

/* WebP: a RIFF file whose stated size is the file's (plus one pad byte when odd), holding
 * a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk first. Every chunk is walked to
 * the end; animated files are refused (FFmpeg's decoder shows no animation). */
static enum image_verdict webp_header(const uint8_t *b, size_t len, struct header *h, char *msg, size_t cap)
{
    if (len < 12 + 8)
        return truncated(h, msg, cap, "it has no image chunk");
    const uint8_t *c = b + 12, *d = c + 8;
    uint32_t n = le32(c + 4);
    size_t have = len - 20;
    int extended = 0, animated = 0, image = 0, exif = 0;
    if (memcmp(c, "VP8 ", 4) == 0) {
        if (n < 10 || have < 10)
            return truncated(h, msg, cap, "its VP8 header is incomplete");
        if ((d[0] & 1) || memcmp(d + 3, "\x9d\x01\x2a", 3) != 0)
            return say(IMAGE_INVALID, msg, cap, "the WebP is damaged (its VP8 header is invalid)");
        h->width = (int)(le16(d + 6) & 0x3fff);
        h->height = (int)(le16(d + 8) & 0x3fff);
    } else if (memcmp(c, "VP8L", 4) == 0) {
        if (n < 5 || have < 5)
            return truncated(h, msg, cap, "its VP8L header is incomplete");
        uint32_t bits = le32(d + 1);
        if (d[0] != 0x2f || bits >> 29 != 0)
            return say(IMAGE_INVALID, msg, cap, "the WebP is damaged (its VP8L header is invalid)");
        h->width = (int)(bits & 0x3fff) + 1;
        h->height = (int)(bits >> 14 & 0x3fff) + 1;
    } else if (memcmp(c, "VP8X", 4) == 0) {
        if (n < 10 || have < 10)
            return truncated(h, msg, cap, "its VP8X header is incomplete");
        extended = 1;
        animated = d[0] & 0x02;
        h->width = (int)le24(d + 4) + 1;
        h->height = (int)le24(d + 7) + 1;
    } else {
        return say(IMAGE_INVALID, msg, cap, "the WebP is damaged (it does not start with an image chunk)");
    }

    uint32_t riff = le32(b + 4);
    if ((uint64_t)riff + 8 > len)
        return truncated(h, msg, cap, "it is shorter than its RIFF header says");
    size_t end = (size_t)riff + 8;
    if (end < len && !(riff % 2 == 1 && end + 1 == len))
        return say(IMAGE_INVALID, msg, cap, "the WebP has %zu unexpected bytes after its end (RIFF size)", len - end);

    for (size_t p = 12; p < end;) {
        if (end - p < 8)
            return say(IMAGE_INVALID, msg, cap, "the WebP is damaged (a chunk header is cut)");
        c = b + p;
        n = le32(c + 4);
        if (n > end - p - 8)
            return truncated(h, msg, cap, "it ends inside a chunk");
        if (memcmp(c, "VP8 ", 4) == 0 || memcmp(c, "VP8L", 4) == 0)
            image++;
        else if (memcmp(c, "ANIM", 4) == 0 || memcmp(c, "ANMF", 4) == 0)
            animated = 1;
        else if (extended && memcmp(c, "EXIF", 4) == 0 && !exif) {
            h->orientation = chunk_orientation(c + 8, n);
            exif = 1;
        }
        p += 8 + (size_t)n + (n & 1);
    }
    if (animated)
        return say(IMAGE_UNSUPPORTED, msg, cap, "animated WebP images are not accepted: upload a still image");
    if (image != 1)
        return say(IMAGE_INVALID, msg, cap, "the WebP is damaged (it has %s image chunks)", image ? "several" : "no");
    return IMAGE_OK;
}

/* ---- decoding ---- */

/* A JPEG that is only checked is decoded at 1/8 scale (FFmpeg's `lowres`): every
 * entropy-coded block is still read, so a truncated or damaged file fails as at full size,
 * but the inverse transforms and the picture are 64 times smaller (a 12 Mpx photo: 143 ms
 * at full size on this machine, see bench/README.md "Upload throughput"). */
#define JPEG_CHECK_LOWRES 3

/* One full decode of the whole file, as one packet, with FFmpeg's decoder for the type
 * (a JPEG at 1/2^lowres of its size). max_pixels guards again against a size the header
 * parser let through. The decoder's own messages about a user's broken file are demoted to
 * debug: the verdict says it all. Returns the frame (the caller frees it) or NULL with the
 * refusal in msg. */
static AVFrame *decode(const struct header *h, const uint8_t *bytes, size_t len, int lowres, char *msg, size_t cap)
{
    const char *name = types[h->type].name;
    const AVCodec *codec = avcodec_find_decoder(types[h->type].codec);
    AVCodecContext *c = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    int rc = AVERROR(ENOMEM);
    if (!codec) {
        say(IMAGE_INVALID, msg, cap, "this server cannot decode %s images (its FFmpeg has no decoder)", name);
        return NULL;
    }
    if (len > INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE) {
        say(IMAGE_INVALID, msg, cap, "the %s file is too large", name);
        return NULL;
    }
    if (!(c = avcodec_alloc_context3(codec)) || !(pkt = av_packet_alloc()) || !(frame = av_frame_alloc()))
        goto fail;
    c->thread_count = 1;
    c->max_pixels = IMAGE_MAX_PIXELS;
    c->lowres = h->type == IMAGE_JPEG ? lowres : 0;
    c->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
    if (h->type == IMAGE_PNG)
        c->err_recognition |= AV_EF_CRCCHECK;
    if ((rc = avcodec_open2(c, codec, NULL)) < 0)
        goto fail;
    if ((rc = av_new_packet(pkt, (int)len)) < 0) /* zeroed padding, as decoders need */
        goto fail;
    memcpy(pkt->data, bytes, len);
    pkt->flags |= AV_PKT_FLAG_KEY;
    if ((rc = avcodec_send_packet(c, pkt)) < 0)
        goto damaged;
    rc = avcodec_receive_frame(c, frame);
    if (rc == AVERROR(EAGAIN) && avcodec_send_packet(c, NULL) >= 0)
        rc = avcodec_receive_frame(c, frame);
    if (rc < 0 || frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT))
        goto damaged;
    if (frame->width != AV_CEIL_RSHIFT(h->width, c->lowres) || frame->height != AV_CEIL_RSHIFT(h->height, c->lowres)) {
        say(IMAGE_INVALID, msg, cap, "the %s is damaged (its header says %dx%d, its image data is %dx%d)", name,
            h->width, h->height, frame->width, frame->height);
        goto out;
    }
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    return frame;
damaged:
    if (rc == AVERROR(ENOMEM))
        goto fail;
    say(IMAGE_INVALID, msg, cap, "the %s is damaged or truncated: its image data does not decode", name);
    goto out;
fail:
    say(IMAGE_INVALID, msg, cap, "the %s could not be decoded (out of memory)", name);
out:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    return NULL;
}

/* The whole check; the decoded frame goes to *keep when keep is not NULL. */
static enum image_verdict check(const uint8_t *bytes, size_t len, struct image_info *out, AVFrame **keep, char *msg,
                                size_t cap)
{
    struct header h = {.orientation = 1};
    if (!bytes && len)
        return say(IMAGE_UNSUPPORTED, msg, cap, "no file");
    if (!(h.type = sniff(bytes, len, msg, cap)))
        return IMAGE_UNSUPPORTED;
    enum image_verdict v;
    switch (h.type) {
    case IMAGE_JPEG: v = jpeg_header(bytes, len, &h, msg, cap); break;
    case IMAGE_PNG: v = png_header(bytes, len, &h, msg, cap); break;
    default: v = webp_header(bytes, len, &h, msg, cap); break;
    }

    /* The size, once the header gave it, is the first thing said: a 50,000 x 50,000
     * header with nothing behind it is refused for its size, not for being cut short. */
    int swap = h.orientation >= 5;
    int dw = swap ? h.height : h.width, dh = swap ? h.width : h.height;
    if (h.width > IMAGE_MAX_SIDE || h.height > IMAGE_MAX_SIDE)
        return say(IMAGE_INVALID, msg, cap, "the image is %dx%d pixels; at most %d on a side", dw, dh, IMAGE_MAX_SIDE);
    if ((uint64_t)h.width * (uint64_t)h.height > IMAGE_MAX_PIXELS)
        return say(IMAGE_INVALID, msg, cap, "the image is %dx%d pixels (%.1f megapixels); at most %u megapixels", dw,
                   dh, (double)h.width * h.height / (1 << 20), IMAGE_MAX_PIXELS >> 20);
    if (h.width && h.height && (h.width < IMAGE_MIN_SIDE || h.height < IMAGE_MIN_SIDE))
        return say(IMAGE_INVALID, msg, cap, "the image is %dx%d pixels; at least %d on a side", dw, dh, IMAGE_MIN_SIDE);
    if (v != IMAGE_OK)
        return v;
    if (!h.width || !h.height)
        return say(IMAGE_INVALID, msg, cap, "the %s is damaged (its header gives no size)", types[h.type].name);

    AVFrame *frame = decode(&h, bytes, len, keep ? 0 : JPEG_CHECK_LOWRES, msg, cap);
    if (!frame)
        return IMAGE_INVALID;
    if (keep)
        *keep = frame;
    else
        av_frame_free(&frame);
    if (out) {
        out->type = h.type;
        out->mime = types[h.type].mime;
        out->ext = types[h.type].ext;
        out->width = dw;
        out->height = dh;
        out->orientation = h.orientation;
    }
    return IMAGE_OK;
}

enum image_verdict image_check(const uint8_t *bytes, size_t len, struct image_info *out, char *msg, size_t cap)
{
    return check(bytes, len, out, NULL, msg, cap);
}

/* ---- image_decode ---- */

/* Converts (and scales) src into a new frame of w x h in fmt. YUV output is limited range
 * BT.709, as the renderer's H.264 is. Returns the frame or NULL. */
static AVFrame *convert(const AVFrame *src, int w, int h, enum AVPixelFormat fmt)
{
    AVFrame *dst = av_frame_alloc();
    struct SwsContext *sws = sws_alloc_context();
    if (!dst || !sws)
        goto fail;
    const AVPixFmtDescriptor *in = av_pix_fmt_desc_get(src->format), *to = av_pix_fmt_desc_get(fmt);
    int yuv_in = in && !(in->flags & AV_PIX_FMT_FLAG_RGB) && in->nb_components >= 3;
    int yuv_out = to && !(to->flags & AV_PIX_FMT_FLAG_RGB) && to->nb_components >= 3;
    int src_full = !yuv_in || src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P ||
                   src->format == AV_PIX_FMT_YUVJ422P || src->format == AV_PIX_FMT_YUVJ444P ||
                   src->format == AV_PIX_FMT_YUVJ440P;
    int dst_full = !yuv_out;
    dst->width = w;
    dst->height = h;
    dst->format = fmt;
    if (yuv_out) {
        dst->color_range = AVCOL_RANGE_MPEG;
        dst->colorspace = AVCOL_SPC_BT709;
        dst->color_primaries = AVCOL_PRI_BT709;
        dst->color_trc = AVCOL_TRC_BT709;
    }
    if (av_frame_get_buffer(dst, 0) < 0)
        goto fail;
    av_opt_set_int(sws, "srcw", src->width, 0);
    av_opt_set_int(sws, "srch", src->height, 0);
    av_opt_set_int(sws, "src_format", src->format, 0);
    av_opt_set_int(sws, "src_range", src_full, 0);
    av_opt_set_int(sws, "dstw", w, 0);
    av_opt_set_int(sws, "dsth", h, 0);
    av_opt_set_int(sws, "dst_format", fmt, 0);
    av_opt_set_int(sws, "dst_range", dst_full, 0);
    av_opt_set_int(sws, "sws_flags", SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, 0);
    if (sws_init_context(sws, NULL, NULL) < 0)
        goto fail;
    int spc = yuv_in && src->colorspace != AVCOL_SPC_UNSPECIFIED ? src->colorspace : SWS_CS_DEFAULT;
    sws_setColorspaceDetails(sws, sws_getCoefficients(spc), src_full,
                             sws_getCoefficients(yuv_out ? SWS_CS_ITU709 : SWS_CS_DEFAULT), dst_full, 0, 1 << 16,
                             1 << 16);
    if (sws_scale_frame(sws, dst, src) < 0)
        goto fail;
    sws_freeContext(sws);
    return dst;
fail:
    sws_freeContext(sws);
    av_frame_free(&dst);
    return NULL;
}

/* a * num / den rounded, at least 1 and at most max. */
static int scaled(int64_t a, int64_t num, int64_t den, int max)
{
    int64_t v = (a * num + den / 2) / den;
    return v < 1 ? 1 : v > max ? max : (int)v;
}

/* Copies the RGBA picture `in` (iw x ih, as stored) into the RGB24 canvas at (ox, oy) as
 * displayed: EXIF orientation o maps each displayed pixel back to a stored one. Alpha is
 * composited over black, the colour of the bars. */
static void orient(const AVFrame *in, int o, AVFrame *canvas, int ox, int oy)
{
    int iw = in->width, ih = in->height;
    int ow = o >= 5 ? ih : iw, oh = o >= 5 ? iw : ih;
    for (int y = 0; y < oh; y++) {
        uint8_t *d = canvas->data[0] + (size_t)(oy + y) * canvas->linesize[0] + (size_t)ox * 3;
        for (int x = 0; x < ow; x++, d += 3) {
            int sx, sy;
            switch (o) {
            case 2: sx = iw - 1 - x, sy = y; break;
            case 3: sx = iw - 1 - x, sy = ih - 1 - y; break;
            case 4: sx = x, sy = ih - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = ih - 1 - x; break;
            case 7: sx = iw - 1 - y, sy = ih - 1 - x; break;
            case 8: sx = iw - 1 - y, sy = x; break;
            default: sx = x, sy = y; break;
            }
            const uint8_t *s = in->data[0] + (size_t)sy * in->linesize[0] + (size_t)sx * 4;
            for (int k = 0; k < 3; k++)
                d[k] = (uint8_t)((s[k] * s[3] + 127) / 255);
        }
    }
}

/* Decode, crop (COVER) or fit (CONTAIN) and scale in the stored orientation straight to
 * the size needed, so nothing of the source's size is allocated beyond its decoded frame;
 * then orient into a black canvas of the frame's size and convert that to pix_fmt. */
struct AVFrame *image_decode(const uint8_t *bytes, size_t len, int width, int height, enum image_fit fit, int pix_fmt,
                             char *msg, size_t cap)
{
    AVFrame *src = NULL, *gray = NULL, *pic = NULL, *canvas = NULL, *out = NULL;
    struct image_info info;
    if (width < 1 || height < 1 || width > 4 * IMAGE_MAX_SIDE || height > 4 * IMAGE_MAX_SIDE ||
        !sws_isSupportedOutput(pix_fmt)) {
        say(IMAGE_INVALID, msg, cap, "cannot make a %dx%d frame in that pixel format", width, height);
        return NULL;
    }
    if (check(bytes, len, &info, &src, msg, cap) != IMAGE_OK)
        return NULL;

    /* 1-bit PNGs decode to bit-packed pixels, which cannot be cropped by pointer. */
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(src->format);
    if (!desc || (desc->flags & AV_PIX_FMT_FLAG_BITSTREAM)) {
        if (!(gray = convert(src, src->width, src->height, AV_PIX_FMT_GRAY8)))
            goto fail;
        av_frame_free(&src);
        src = gray;
        gray = NULL;
    }

    int swap = info.orientation >= 5;
    int tw = swap ? height : width, th = swap ? width : height; /* the frame, as stored */
    int sw = src->width, sh = src->height, fw, fh;
    int wider = (int64_t)sw * th >= (int64_t)sh * tw;
    if (fit == IMAGE_FIT_COVER) {
        int cw = wider ? scaled(sh, tw, th, sw) : sw, ch = wider ? sh : scaled(sw, th, tw, sh);
        src->crop_left = (size_t)((sw - cw) / 2) & ~(size_t)1;
        src->crop_top = (size_t)((sh - ch) / 2) & ~(size_t)1;
        src->crop_right = (size_t)(sw - cw) - src->crop_left;
        src->crop_bottom = (size_t)(sh - ch) - src->crop_top;
        if (av_frame_apply_cropping(src, AV_FRAME_CROP_UNALIGNED) < 0)
            goto fail;
        fw = tw;
        fh = th;
    } else {
        fw = wider ? tw : scaled(sw, th, sh, tw);
        fh = wider ? scaled(sh, tw, sw, th) : th;
    }
    if (!(pic = convert(src, fw, fh, AV_PIX_FMT_RGBA)))
        goto fail;
    av_frame_free(&src);

    if (!(canvas = av_frame_alloc()))
        goto fail;
    canvas->width = width;
    canvas->height = height;
    canvas->format = AV_PIX_FMT_RGB24;
    if (av_frame_get_buffer(canvas, 0) < 0)
        goto fail;
    for (int y = 0; y < height; y++)
        memset(canvas->data[0] + (size_t)y * canvas->linesize[0], 0, (size_t)width * 3);
    int ow = swap ? fh : fw, oh = swap ? fw : fh;
    orient(pic, info.orientation, canvas, (width - ow) / 2, (height - oh) / 2);
    av_frame_free(&pic);

    if (pix_fmt == AV_PIX_FMT_RGB24)
        return canvas;
    out = convert(canvas, width, height, pix_fmt);
    av_frame_free(&canvas);
    if (!out)
        say(IMAGE_INVALID, msg, cap, "cannot convert the image to the frame's pixel format");
    return out;
fail:
    say(IMAGE_INVALID, msg, cap, "cannot scale the image (out of memory)");
    av_frame_free(&src);
    av_frame_free(&gray);
    av_frame_free(&pic);
    av_frame_free(&canvas);
    return NULL;
}
