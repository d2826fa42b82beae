/* The local preview renderer: turns a prompt into a short animated H.264 MP4 without any
 * AI model (the built-in `local` provider). Each call is self-contained and thread-safe. */
#ifndef VIDGEN_MEDIA_RENDER_H
#define VIDGEN_MEDIA_RENDER_H

#include <stddef.h>

struct render_params {
    const char *prompt; /* picks the picture; the same prompt gives the same video */
    int width, height;  /* even, 16..7680 (see media_dimensions()) */
    int seconds;        /* 1..600 */
    int fps;            /* 1..120; 0 means 24 */
    /* Image files (checked uploads) the picture is made from instead of the prompt
     * (media/slides.h): a start image, and an end image only with one. NULL: none. */
    const char *start_image, *end_image;
};

/* Called with 0..100 as frames are encoded (at most about once per percent, always with 0
 * first and 100 last, never decreasing). Return non-zero to cancel; that is honoured on any
 * call, including the final 100. */
typedef int (*render_progress_fn)(void *arg, int percent);

/* Writes exactly seconds*fps frames as H.264 (libx264, preset veryfast, yuv420p, BT.709,
 * a keyframe every 2 s) in an MP4 with the index at the front (+faststart) so browsers
 * can seek and stream it, to out_path (created or replaced). `p`, its prompt and out_path
 * are borrowed for the call; `progress` may be NULL; `arg` is passed to it untouched.
 * Returns 0 on success, 1 if the callback cancelled (out_path removed), or -1 on error
 * with a readable message in err (errlen bytes, owned by the caller; out_path removed). */
int media_render(const struct render_params *p, const char *out_path, render_progress_fn progress, void *arg, char *err,
                 size_t errlen);

/* About how many bytes one media_render of width x height holds at its peak, on a machine
 * where x264 sees `cores` cores: x264 keeps frames in flight per thread and picks its
 * threads from the cores. From peak RSS measured with `vidgen render` (the process alone
 * is 30 MB): 720p 139 MB, 1080p 268 MB, 4K 858 MB on 2 cores; 4K 602 MB on 1 core. */
size_t media_render_memory(int width, int height, int cores);

#endif
