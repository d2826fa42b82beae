/* Image uploads: JPEG, PNG and WebP made here with FFmpeg's own encoders are accepted with
 * the right type and size; other files, damaged ones, cut ones, ones with bytes after
 * their end and ones out of bounds are refused with a message that says why; EXIF
 * orientation turns the picture; image_decode letterboxes or crops. Pixels are read
 * straight from the frames. */
#include <criterion/criterion.h>

#include "media/image.h"

#include <libavcodec/avcodec.h>
#include <libavutil/crc.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void setup(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

TestSuite(image, .init = setup);

/* ---- making images ---- */

struct blob {
    uint8_t *data;
    size_t len;
};

static void blob_free(struct blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* An RGB24 picture in four quadrants, so that any turn or flip shows: red top left, green
 * top right, blue bottom left, white bottom right. */
static AVFrame *quadrants(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_RGB24;
    cr_assert_geq(av_frame_get_buffer(f, 0), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = f->data[0] + y * f->linesize[0] + x * 3;
            int right = x >= w / 2, bottom = y >= h / 2;
            p[0] = (!right && !bottom) || (right && bottom) ? 255 : 0;
            p[1] = right ? 255 : 0;
            p[2] = bottom ? 255 : 0;
        }
    return f;
}

static AVFrame *to_format(const AVFrame *src, enum AVPixelFormat fmt)
{
    AVFrame *f = av_frame_alloc();
    f->width = src->width;
    f->height = src->height;
    f->format = fmt;
    cr_assert_geq(av_frame_get_buffer(f, 0), 0);
    if (fmt == AV_PIX_FMT_PAL8) { /* swscale does not write palettes: the four colours by hand */
        static const uint32_t argb[4] = {0xffff0000, 0xff00ff00, 0xff0000ff, 0xffffffff};
        memcpy(f->data[1], argb, sizeof argb);
        for (int y = 0; y < f->height; y++)
            for (int x = 0; x < f->width; x++)
                f->data[0][y * f->linesize[0] + x] = (uint8_t)((x >= f->width / 2) + 2 * (y >= f->height / 2));
        return f;
    }
    struct SwsContext *s =
        sws_getContext(src->width, src->height, src->format, f->width, f->height, fmt, SWS_BICUBIC, NULL, NULL, NULL);
    cr_assert_not_null(s);
    sws_scale(s, (const uint8_t *const *)src->data, src->linesize, 0, src->height, f->data, f->linesize);
    sws_freeContext(s);
    return f;
}

/* Encodes `rgb` with the named encoder, converted to fmt first; opt=val is an encoder
 * option (or NULL). */
static struct blob encode_flags(const char *encoder, const AVFrame *rgb, enum AVPixelFormat fmt, const char *opt,
                                const char *val, int flags)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
    cr_assert_not_null(codec, "this FFmpeg has no %s encoder", encoder);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    c->width = rgb->width;
    c->height = rgb->height;
    c->pix_fmt = fmt;
    c->time_base = (AVRational){1, 25};
    c->flags |= flags;
    if (strcmp(encoder, "mjpeg") == 0) {
        c->color_range = AVCOL_RANGE_JPEG;
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 2;
    }
    AVDictionary *o = NULL;
    if (opt)
        av_dict_set(&o, opt, val, 0);
    cr_assert_geq(avcodec_open2(c, codec, &o), 0, "cannot open the %s encoder", encoder);
    av_dict_free(&o);
    AVFrame *f = fmt == rgb->format ? av_frame_clone(rgb) : to_format(rgb, fmt);
    AVPacket *pkt = av_packet_alloc();
    cr_assert_geq(avcodec_send_frame(c, f), 0);
    avcodec_send_frame(c, NULL);
    cr_assert_geq(avcodec_receive_packet(c, pkt), 0, "%s gave no packet", encoder);
    struct blob b = {malloc(pkt->size), (size_t)pkt->size};
    memcpy(b.data, pkt->data, b.len);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&c);
    return b;
}

static struct blob encode(const char *encoder, const AVFrame *rgb, enum AVPixelFormat fmt, const char *opt,
                          const char *val)
{
    return encode_flags(encoder, rgb, fmt, opt, val, 0);
}

