/* The local provider: renders on this machine with FFmpeg's libraries. Runs on a pool
 * thread; writes to temporary names and renames into place, so a crash never leaves a
 * half-written video under the name the API serves. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/upload.h"
#include "media/clip.h"
#include "media/dimensions.h"
#include "media/render.h"
#include "worker/job.h"
#include "worker/tmpfiles.h"

#define THUMBNAIL_WIDTH 480
#define RENDER_FPS 24

/* Render progress is 0–90 % of the job; checking and thumbnailing the rest. */
static int on_progress(void *arg, int percent)
{
    struct job *j = arg;
    int p = percent * 90 / 100;
    if (p != atomic_load(&j->progress)) {
        atomic_store(&j->progress, p);
        worker_poke(j->w);
    }
    return atomic_load(&j->cancel) ? 1 : 0;
}

/* The rendered file must be the video that was asked for; *clip is left open for the
 * thumbnail (closed by the caller, also on a failure). */
static int check_output(struct job *j, const char *path, int width, int height, struct media_clip **clip)
{
    struct job_output *t = &j->out;
    char err[256];
    if (media_clip_open(clip, path, &t->info, err, sizeof err) != 0)
        return snprintf(t->error, sizeof t->error, "the rendered file is not a playable video: %s", err), -1;
    if (strcmp(t->info.codec, "h264") != 0 || t->info.width != width || t->info.height != height ||
        t->info.seconds < j->g.duration - 0.2 || t->info.seconds > j->g.duration + 0.2)
        return snprintf(t->error, sizeof t->error, "the rendered video is %s %dx%d %.2f s, not what was asked",
                        t->info.codec, t->info.width, t->info.height, t->info.seconds),
               -1;
    return 0;
}

/* The file of an image the generation was made with (an upload's filePath, core/upload.h);
 * NULL when it has none, "" when the path is not an upload's. */
static const char *image_file(struct job *j, const char *file_path, char *buf, size_t cap)
{
    char rel[256];
    if (file_path == NULL)
        return NULL;
    if (upload_disk_path(file_path, rel, sizeof rel) != 0 ||
        (size_t)snprintf(buf, cap, "%s/%s", worker_data_dir(j->w), rel) >= cap)
        return "";
    return buf;
}

static int render(struct job *j, const char *tmp_video, const char *tmp_thumb)
{
    struct job_output *t = &j->out;
    char err[256], start[1200], end[1200];
    int width, height;
    if (media_dimensions(j->g.resolution, j->g.aspect_ratio, &width, &height) != 0)
        return snprintf(t->error, sizeof t->error, "cannot render %s at %s", j->g.resolution, j->g.aspect_ratio), -1;
    struct render_params p = {.prompt = j->g.prompt,
                              .width = width,
                              .height = height,
                              .seconds = j->g.duration,
                              .fps = RENDER_FPS,
                              .start_image = image_file(j, j->g.start_image, start, sizeof start),
                              .end_image = image_file(j, j->g.end_image, end, sizeof end)};
    if ((p.start_image && !p.start_image[0]) || (p.end_image && !p.end_image[0]))
        return snprintf(t->error, sizeof t->error, "the generation's image is not an upload"), -1;
    int rc = media_render(&p, tmp_video, on_progress, j, err, sizeof err);
    if (rc != 0) {
        if (rc < 0)
            snprintf(t->error, sizeof t->error, "rendering failed: %s", err);
        return rc;
    }
    struct media_clip *clip = NULL;
    rc = -1;
    if (check_output(j, tmp_video, width, height, &clip) == 0) {
        atomic_store(&j->progress, 95);
        worker_poke(j->w);
        if (media_clip_thumbnail(clip, tmp_thumb, THUMBNAIL_WIDTH, err, sizeof err) != 0)
            snprintf(t->error, sizeof t->error, "cannot make the thumbnail: %s", err);
        else
            rc = 0;
    }
    media_clip_close(clip);
    return rc;
}

size_t local_job_memory(const struct job *j)
{
    int width = 0, height = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    media_dimensions(j->g.resolution, j->g.aspect_ratio, &width, &height); /* 0 x 0 if unknown: it fails fast */
    return media_render_memory(width, height, cores > 0 ? (int)cores : 1);
}

void local_job_run(void *arg)
{
    struct job *j = arg;
    struct job_output *t = &j->out;
    const char *dir = worker_data_dir(j->w);
    char tmp_video[1200], tmp_thumb[1200], video[1200], thumb[1200];
    if (tmpfiles_path(tmp_video, sizeof tmp_video, dir, j->g.id, j->lease, "mp4") != 0 ||
        tmpfiles_path(tmp_thumb, sizeof tmp_thumb, dir, j->g.id, j->lease, "jpg") != 0) {
        snprintf(t->error, sizeof t->error, "the data directory's path is too long");
        t->result = -1;
        return worker_finished(j);
    }
    snprintf(t->output_rel, sizeof t->output_rel, "videos/%s.mp4", j->g.id);
    snprintf(t->thumbnail_rel, sizeof t->thumbnail_rel, "thumbnails/%s.jpg", j->g.id);
    snprintf(video, sizeof video, "%s/%s", dir, t->output_rel);
    snprintf(thumb, sizeof thumb, "%s/%s", dir, t->thumbnail_rel);

    t->result = render(j, tmp_video, tmp_thumb);
    if (t->result == 0 && (rename(tmp_thumb, thumb) != 0 || rename(tmp_video, video) != 0)) {
        snprintf(t->error, sizeof t->error, "cannot move the video into place");
        t->result = -1;
    }
    if (t->result != 0) {
        unlink(tmp_video);
        unlink(tmp_thumb);
    }
    worker_finished(j);
}
