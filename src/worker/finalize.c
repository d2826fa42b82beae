/* The last step of a remote job, on a pool thread: what a provider sent is only kept if it
 * is a video. It is probed, thumbnailed in-process and moved into place under the names the
 * API serves, exactly as a local render is (local_job.c). */
#include <stdio.h>
#include <unistd.h>

#include "media/clip.h"
#include "providers/registry.h"
#include "worker/job.h"
#include "worker/tmpfiles.h"

#define THUMBNAIL_WIDTH 480

/* The downloaded file must be a playable video of some length; *clip is left open for the
 * thumbnail. */
static int check_video(struct job *j, const char *path, struct media_clip **clip)
{
    struct job_output *t = &j->out;
    char err[256];
    if (media_clip_open(clip, path, &t->info, err, sizeof err) != 0)
        return snprintf(t->error, sizeof t->error, "%s sent a file that is not a playable video: %s",
                        provider_display_name(j->g.provider), err),
               -1;
    if (t->info.width <= 0 || t->info.height <= 0 || t->info.seconds <= 0)
        return snprintf(t->error, sizeof t->error, "%s sent a video with no picture (%dx%d, %.2f s)",
                        provider_display_name(j->g.provider), t->info.width, t->info.height, t->info.seconds),
               -1;
    return 0;
}

void finalize_run(void *arg)
{
    struct job *j = arg;
    struct job_output *t = &j->out;
    const char *dir = worker_data_dir(j->w), *tmp_video = j->remote.tmp_video;
    char tmp_thumb[1200], video[1200], thumb[1200], err[256];
    struct media_clip *clip = NULL;
    snprintf(t->output_rel, sizeof t->output_rel, "videos/%s.mp4", j->g.id);
    snprintf(t->thumbnail_rel, sizeof t->thumbnail_rel, "thumbnails/%s.jpg", j->g.id);
    snprintf(video, sizeof video, "%s/%s", dir, t->output_rel);
    snprintf(thumb, sizeof thumb, "%s/%s", dir, t->thumbnail_rel);
    t->result = -1;
    if (tmpfiles_path(tmp_thumb, sizeof tmp_thumb, dir, j->g.id, j->lease, "jpg") != 0)
        snprintf(t->error, sizeof t->error, "the data directory's path is too long");
    else if (check_video(j, tmp_video, &clip) != 0)
        ;
    else if (media_clip_thumbnail(clip, tmp_thumb, THUMBNAIL_WIDTH, err, sizeof err) != 0)
        snprintf(t->error, sizeof t->error, "cannot make the thumbnail: %s", err);
    else if (rename(tmp_thumb, thumb) != 0 || rename(tmp_video, video) != 0)
        snprintf(t->error, sizeof t->error, "cannot move the video into place");
    else
        t->result = 0;
    media_clip_close(clip);
    if (t->result != 0) {
        unlink(tmp_video);
        unlink(tmp_thumb);
    }
    worker_finished(j);
}