static struct blob make(const char *encoder, enum AVPixelFormat fmt, int w, int h, const char *opt, const char *val)
{
    AVFrame *rgb = quadrants(w, h);
    struct blob b = encode(encoder, rgb, fmt, opt, val);
    av_frame_free(&rgb);
    return b;
}

static struct blob jpeg(int w, int h)
{
    return make("mjpeg", AV_PIX_FMT_YUVJ420P, w, h, NULL, NULL);
}

static struct blob png(int w, int h)
{
    return make("png", AV_PIX_FMT_RGB24, w, h, NULL, NULL);
}

static struct blob webp(int w, int h)
{
    return make("libwebp", AV_PIX_FMT_YUV420P, w, h, NULL, NULL);
}

/* A copy of b with `n` bytes of `add` inserted at `at`. */
static struct blob splice(struct blob b, size_t at, const void *add, size_t n)
{
    struct blob r = {malloc(b.len + n), b.len + n};
    memcpy(r.data, b.data, at);
    memcpy(r.data + at, add, n);
    memcpy(r.data + at + n, b.data + at, b.len - at);
    return r;
}

/* A TIFF block with one IFD0 entry, Orientation = o, in either byte order. */
static size_t exif_tiff(uint8_t *t, int o, int big)
{
    static const uint8_t mm[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0,
                                 3,   0,   0, 0,  1, 0, 0, 0, 0, 0, 0,    0,    0};
    static const uint8_t ii[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                                 0,   1,   0,  0, 0, 0, 0, 0, 0, 0, 0,    0,    0};
    memcpy(t, big ? mm : ii, sizeof mm);
    t[big ? 19 : 18] = (uint8_t)o;
    return sizeof mm;
}

/* A JPEG with an APP1 Exif segment (Orientation = o) spliced in after SOI. */
static struct blob jpeg_oriented(int w, int h, int o)
{
    uint8_t seg[64] = {0xff, 0xe1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
    size_t n = 10 + exif_tiff(seg + 10, o, 1);
    seg[2] = (uint8_t)((n - 2) >> 8);
    seg[3] = (uint8_t)(n - 2);
    struct blob j = jpeg(w, h), r = splice(j, 2, seg, n);
    blob_free(&j);
    return r;
}

/* A PNG chunk with its CRC into out; returns its length. */
static size_t png_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t n)
{
    out[0] = (uint8_t)(n >> 24), out[1] = (uint8_t)(n >> 16), out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uint32_t crc = av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, out + 4, n + 4) ^ UINT32_MAX;
    out[8 + n] = (uint8_t)(crc >> 24), out[9 + n] = (uint8_t)(crc >> 16), out[10 + n] = (uint8_t)(crc >> 8);
    out[11 + n] = (uint8_t)crc;
    return 12 + n;
}

/* A PNG signature and an IHDR for w x h RGB, nothing else: 33 bytes. */
static size_t png_head(uint8_t *out, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {(uint8_t)(w >> 24),
                        (uint8_t)(w >> 16),
                        (uint8_t)(w >> 8),
                        (uint8_t)w,
                        (uint8_t)(h >> 24),
                        (uint8_t)(h >> 16),
                        (uint8_t)(h >> 8),
                        (uint8_t)h,
                        8,
                        2,
                        0,
                        0,
                        0};
    memcpy(out, sig, 8);
    return 8 + png_chunk(out + 8, "IHDR", ihdr, 13);
}

/* ---- reading frames ---- */

static const uint8_t *rgb_at(const AVFrame *f, int x, int y)
{
    return f->data[0] + y * f->linesize[0] + x * 3;
}

#define assert_rgb(f, x, y, r, g, b)                                                                                   \
    do {                                                                                                               \
        const uint8_t *p_ = rgb_at(f, x, y);                                                                           \
        cr_assert(abs(p_[0] - (r)) < 48 && abs(p_[1] - (g)) < 48 && abs(p_[2] - (b)) < 48,                             \
                  "pixel (%d,%d) is %d,%d,%d; expected about %d,%d,%d", x, y, p_[0], p_[1], p_[2], r, g, b);           \
    } while (0)

static enum image_verdict check(struct blob b, struct image_info *info, char *msg, size_t cap)
{
    memset(info, 0, sizeof *info);
    msg[0] = '\0';
    return image_check(b.data, b.len, info, msg, cap);
}

