/* The media layer as a user meets it: rendered clips play as the H.264 they claim to be,
 * prompts look different, progress and cancel behave, bad files are refused, thumbnails
 * come out as JPEGs of the right size. Pixels are checked with libav* directly, not
 * through the code under test. */
#include <criterion/criterion.h>

#include "media/clip.h"
#include "media/dimensions.h"
#include "media/probe.h"
#include "media/render.h"
#include "media/thumbnail.h"

#include <dirent.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
    av_log_set_level(AV_LOG_QUIET); /* the refused files make FFmpeg chatty */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vidgen-media-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    while (dir && (e = readdir(dir))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    }
    if (dir)
        closedir(dir);
    rmdir(tmpdir);
}

TestSuite(media, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static const char *tmp(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    return p;
}

static void render_ok(const char *prompt, int w, int h, int seconds, const char *path)
{
    struct render_params p = {.prompt = prompt, .width = w, .height = h, .seconds = seconds};
    char err[256] = "";
    int rc = media_render(&p, path, NULL, NULL, err, sizeof err);
    cr_assert_eq(rc, 0, "render %dx%d %ds failed: %s", w, h, seconds, err);
}

/* Whether two files hold the same bytes. */
static bool same_bytes(const char *x, const char *y)
{
    FILE *f = fopen(x, "rb"), *g = fopen(y, "rb");
    cr_assert(f != NULL && g != NULL, "cannot open %s or %s", x, y);
    int c, d;
    do {
        c = fgetc(f), d = fgetc(g);
    } while (c == d && c != EOF);
    fclose(f), fclose(g);
    return c == d;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void *read_bytes(const char *path, size_t *n)
{
    long size = file_size(path);
    cr_assert_gt(size, 0, "%s missing or empty", path);
    void *buf = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    cr_assert(f && buf);
    cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

/* A decoded picture, planes packed one after another (caller frees .data). */
struct picture {
    int width, height, format;
    uint8_t *data;
    size_t size;
};

static struct picture copy_picture(const AVFrame *f)
{
    int size = av_image_get_buffer_size(f->format, f->width, f->height, 1);
    struct picture pic = {f->width, f->height, f->format, malloc((size_t)size), (size_t)size};
    cr_assert_not_null(pic.data);
    av_image_copy_to_buffer(pic.data, size, (const uint8_t *const *)f->data, f->linesize, f->format, f->width,
                            f->height, 1);
    return pic;
}

/* Decodes the first video stream of path with libav* directly, keeping frames number
 * from..from+count-1 in out[] (count may be 0). Returns how many frames decoded in all. */
static int decode_frames(const char *path, int from, int count, struct picture *out)
{
    AVFormatContext *ic = NULL;
    cr_assert_eq(avformat_open_input(&ic, path, NULL, NULL), 0, "cannot open %s", path);
    cr_assert_geq(avformat_find_stream_info(ic, NULL), 0);
    const AVCodec *codec;
    int s = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    cr_assert_geq(s, 0, "%s has no video stream", path);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, ic->streams[s]->codecpar);
    dec->thread_count = 1;
    cr_assert_eq(avcodec_open2(dec, codec, NULL), 0);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int n = 0, eof = 0;
    for (;;) {
        int rc = avcodec_receive_frame(dec, frame);
        if (rc == 0) {
            if (n >= from && n < from + count)
                out[n - from] = copy_picture(frame);
            n++;
        } else if (rc == AVERROR_EOF || eof) {
            break;
        } else if (av_read_frame(ic, pkt) < 0) {
            eof = 1;
            avcodec_send_packet(dec, NULL);
        } else {
            if (pkt->stream_index == s)
                avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
    cr_assert_geq(n, from + count, "%s: only %d frames", path, n);
    return n;
}

static struct picture decode_frame(const char *path, int index)
{
    struct picture pic;
    decode_frames(path, index, 1, &pic);
    return pic;
}

/* Mean absolute difference per byte of two pictures of the same size and format. */
static double picture_diff(const struct picture *a, const struct picture *b)
{
    cr_assert_eq(a->size, b->size);
    double sum = 0;
    for (size_t i = 0; i < a->size; i++)
        sum += abs((int)a->data[i] - (int)b->data[i]);
    return sum / (double)a->size;
}

/* ---- media_dimensions ---- */

Test(media, dimensions_every_resolution_and_aspect)
{
    static const struct {
        const char *res, *aspect;
        int w, h;
    } cases[] = {
        {"720p", "16:9", 1280, 720},   {"720p", "9:16", 720, 1280},   {"720p", "1:1", 720, 720},
        {"720p", "4:3", 960, 720},     {"720p", "9:21", 720, 1680},   {"720p", "21:9", 1680, 720},
        {"1080p", "16:9", 1920, 1080}, {"1080p", "9:16", 1080, 1920}, {"1080p", "1:1", 1080, 1080},
        {"1080p", "4:3", 1440, 1080},  {"1080p", "3:4", 1080, 1440},  {"1080p", "9:21", 1080, 2520},
        {"4K", "16:9", 3840, 2160},    {"4K", "9:16", 2160, 3840},    {"4K", "1:1", 2160, 2160},
        {"4K", "4:3", 2880, 2160},     {"4K", "9:21", 2160, 5040},    {"4k", "16:9", 3840, 2160},
        {"720p", "2:1", 1440, 720},    {"720p", "5:4", 900, 720},     {"1080p", "5:4", 1350, 1080},
        {"720p", "7:5", 1008, 720}, /* 1008 = 720 * 1.4 */
        {"1080p", "7:3", 2520, 1080},  {"720p", "16:10", 1152, 720},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = 0, h = 0;
        cr_assert_eq(media_dimensions(cases[i].res, cases[i].aspect, &w, &h), 0, "%s %s", cases[i].res,
                     cases[i].aspect);
        cr_expect(w == cases[i].w && h == cases[i].h, "%s %s: got %dx%d, want %dx%d", cases[i].res, cases[i].aspect, w,
                  h, cases[i].w, cases[i].h);
        cr_expect(w % 2 == 0 && h % 2 == 0);
    }
}

Test(media, dimensions_round_odd_ratios_to_even)
{
    int w, h;
    cr_assert_eq(media_dimensions("1080p", "7:5", &w, &h), 0); /* 1512 exactly */
    cr_expect(w == 1512 && h == 1080);
    cr_assert_eq(media_dimensions("720p", "3:2", &w, &h), 0);
    cr_expect(w == 1080 && h == 720);
    cr_assert_eq(media_dimensions("720p", "11:10", &w, &h), 0); /* 792 */
    cr_expect(w == 792 && h == 720);
    cr_assert_eq(media_dimensions("720p", "13:9", &w, &h), 0); /* 1040 */
    cr_expect(w == 1040 && h == 720);
    cr_assert_eq(media_dimensions("1080p", "17:9", &w, &h), 0); /* 2040 */
    cr_expect(w == 2040 && h == 1080);
    cr_assert_eq(media_dimensions("720p", "10:7", &w, &h), 0); /* 1028.57 -> 1028 */
    cr_expect(w == 1028 && h == 720, "got %dx%d", w, h);
}

Test(media, dimensions_refuse_bad_input)
{
    static const char *bad[][2] = {
        {"8K", "16:9"},  {"720", "16:9"}, {"", "16:9"},      {"720p", ""},        {"720p", "16x9"},  {"720p", "16:"},
        {":9", "720p"},  {"720p", ":9"},  {"720p", "0:9"},   {"720p", "16:0"},    {"720p", "-16:9"}, {"720p", "16:9 "},
        {"720p", "1:5"}, {"720p", "5:1"}, {"720p", "1.5:1"}, {"720p", "99999:1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int w = -7, h = -7;
        cr_expect_eq(media_dimensions(bad[i][0], bad[i][1], &w, &h), -1, "'%s' '%s' accepted", bad[i][0], bad[i][1]);
        cr_expect(w == -7 && h == -7, "outputs touched on failure");
    }
    int w, h;
    cr_expect_eq(media_dimensions(NULL, "16:9", &w, &h), -1);
    cr_expect_eq(media_dimensions("720p", NULL, &w, &h), -1);
}

/* ---- media_render ---- */

/* The top-level MP4 boxes in order; "moov" before "mdat" is what lets a browser play
 * while downloading. Returns the position of `name` among them, or -1. */
static int box_order(const char *path, const char *name)
{
    size_t n;
    uint8_t *b = read_bytes(path, &n);
    int pos = -1, i = 0;
    for (size_t off = 0; off + 8 <= n; i++) {
        uint64_t size = (uint64_t)b[off] << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3];
        if (!memcmp(b + off + 4, name, 4)) {
            pos = i;
            break;
        }
        if (size == 1 && off + 16 <= n) /* 64-bit size */
            size = (uint64_t)b[off + 8] << 56 | (uint64_t)b[off + 9] << 48 | (uint64_t)b[off + 10] << 40 |
                   (uint64_t)b[off + 11] << 32 | (uint64_t)b[off + 12] << 24 | b[off + 13] << 16 | b[off + 14] << 8 |
                   b[off + 15];
        if (size < 8)
            break;
        off += size;
    }
    free(b);
    return pos;
}

Test(media, render_probes_as_h264_of_the_asked_size_and_length)
{
    const char *out = tmp("small.mp4");
    render_ok("a lighthouse in a storm", 320, 180, 2, out);

    struct media_info info;
    char err[256] = "";
    cr_assert_eq(media_probe(out, &info, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(info.codec, "h264");
    cr_expect_eq(info.width, 320);
    cr_expect_eq(info.height, 180);
    cr_expect(info.seconds > 1.9 && info.seconds < 2.1, "seconds %f", info.seconds);
    cr_expect(info.fps > 23.9 && info.fps < 24.1, "fps %f", info.fps);

    int frames = decode_frames(out, 0, 0, NULL);
    cr_expect_eq(frames, 48, "exactly seconds*fps frames, got %d", frames);
    struct picture first = decode_frame(out, 0);
    cr_expect_eq(first.format, AV_PIX_FMT_YUV420P);
    free(first.data);

    int moov = box_order(out, "moov"), mdat = box_order(out, "mdat");
    cr_expect(moov >= 0 && mdat >= 0 && moov < mdat, "index not in front (+faststart)");
}

Test(media, render_720p_full_size)
{
    int w, h;
    cr_assert_eq(media_dimensions("720p", "16:9", &w, &h), 0);
    const char *out = tmp("hd.mp4");
    render_ok("sunrise over mountains", w, h, 1, out);
    struct media_info info;
    char err[256] = "";
    cr_assert_eq(media_probe(out, &info, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(info.codec, "h264");
    cr_expect(info.width == 1280 && info.height == 720, "%dx%d", info.width, info.height);
    cr_expect(info.seconds > 0.9 && info.seconds < 1.1, "seconds %f", info.seconds);
}

Test(media, render_other_frame_rate_and_portrait)
{
    struct render_params p = {.prompt = "rain", .width = 180, .height = 320, .seconds = 1, .fps = 30};
    char err[256] = "";
    const char *out = tmp("portrait.mp4");
    cr_assert_eq(media_render(&p, out, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_expect_eq(decode_frames(out, 0, 0, NULL), 30);
    struct picture first = decode_frame(out, 0);
    cr_expect(first.width == 180 && first.height == 320);
    free(first.data);
}

Test(media, prompts_look_different_and_the_same_prompt_repeats)
{
    const char *a = tmp("a.mp4"), *b = tmp("b.mp4"), *a2 = tmp("a2.mp4");
    /* Every block malloc hands out is filled, with another byte for the second render of a
     * prompt, as memory a long-running server reuses holds whatever was there: a render must
     * not depend on bytes nobody wrote. */
    mallopt(M_PERTURB, 0xa5);
    render_ok("a cat walking on the moon", 320, 180, 1, a);
    render_ok("a red fox running through snow", 320, 180, 1, b);
    mallopt(M_PERTURB, 0x3c);
    render_ok("a cat walking on the moon", 320, 180, 1, a2);
    mallopt(M_PERTURB, 0);

    struct picture fa = decode_frame(a, 12), fb = decode_frame(b, 12), fa2 = decode_frame(a2, 12);
    double diff = picture_diff(&fa, &fb);
    cr_expect_gt(diff, 8.0, "two prompts give nearly the same picture (diff %.2f)", diff);
    cr_expect_eq(picture_diff(&fa, &fa2), 0.0, "the same prompt gave a different picture");
    cr_expect(same_bytes(a, a2), "the same prompt gave a different file");

    free(fa.data), free(fb.data), free(fa2.data);
}

/* Share of luma pixels that changed by more than 10 levels between two frames. */
static double changed_share(const struct picture *x, const struct picture *y)
{
    size_t luma = (size_t)x->width * x->height, changed = 0;
    for (size_t i = 0; i < luma; i++)
        changed += abs((int)x->data[i] - (int)y->data[i]) > 10;
    return (double)changed / (double)luma;
}

Test(media, the_picture_moves)
{
    static const char *prompts[] = {"a cat walking on the moon", "a red fox running through snow", "x",
                                    "ocean waves at dusk, cinematic, 35mm"};
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
        const char *out = tmp("moves.mp4");
        render_ok(prompts[i], 320, 180, 1, out);
        struct picture f[24];
        decode_frames(out, 0, 24, f);
        double share = changed_share(&f[0], &f[23]), step = 1;
        for (int k = 0; k + 3 < 24; k += 3) /* something moves in every eighth of a second */
            step = fmin(step, changed_share(&f[k], &f[k + 3]));
        cr_log_info("'%s': %.1f %% of pixels changed over 1 s, at least %.1f %% per 1/8 s", prompts[i], 100 * share,
                    100 * step);
        cr_expect_gt(share, 0.05, "'%s': only %.1f %% of the picture changed in 1 s", prompts[i], 100 * share);
        cr_expect_gt(step, 0.005, "'%s': the picture stalls (%.2f %% changed in 1/8 s)", prompts[i], 100 * step);
        for (int k = 0; k < 24; k++)
            free(f[k].data);
    }
}

struct progress_log {
    int calls, values[256];
    int cancel_at; /* return non-zero once percent >= this; -1 never */
};

static int record_progress(void *arg, int percent)
{
    struct progress_log *log = arg;
    if (log->calls < 256)
        log->values[log->calls++] = percent;
    return log->cancel_at >= 0 && percent >= log->cancel_at;
}

Test(media, progress_runs_from_0_to_100_without_going_back)
{
    struct progress_log log = {.cancel_at = -1};
    struct render_params p = {.prompt = "waves", .width = 160, .height = 90, .seconds = 3};
    char err[256] = "";
    cr_assert_eq(media_render(&p, tmp("p.mp4"), record_progress, &log, err, sizeof err), 0, "%s", err);
    cr_assert_geq(log.calls, 2);
    cr_expect_eq(log.values[0], 0);
    cr_expect_eq(log.values[log.calls - 1], 100);
    cr_expect_leq(log.calls, 101, "more than one call per percent");
    for (int i = 1; i < log.calls; i++)
        cr_expect_gt(log.values[i], log.values[i - 1], "progress went %d -> %d", log.values[i - 1], log.values[i]);
}

Test(media, cancel_midway_returns_1_and_leaves_no_file)
{
    struct progress_log log = {.cancel_at = 30};
    struct render_params p = {.prompt = "waves", .width = 160, .height = 90, .seconds = 3};
    char err[256] = "";
    const char *out = tmp("cancelled.mp4");
    cr_expect_eq(media_render(&p, out, record_progress, &log, err, sizeof err), 1);
    cr_expect_eq(file_size(out), -1, "cancelled render left %s behind", out);
    cr_expect_lt(log.values[log.calls - 1], 100);
}

Test(media, cancel_at_start_returns_1_and_leaves_no_file)
{
    struct progress_log log = {.cancel_at = 0};
    struct render_params p = {.prompt = "waves", .width = 160, .height = 90, .seconds = 3};
    char err[256] = "";
    const char *out = tmp("cancelled0.mp4");
    cr_expect_eq(media_render(&p, out, record_progress, &log, err, sizeof err), 1);
    cr_expect_eq(file_size(out), -1);
    cr_expect_eq(log.calls, 1);
}

Test(media, render_refuses_bad_parameters_with_a_message)
{
    static const struct render_params bad[] = {
        {"x", 321, 180, 1, 0},  {"x", 320, 181, 1, 0},   {"x", 0, 180, 1, 0},    {"x", 320, 180, 0, 0},
        {"x", 320, 180, 1, -1}, {"x", 320, 180, 601, 0}, {"x", 8000, 180, 1, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        const char *out = tmp("bad.mp4");
        cr_expect_eq(media_render(&bad[i], out, NULL, NULL, err, sizeof err), -1, "case %zu", i);
        cr_expect_neq(err[0], '\0', "case %zu: no message", i);
        cr_expect_eq(file_size(out), -1);
    }
    char err[256] = "";
    struct render_params ok = {"x", 320, 180, 1, 0};
    cr_expect_eq(media_render(&ok, "/nonexistent-dir/x.mp4", NULL, NULL, err, sizeof err), -1);
    cr_expect(strstr(err, "/nonexistent-dir/x.mp4") != NULL, "message: %s", err);
}

static void *render_thread(void *arg)
{
    const char *out = arg;
    struct render_params p = {.prompt = out, .width = 320, .height = 180, .seconds = 1};
    char err[256];
    return (void *)(intptr_t)media_render(&p, out, NULL, NULL, err, sizeof err);
}

Test(media, renders_run_side_by_side_on_threads)
{
    const char *outs[3] = {tmp("t0.mp4"), tmp("t1.mp4"), tmp("t2.mp4")};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, render_thread, (void *)outs[i]), 0);
    for (int i = 0; i < 3; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_expect_eq((intptr_t)rc, 0, "thread %d failed", i);
        struct media_info info;
        char err[256] = "";
        cr_expect_eq(media_probe(outs[i], &info, err, sizeof err), 0, "%s: %s", outs[i], err);
    }
}

/* ---- media_probe ---- */

static void probe_refuses(const char *path, const char *why)
{
    struct media_info info;
    char err[256] = "";
    cr_expect_eq(media_probe(path, &info, err, sizeof err), -1, "%s accepted", path);
    cr_expect(strstr(err, why) != NULL, "message '%s' does not say '%s'", err, why);
}

Test(media, probe_refuses_garbage)
{
    uint8_t junk[65536];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)((x = x * 1103515245 + 12345) >> 16);
    write_bytes(tmp("junk.mp4"), junk, sizeof junk);
    probe_refuses(tmp("junk.mp4"), "not a video");
}

Test(media, probe_refuses_an_empty_and_a_missing_file)
{
    write_bytes(tmp("empty.mp4"), "", 0);
    probe_refuses(tmp("empty.mp4"), "empty");
    probe_refuses(tmp("missing.mp4"), "No such file");
}

Test(media, probe_refuses_a_truncated_mp4)
{
    const char *full = tmp("full.mp4"), *half = tmp("half.mp4");
    render_ok("a truncated download", 320, 180, 2, full);
    size_t n;
    void *bytes = read_bytes(full, &n);
    write_bytes(half, bytes, n / 2);
    free(bytes);
    probe_refuses(half, "truncated");

    /* Cut inside the index itself, which +faststart puts in front. */
    bytes = read_bytes(full, &n);
    write_bytes(half, bytes, 600);
    free(bytes);
    probe_refuses(half, "not a video");
}

Test(media, probe_refuses_a_still_image)
{
    const char *clip = tmp("clip.mp4"), *jpg = tmp("still.jpg");
    render_ok("a still life", 320, 180, 1, clip);
    char err[256] = "";
    cr_assert_eq(media_thumbnail(clip, jpg, 320, err, sizeof err), 0, "%s", err);
    probe_refuses(jpg, "still image");
}

/* A WAV file: 1 s of a 440 Hz tone at 8 kHz, 16 bit mono. */
static void write_wav(const char *path)
{
    enum { RATE = 8000, N = RATE };
    static uint8_t buf[44 + 2 * N];
    uint32_t data = 2 * N;
    memcpy(buf, "RIFF", 4);
    uint32_t riff = 36 + data, fmt_len = 16, rate = RATE, byte_rate = RATE * 2;
    uint16_t pcm = 1, channels = 1, align = 2, bits = 16;
    memcpy(buf + 4, &riff, 4);
    memcpy(buf + 8, "WAVEfmt ", 8);
    memcpy(buf + 16, &fmt_len, 4);
    memcpy(buf + 20, &pcm, 2);
    memcpy(buf + 22, &channels, 2);
    memcpy(buf + 24, &rate, 4);
    memcpy(buf + 28, &byte_rate, 4);
    memcpy(buf + 32, &align, 2);
    memcpy(buf + 34, &bits, 2);
    memcpy(buf + 36, "data", 4);
    memcpy(buf + 40, &data, 4);
    for (int i = 0; i < N; i++) {
        int16_t v = (int16_t)((i / 9) % 2 ? 8000 : -8000);
        memcpy(buf + 44 + 2 * i, &v, 2);
    }
    write_bytes(path, buf, sizeof buf);
}

Test(media, probe_refuses_audio_only)
{
    write_wav(tmp("tone.wav"));
    probe_refuses(tmp("tone.wav"), "no video stream");
}

Test(media, probe_and_thumbnail_refuse_playlists_pointing_elsewhere)
{
    /* An HLS or concat playlist saved as .mp4 would make FFmpeg read other files. */
    const char *clip = tmp("clip.mp4"), *hls = tmp("hls.mp4"), *cat = tmp("concat.mp4");
    render_ok("a secret", 320, 180, 1, clip);
    char text[1024];
    int n =
        snprintf(text, sizeof text, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://%s\n#EXT-X-ENDLIST\n", clip);
    write_bytes(hls, text, (size_t)n);
    n = snprintf(text, sizeof text, "ffconcat version 1.0\nfile %s\n", clip);
    write_bytes(cat, text, (size_t)n);
    probe_refuses(hls, "not a video");
    probe_refuses(cat, "not a video");
    char err[256];
    cr_expect_eq(media_thumbnail(hls, tmp("hls.jpg"), 160, err, sizeof err), -1);
    cr_expect_eq(media_thumbnail(cat, tmp("cat.jpg"), 160, err, sizeof err), -1);
}

/* Copies the video of an MP4 into MPEG-TS, a container without an index to seek by. */
static void remux_to_ts(const char *in, const char *out)
{
    AVFormatContext *ic = NULL, *oc = NULL;
    cr_assert_eq(avformat_open_input(&ic, in, NULL, NULL), 0);
    cr_assert_geq(avformat_find_stream_info(ic, NULL), 0);
    cr_assert_geq(avformat_alloc_output_context2(&oc, NULL, "mpegts", out), 0);
    AVStream *st = avformat_new_stream(oc, NULL);
    avcodec_parameters_copy(st->codecpar, ic->streams[0]->codecpar);
    st->codecpar->codec_tag = 0;
    cr_assert_geq(avio_open(&oc->pb, out, AVIO_FLAG_WRITE), 0);
    cr_assert_geq(avformat_write_header(oc, NULL), 0);
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(ic, pkt) >= 0) {
        av_packet_rescale_ts(pkt, ic->streams[0]->time_base, st->time_base);
        pkt->stream_index = 0;
        cr_assert_geq(av_interleaved_write_frame(oc, pkt), 0);
    }
    av_write_trailer(oc);
    av_packet_free(&pkt);
    avio_closep(&oc->pb);
    avformat_free_context(oc);
    avformat_close_input(&ic);
}

/* ---- media_thumbnail ---- */

static struct picture thumbnail_ok(const char *video, int max_width)
{
    const char *jpg = tmp("thumb.jpg");
    char err[256] = "";
    cr_assert_eq(media_thumbnail(video, jpg, max_width, err, sizeof err), 0, "%s", err);
    size_t n;
    uint8_t *b = read_bytes(jpg, &n);
    cr_expect(n > 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF, "no JPEG start marker");
    cr_expect(b[n - 2] == 0xFF && b[n - 1] == 0xD9, "no JPEG end marker");
    free(b);
    struct picture pic = decode_frame(jpg, 0);
    cr_expect(pic.format == AV_PIX_FMT_YUVJ420P || pic.format == AV_PIX_FMT_YUV420P);
    return pic;
}

static void expect_thumbnail_size(const char *video, int max_width, int w, int h)
{
    struct picture pic = thumbnail_ok(video, max_width);
    cr_expect(pic.width == w && pic.height == h, "max %d: got %dx%d, want %dx%d", max_width, pic.width, pic.height, w,
              h);
    free(pic.data);
}

Test(media, thumbnail_is_a_jpeg_of_the_right_size_and_aspect)
{
    const char *wide = tmp("wide.mp4"), *tall = tmp("tall.mp4");
    render_ok("city lights at night", 640, 360, 2, wide);
    render_ok("a waterfall", 180, 320, 2, tall);
    expect_thumbnail_size(wide, 480, 480, 270);
    expect_thumbnail_size(wide, 160, 160, 90);
    expect_thumbnail_size(wide, 101, 100, 56);   /* even sides, aspect kept */
    expect_thumbnail_size(wide, 1920, 640, 360); /* never enlarged */
    expect_thumbnail_size(tall, 480, 180, 320);
    expect_thumbnail_size(tall, 90, 90, 160);
}

/* Which frame of `video` the thumbnail shows: the closest in luma, taken at full size. */
static int thumbnail_frame(const char *video, int nframes)
{
    struct picture thumb = thumbnail_ok(video, 4096);
    struct picture *frames = calloc((size_t)nframes, sizeof *frames);
    decode_frames(video, 0, nframes, frames);
    int best = -1;
    double best_diff = 1e9;
    size_t luma = (size_t)thumb.width * thumb.height;
    for (int i = 0; i < nframes; i++) {
        cr_assert_eq(frames[i].width * frames[i].height, (int)luma);
        double sum = 0;
        for (size_t p = 0; p < luma; p++) /* video luma is 16..235, JPEG's 0..255 */
            sum += fabs((frames[i].data[p] - 16) * 255.0 / 219 - thumb.data[p]);
        if (sum / luma < best_diff)
            best_diff = sum / luma, best = i;
        free(frames[i].data);
    }
    free(frames);
    free(thumb.data);
    return best;
}

Test(media, thumbnail_shows_the_frame_at_one_second)
{
    const char *clip = tmp("clip.mp4");
    render_ok("a kite over the beach", 320, 180, 3, clip);
    int at = thumbnail_frame(clip, 72);
    cr_expect(at == 24, "thumbnail shows frame %d, not the one at 1 s (24)", at);
}

Test(media, thumbnail_of_a_short_clip_is_taken_at_a_tenth)
{
    const char *clip = tmp("short.mp4");
    render_ok("a kite over the beach", 320, 180, 1, clip);
    int at = thumbnail_frame(clip, 24);
    cr_expect(at == 3, "thumbnail shows frame %d, not the first at 0.1 s (3)", at);
}

Test(media, thumbnail_of_an_unindexed_stream_is_still_taken_at_one_second)
{
    const char *clip = tmp("clip.mp4"), *ts = tmp("clip.ts");
    render_ok("a kite over the beach", 320, 180, 3, clip);
    remux_to_ts(clip, ts);
    int at = thumbnail_frame(ts, 72);
    cr_expect(at == 24, "thumbnail shows frame %d, not the one at 1 s (24)", at);
}

Test(media, thumbnail_of_a_non_video_fails_and_writes_nothing)
{
    write_bytes(tmp("junk.mp4"), "definitely not a video", 22);
    const char *jpg = tmp("none.jpg");
    char err[256] = "";
    cr_expect_eq(media_thumbnail(tmp("junk.mp4"), jpg, 480, err, sizeof err), -1);
    cr_expect_neq(err[0], '\0');
    cr_expect_eq(file_size(jpg), -1);
    write_wav(tmp("tone.wav"));
    cr_expect_eq(media_thumbnail(tmp("tone.wav"), jpg, 480, err, sizeof err), -1);
    cr_expect(strstr(err, "no video stream") != NULL, "%s", err);
    cr_expect_eq(file_size(jpg), -1);
}

/* ---- media_clip: the probe and the thumbnail through one open ---- */

/* The clip's probe and thumbnail are media_probe's and media_thumbnail's, byte for byte. */
static void expect_clip_as_probe_and_thumbnail(const char *name)
{
    char video[512];
    snprintf(video, sizeof video, "%s", tmp(name)); /* tmp's buffers are reused below */
    struct media_info apart, together;
    struct media_clip *clip = NULL;
    char err[256] = "";
    cr_assert_eq(media_probe(video, &apart, err, sizeof err), 0, "%s", err);
    cr_assert_eq(media_thumbnail(video, tmp("apart.jpg"), 160, err, sizeof err), 0, "%s", err);
    cr_assert_eq(media_clip_open(&clip, video, &together, err, sizeof err), 0, "%s", err);
    cr_assert_eq(media_clip_thumbnail(clip, tmp("together.jpg"), 160, err, sizeof err), 0, "%s", err);
    media_clip_close(clip);
    cr_expect_str_eq(together.codec, apart.codec);
    cr_expect(together.width == apart.width && together.height == apart.height);
    cr_expect(together.seconds == apart.seconds && together.fps == apart.fps);
    size_t n1, n2;
    uint8_t *a = read_bytes(tmp("apart.jpg"), &n1), *b = read_bytes(tmp("together.jpg"), &n2);
    cr_expect(n1 == n2 && memcmp(a, b, n1) == 0, "%s: the thumbnails differ", video);
    free(a);
    free(b);
}

Test(media, clip_probes_and_thumbnails_as_the_two_calls_do)
{
    render_ok("a kite over the beach", 320, 180, 3, tmp("clip.mp4"));
    render_ok("a kite over the beach", 320, 180, 1, tmp("short.mp4"));
    remux_to_ts(tmp("clip.mp4"), tmp("clip.ts"));
    expect_clip_as_probe_and_thumbnail("clip.mp4");
    expect_clip_as_probe_and_thumbnail("short.mp4");
    expect_clip_as_probe_and_thumbnail("clip.ts");
}

Test(media, clip_of_a_non_video_fails_like_the_probe)
{
    struct media_clip *clip = (struct media_clip *)1;
    struct media_info info;
    char err[256] = "";
    write_bytes(tmp("junk.mp4"), "definitely not a video", 22);
    cr_expect_eq(media_clip_open(&clip, tmp("junk.mp4"), &info, err, sizeof err), -1);
    cr_expect_null(clip);
    cr_expect_neq(err[0], '\0');
}