static void assert_accepted(struct blob b, enum image_type type, const char *mime, const char *ext, int w, int h)
{
    struct image_info info;
    char msg[256];
    enum image_verdict v = check(b, &info, msg, sizeof msg);
    cr_assert_eq(v, IMAGE_OK, "refused: %s", msg);
    cr_assert_eq(info.type, type);
    cr_assert_str_eq(info.mime, mime);
    cr_assert_str_eq(info.ext, ext);
    cr_assert_eq(info.width, w);
    cr_assert_eq(info.height, h);
    cr_assert_eq(info.orientation, 1);
}

/* Refused with verdict v and a message containing each of the words. */
static void assert_refused(struct blob b, enum image_verdict v, const char *word1, const char *word2)
{
    struct image_info info;
    char msg[256];
    enum image_verdict got = check(b, &info, msg, sizeof msg);
    cr_assert_eq(got, v, "verdict %d, expected %d (%s)", got, v, msg);
    cr_assert(strstr(msg, word1), "message \"%s\" does not say \"%s\"", msg, word1);
    if (word2)
        cr_assert(strstr(msg, word2), "message \"%s\" does not say \"%s\"", msg, word2);
}

/* ---- accepted ---- */

Test(image, jpeg_png_webp_are_accepted_by_content)
{
    struct blob j = jpeg(320, 200), p = png(321, 199), w = webp(256, 144);
    assert_accepted(j, IMAGE_JPEG, "image/jpeg", "jpg", 320, 200);
    assert_accepted(p, IMAGE_PNG, "image/png", "png", 321, 199);
    assert_accepted(w, IMAGE_WEBP, "image/webp", "webp", 256, 144);
    cr_assert(memcmp(w.data + 12, "VP8 ", 4) == 0, "the lossy WebP is a simple VP8 file");
    blob_free(&j);
    blob_free(&p);
    blob_free(&w);
}

Test(image, lossless_and_alpha_webp_are_accepted)
{
    struct blob l = make("libwebp", AV_PIX_FMT_YUV420P, 100, 64, "lossless", "1");
    AVFrame *rgb = quadrants(64, 90), *yuva = to_format(rgb, AV_PIX_FMT_YUVA420P);
    memset(yuva->data[3], 0, (size_t)yuva->linesize[3] * 10); /* a transparent strip: VP8X + ALPH */
    struct blob a = encode("libwebp", yuva, AV_PIX_FMT_YUVA420P, NULL, NULL);
    av_frame_free(&rgb);
    av_frame_free(&yuva);
    cr_assert(memcmp(l.data + 12, "VP8L", 4) == 0);
    cr_assert(memcmp(a.data + 12, "VP8X", 4) == 0);
    assert_accepted(l, IMAGE_WEBP, "image/webp", "webp", 100, 64);
    assert_accepted(a, IMAGE_WEBP, "image/webp", "webp", 64, 90);
    blob_free(&l);
    blob_free(&a);
}

Test(image, smallest_and_odd_sizes_are_accepted)
{
    struct blob j = jpeg(64, 64), p = png(64, 1000);
    assert_accepted(j, IMAGE_JPEG, "image/jpeg", "jpg", 64, 64);
    assert_accepted(p, IMAGE_PNG, "image/png", "png", 64, 1000);
    blob_free(&j);
    blob_free(&p);
}

Test(image, jpeg_padding_after_its_end_is_tolerated)
{
    struct blob j = jpeg(128, 96);
    struct blob padded = splice(j, j.len, "\0\0\0\0\0\0\0\0\r\n", 10);
    assert_accepted(padded, IMAGE_JPEG, "image/jpeg", "jpg", 128, 96);
    blob_free(&j);
    blob_free(&padded);
}

Test(image, a_multi_picture_jpeg_is_taken_as_its_first_picture)
{
    /* An Ultra HDR or phone-camera JPEG: the gain map (another JPEG) follows the first EOI. */
    struct blob big = jpeg(128, 96), map = jpeg(64, 64);
    struct blob mpf = splice(big, big.len, (const char *)map.data, map.len);
    assert_accepted(mpf, IMAGE_JPEG, "image/jpeg", "jpg", 128, 96);
    /* Anything else after the end still is not. */
    struct blob zip = splice(big, big.len, "PK\x03\x04rest", 8);
    assert_refused(zip, IMAGE_INVALID, "the JPEG has 8 unexpected bytes after its end", NULL);
    blob_free(&big), blob_free(&map), blob_free(&mpf), blob_free(&zip);
}

/* ---- orientation ---- */

Test(image, exif_orientation_6_swaps_the_size_and_turns_the_picture)
{
    struct blob j = jpeg_oriented(320, 200, 6);
    struct image_info info;
    char msg[256];
    cr_assert_eq(check(j, &info, msg, sizeof msg), IMAGE_OK, "%s", msg);
    cr_assert_eq(info.orientation, 6);
    cr_assert_eq(info.width, 200);
    cr_assert_eq(info.height, 320);

    /* Turned a quarter clockwise: the stored bottom left (blue) is now top left, the
     * stored top left (red) top right, white bottom left, green bottom right. */
    AVFrame *f = image_decode(j.data, j.len, 200, 320, IMAGE_FIT_CONTAIN, AV_PIX_FMT_RGB24, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    cr_assert_eq(f->width, 200);
    cr_assert_eq(f->height, 320);
    cr_assert_eq(f->format, AV_PIX_FMT_RGB24);
    assert_rgb(f, 10, 10, 0, 0, 255);
    assert_rgb(f, 190, 10, 255, 0, 0);
    assert_rgb(f, 10, 310, 255, 255, 255);
    assert_rgb(f, 190, 310, 0, 255, 0);
    av_frame_free(&f);
    blob_free(&j);
}

Test(image, every_orientation_puts_the_right_corner_top_left)
{
    /* What the top-left corner shows for orientations 1..8 of the quadrant picture. */
    static const uint8_t corner[9][3] = {
        {0},         {255, 0, 0}, {0, 255, 0},     {255, 255, 255}, {0, 0, 255},
        {255, 0, 0}, {0, 0, 255}, {255, 255, 255}, {0, 255, 0},
    };
    char msg[256];
    for (int o = 1; o <= 8; o++) {
        struct blob j = jpeg_oriented(160, 96, o);
        int w = o >= 5 ? 96 : 160, h = o >= 5 ? 160 : 96;
        AVFrame *f = image_decode(j.data, j.len, w, h, IMAGE_FIT_COVER, AV_PIX_FMT_RGB24, msg, sizeof msg);
        cr_assert_not_null(f, "orientation %d: %s", o, msg);
        const uint8_t *p = rgb_at(f, 4, 4);
        cr_assert(abs(p[0] - corner[o][0]) < 48 && abs(p[1] - corner[o][1]) < 48 && abs(p[2] - corner[o][2]) < 48,
                  "orientation %d: top left is %d,%d,%d", o, p[0], p[1], p[2]);
        av_frame_free(&f);
        blob_free(&j);
    }
}

Test(image, png_exif_chunk_little_endian_is_read)
{
    struct blob p = png(200, 100);
    uint8_t tiff[32], chunk[64];
    size_t n = png_chunk(chunk, "eXIf", tiff, (uint32_t)exif_tiff(tiff, 8, 0));
    struct blob o = splice(p, 33, chunk, n); /* after the signature and IHDR */
    struct image_info info;
    char msg[256];
    cr_assert_eq(check(o, &info, msg, sizeof msg), IMAGE_OK, "%s", msg);
    cr_assert_eq(info.orientation, 8);
    cr_assert_eq(info.width, 100);
    cr_assert_eq(info.height, 200);
    /* A quarter turn anticlockwise: the stored top right (green) is now top left. */
    AVFrame *f = image_decode(o.data, o.len, 100, 200, IMAGE_FIT_CONTAIN, AV_PIX_FMT_RGB24, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    assert_rgb(f, 5, 5, 0, 255, 0);
    assert_rgb(f, 95, 195, 0, 0, 255);
    av_frame_free(&f);
    blob_free(&p);
    blob_free(&o);
}

Test(image, exif_parser_reads_only_what_is_there)
{
    uint8_t t[32];
    size_t n = exif_tiff(t, 6, 1);
    cr_assert_eq(image_exif_orientation(t, n), 6);
    n = exif_tiff(t, 3, 0);
    cr_assert_eq(image_exif_orientation(t, n), 3);
    cr_assert_eq(image_exif_orientation(t, 20), 1, "an entry cut short is not read");
    cr_assert_eq(image_exif_orientation(t, 7), 1);
    cr_assert_eq(image_exif_orientation(NULL, 0), 1);
    exif_tiff(t, 9, 0);
    cr_assert_eq(image_exif_orientation(t, n), 1, "9 is not an orientation");
    exif_tiff(t, 6, 0);
    t[8] = 0xff, t[9] = 0xff; /* 65535 entries claimed */
    cr_assert_eq(image_exif_orientation(t, n), 6, "the count is cut to what fits");
    t[4] = 0xf0; /* IFD0 past the end */
    cr_assert_eq(image_exif_orientation(t, n), 1);
}

/* ---- refused: not our formats ---- */

Test(image, other_formats_are_named_in_the_refusal)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *says;
    } cases[] = {
        {"GIF89a\x40\0\x40\0\x80\0\0\0\0\0\xff\xff\xff,\0\0\0\0\1\0\1\0\0\2\2D\1\0;", 35,
         "GIF images are not accepted"},
        {"II*\0\x08\0\0\0\0\0", 10, "TIFF images are not accepted"},
        {"\0\0\0\x18"
         "ftypheic\0\0\0\0mif1heic",
         24, "HEIC images are not accepted"},
        {"\0\0\0\x1c"
         "ftypavif\0\0\0\0avifmif1miaf",
         28, "AVIF images are not accepted"},
        {"\0\0\0\x18"
         "ftypisom\0\0\0\0isomiso2",
         24, "MP4 or QuickTime video, not an image"},
        {"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 15, "a PDF document, not an image"},
        {"PK\3\4\x14\0\0\0\x08\0", 10, "ZIP archive"},
        {"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n", 64, "SVG images are not accepted"},
        {"<?xml version=\"1.0\"?>\n<doc/>\n", 29, "an XML document"},
        {"hello, this is not a picture\n", 29, "the file is text, not an image"},
        {"RIFF\x24\0\0\0WAVEfmt ", 16, "RIFF file"},
        {"abc", 3, "the file is text"},
        {"\x01\x02\x03", 3, "not a JPEG, PNG or WebP"},
        {"\x01\x02\x03\x04\x05\x06\x07\x08", 8, "not a JPEG, PNG or WebP"},
        {"", 0, "the file is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256] = "";
        struct image_info info;
        enum image_verdict v = image_check((const uint8_t *)cases[i].bytes, cases[i].len, &info, msg, sizeof msg);
        cr_assert_eq(v, IMAGE_UNSUPPORTED, "case %zu: verdict %d (%s)", i, v, msg);
        cr_assert(strstr(msg, cases[i].says), "case %zu: \"%s\" does not say \"%s\"", i, msg, cases[i].says);
        cr_assert(strstr(msg, "JPEG, PNG or WebP"), "case %zu: \"%s\" does not say what is accepted", i, msg);
    }
}

Test(image, real_bmp_and_gif_are_refused)
{
    struct blob b = make("bmp", AV_PIX_FMT_BGR24, 64, 64, NULL, NULL);
    assert_refused(b, IMAGE_UNSUPPORTED, "BMP images are not accepted", "upload a JPEG, PNG or WebP");
    blob_free(&b);
}

Test(image, a_text_file_named_jpg_is_refused)
{
    const char *text = "name: holiday.jpg\nContent-Type: image/jpeg\n";
    struct blob t = {(uint8_t *)strdup(text), strlen(text)};
    assert_refused(t, IMAGE_UNSUPPORTED, "text, not an image", NULL);
    blob_free(&t);
}

Test(image, three_bytes_of_jpeg_are_a_truncated_jpeg)
{
    struct blob b = {(uint8_t *)strdup("\xff\xd8\xff"), 3};
    assert_refused(b, IMAGE_INVALID, "the JPEG is truncated", NULL);
    blob_free(&b);
}

/* ---- refused: damaged, cut, with trailing bytes ---- */

Test(image, truncated_files_are_invalid)
{
    struct blob j = jpeg(200, 120), p = png(200, 120), w = webp(200, 120);
    size_t jl = j.len, pl = p.len, wl = w.len;
    j.len = jl / 2;
    p.len = pl / 2;
    w.len = wl / 2;
    assert_refused(j, IMAGE_INVALID, "the JPEG is truncated", NULL);
    assert_refused(p, IMAGE_INVALID, "the PNG is truncated", NULL);
    assert_refused(w, IMAGE_INVALID, "the WebP is truncated", NULL);
    /* Cut just before the end marker / last chunk. */
    j.len = jl - 2;
    p.len = pl - 12;
    w.len = wl - 1;
    assert_refused(j, IMAGE_INVALID, "the JPEG is truncated", NULL);
    assert_refused(p, IMAGE_INVALID, "the PNG is truncated", NULL);
    assert_refused(w, IMAGE_INVALID, "the WebP is truncated", NULL);
    /* Only the header. */
    p.len = 20;
    assert_refused(p, IMAGE_INVALID, "the PNG is truncated", NULL);
    blob_free(&j);
    blob_free(&p);
    blob_free(&w);
}

Test(image, trailing_bytes_are_invalid)
{
    struct blob j = jpeg(200, 120), p = png(200, 120), w = webp(200, 120);
    struct blob j2 = splice(j, j.len, "PK\3\4garbage", 11);
    struct blob p2 = splice(p, p.len, "garbage", 7);
    struct blob w2 = splice(w, w.len, "garbage!", 8);
    struct blob j3 = splice(j, j.len, "\0\0\0x", 4); /* padding, then data */
    assert_refused(j2, IMAGE_INVALID, "the JPEG has 11 unexpected bytes after its end", NULL);
    assert_refused(p2, IMAGE_INVALID, "the PNG has 7 unexpected bytes after its end", NULL);
    assert_refused(w2, IMAGE_INVALID, "the WebP has 8 unexpected bytes after its end", NULL);
    assert_refused(j3, IMAGE_INVALID, "the JPEG has 4 unexpected bytes", NULL);
    blob_free(&j);
    blob_free(&p);
    blob_free(&w);
    blob_free(&j2);
    blob_free(&p2);
    blob_free(&w2);
    blob_free(&j3);
}

Test(image, damaged_image_data_is_invalid)
{
    /* A flipped byte in the PNG's compressed data: its chunk's CRC no longer matches. */
    struct blob p = png(200, 120);
    p.data[p.len / 2] ^= 0x55;
    assert_refused(p, IMAGE_INVALID, "the PNG is damaged", NULL);
    blob_free(&p);

    /* A JPEG whose first marker after SOI is junk. */
    struct blob j = jpeg(200, 120);
    j.data[3] = 0x00;
    assert_refused(j, IMAGE_INVALID, "the JPEG is damaged", NULL);
    blob_free(&j);

    /* A WebP whose RIFF size is larger than the file. */
    struct blob w = webp(200, 120);
    w.data[4] += 2;
    assert_refused(w, IMAGE_INVALID, "the WebP is truncated", NULL);
    blob_free(&w);
}

Test(image, png_with_short_compressed_data_is_truncated)
{
    /* Half of the IDAT data, its CRC right, IEND after it: every chunk is whole, but the
     * picture is not (FFmpeg's decoder alone would show it with blank rows). */
    struct blob p = png(200, 120);
    size_t at = 33;
    while (memcmp(p.data + at + 4, "IDAT", 4) != 0)
        at += 12 + ((size_t)p.data[at] << 24 | (size_t)p.data[at + 1] << 16 | p.data[at + 2] << 8 | p.data[at + 3]);
    uint32_t n = (uint32_t)(p.data[at] << 24 | p.data[at + 1] << 16 | p.data[at + 2] << 8 | p.data[at + 3]);
    uint8_t *buf = malloc(at + n + 24);
    memcpy(buf, p.data, at);
    size_t len = at + png_chunk(buf + at, "IDAT", p.data + at + 8, n / 2);
    len += png_chunk(buf + len, "IEND", NULL, 0);
    struct blob cut = {buf, len};
    assert_refused(cut, IMAGE_INVALID, "the PNG is truncated (its image data holds", NULL);
    /* The same chunk with its data garbled (and its CRC made right again). */
    memcpy(buf, p.data, at);
    len = at + png_chunk(buf + at, "IDAT", (const uint8_t *)"\x78\xda\xff\xff\xff\xff\xff\xff", 8);
    len += png_chunk(buf + len, "IEND", NULL, 0);
    cut.len = len;
    assert_refused(cut, IMAGE_INVALID, "the PNG is damaged", NULL);
    blob_free(&cut);
    blob_free(&p);
}

Test(image, every_png_flavour_is_checked_and_decoded)
{
    static const struct {
        enum AVPixelFormat fmt;
        int flags;
    } cases[] = {
        {AV_PIX_FMT_RGB24, AV_CODEC_FLAG_INTERLACED_DCT}, /* Adam7 */
        {AV_PIX_FMT_PAL8, 0},
        {AV_PIX_FMT_MONOBLACK, 0},
        {AV_PIX_FMT_MONOBLACK, AV_CODEC_FLAG_INTERLACED_DCT},
        {AV_PIX_FMT_GRAY16BE, 0},
        {AV_PIX_FMT_RGBA64BE, AV_CODEC_FLAG_INTERLACED_DCT},
        {AV_PIX_FMT_YA8, 0},
    };
    AVFrame *rgb = quadrants(67, 71);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        AVFrame *in = to_format(rgb, cases[i].fmt);
        struct blob p = encode_flags("png", in, cases[i].fmt, NULL, NULL, cases[i].flags);
        assert_accepted(p, IMAGE_PNG, "image/png", "png", 67, 71);
        char msg[256];
        AVFrame *f = image_decode(p.data, p.len, 40, 30, IMAGE_FIT_COVER, AV_PIX_FMT_RGB24, msg, sizeof msg);
        cr_assert_not_null(f, "case %zu: %s", i, msg);
        const uint8_t *px = rgb_at(f, 38, 28); /* white in every flavour */
        cr_assert(px[0] > 200 && px[1] > 200 && px[2] > 200, "case %zu: %d,%d,%d", i, px[0], px[1], px[2]);
        av_frame_free(&f);
        av_frame_free(&in);
        blob_free(&p);
    }
    av_frame_free(&rgb);
}

/* ---- refused: out of bounds, from the header ---- */

Test(image, a_huge_png_header_is_refused_without_decoding)
{
    /* The signature and IHDR only: there is nothing to decode, so the refusal can only come
     * from the header, and it must name the size. */
    uint8_t head[64];
    struct blob b = {head, png_head(head, 50000, 50000)};
    cr_assert_eq(b.len, 33);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_refused(b, IMAGE_INVALID, "50000x50000", "at most 8192 on a side");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec), 50000000L);
}

Test(image, a_huge_jpeg_header_is_refused)
{
    static const uint8_t sof[] = {0xff, 0xd8, 0xff, 0xc0, 0, 17,   8, 0xc3, 0x50, 0x9c, 0x40,
                                  3,    1,    0x22, 0,    2, 0x11, 1, 3,    0x11, 1};
    struct blob b = {(uint8_t *)sof, sizeof sof};
    assert_refused(b, IMAGE_INVALID, "40000x50000", "at most 8192 on a side");
}

Test(image, a_decompression_bomb_is_refused_by_its_pixel_count)
{
    /* 8192 x 8192 (64 Mpx) declared in a file of a few KB: each side is allowed, the
     * area is not. */
    uint8_t *buf = calloc(1, 4096);
    size_t n = png_head(buf, 8192, 8192);
    uint8_t junk[3000] = {0x78, 0xda};
    n += png_chunk(buf + n, "IDAT", junk, sizeof junk);
    n += png_chunk(buf + n, "IEND", NULL, 0);
    struct blob b = {buf, n};
    assert_refused(b, IMAGE_INVALID, "8192x8192 pixels (64.0 megapixels)", "at most 40 megapixels");
    blob_free(&b);
}

Test(image, tiny_images_are_refused)
{
    struct blob p = png(16, 16), j = jpeg(640, 40);
    assert_refused(p, IMAGE_INVALID, "the image is 16x16 pixels", "at least 64 on a side");
    assert_refused(j, IMAGE_INVALID, "the image is 640x40 pixels", "at least 64 on a side");
    blob_free(&p);
    blob_free(&j);
}

/* ---- image_decode ---- */

Test(image, contain_letterboxes_with_black)
{
    struct blob p = png(320, 200); /* 16:10 into a square: 200x125, bars of 37 and 38 rows */
    char msg[256];
    AVFrame *f = image_decode(p.data, p.len, 200, 200, IMAGE_FIT_CONTAIN, AV_PIX_FMT_RGB24, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    cr_assert_eq(f->width, 200);
    cr_assert_eq(f->height, 200);
    assert_rgb(f, 100, 0, 0, 0, 0);
    assert_rgb(f, 100, 35, 0, 0, 0);
    assert_rgb(f, 100, 165, 0, 0, 0);
    assert_rgb(f, 100, 199, 0, 0, 0);
    assert_rgb(f, 2, 40, 255, 0, 0);
    assert_rgb(f, 197, 40, 0, 255, 0);
    assert_rgb(f, 2, 159, 0, 0, 255);
    assert_rgb(f, 197, 159, 255, 255, 255);
    av_frame_free(&f);
    blob_free(&p);
}

Test(image, cover_fills_the_frame_cropping_the_middle)
{
    struct blob p = png(320, 200);
    char msg[256];
    AVFrame *f = image_decode(p.data, p.len, 200, 200, IMAGE_FIT_COVER, AV_PIX_FMT_RGB24, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    cr_assert_eq(f->width, 200);
    cr_assert_eq(f->height, 200);
    assert_rgb(f, 0, 0, 255, 0, 0);
    assert_rgb(f, 199, 0, 0, 255, 0);
    assert_rgb(f, 0, 199, 0, 0, 255);
    assert_rgb(f, 199, 199, 255, 255, 255);
    /* The middle 200 of 320 columns: the colour changes in the middle of the frame. */
    assert_rgb(f, 96, 50, 255, 0, 0);
    assert_rgb(f, 104, 50, 0, 255, 0);
    av_frame_free(&f);
    blob_free(&p);
}

Test(image, yuv420p_output_has_video_black_bars)
{
    struct blob w = webp(128, 128);
    char msg[256];
    AVFrame *f = image_decode(w.data, w.len, 320, 180, IMAGE_FIT_CONTAIN, AV_PIX_FMT_YUV420P, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    cr_assert_eq(f->format, AV_PIX_FMT_YUV420P);
    cr_assert_eq(f->width, 320);
    cr_assert_eq(f->height, 180);
    cr_assert_eq(f->color_range, AVCOL_RANGE_MPEG);
    /* Bars left and right of a 180x180 picture: limited-range black. */
    cr_assert_eq(f->data[0][90 * f->linesize[0] + 10], 16);
    cr_assert_eq(f->data[1][45 * f->linesize[1] + 5], 128);
    cr_assert_eq(f->data[2][45 * f->linesize[2] + 5], 128);
    /* White bottom right of the picture: Y near 235. */
    cr_assert_geq(f->data[0][170 * f->linesize[0] + 240], 220);
    av_frame_free(&f);

    f = image_decode(w.data, w.len, 320, 180, IMAGE_FIT_COVER, AV_PIX_FMT_YUV420P, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    cr_assert_gt(f->data[0][90 * f->linesize[0] + 10], 40, "no bars when covering");
    av_frame_free(&f);
    blob_free(&w);
}

Test(image, transparency_becomes_black)
{
    AVFrame *rgb = quadrants(100, 100), *rgba = to_format(rgb, AV_PIX_FMT_RGBA);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 100; x++)
            rgba->data[0][y * rgba->linesize[0] + x * 4 + 3] = x < 50 ? 0 : 255;
    struct blob p = encode("png", rgba, AV_PIX_FMT_RGBA, NULL, NULL);
    char msg[256];
    AVFrame *f = image_decode(p.data, p.len, 100, 100, IMAGE_FIT_COVER, AV_PIX_FMT_RGB24, msg, sizeof msg);
    cr_assert_not_null(f, "%s", msg);
    assert_rgb(f, 10, 10, 0, 0, 0);
    assert_rgb(f, 90, 90, 255, 255, 255);
    av_frame_free(&f);
    av_frame_free(&rgb);
    av_frame_free(&rgba);
    blob_free(&p);
}

Test(image, decode_refuses_what_check_refuses)
{
    struct blob j = jpeg(200, 120);
    j.len -= 2;
    char msg[256] = "";
    cr_assert_null(image_decode(j.data, j.len, 64, 64, IMAGE_FIT_COVER, AV_PIX_FMT_YUV420P, msg, sizeof msg));
    cr_assert(strstr(msg, "truncated"), "%s", msg);
    j.len += 2;
    cr_assert_null(image_decode(j.data, j.len, 0, 64, IMAGE_FIT_COVER, AV_PIX_FMT_YUV420P, msg, sizeof msg));
    blob_free(&j);
}
