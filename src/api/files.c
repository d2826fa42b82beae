/* A generation's video and thumbnail, sent to their owner from the data directory. */
#include "api/files.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http/file.h"
#include "util/id.h"
#include "util/log.h"
#include "util/path.h"

/* Which of a generation's files a route sends, and how. */
struct file_kind {
    const char *what; /* "video" or "thumbnail", for messages */
    const char *content_type;
    bool thumbnail;  /* thumbnail_path, else output_path */
    bool attachment; /* Content-Disposition: attachment with vidgen-<id>.mp4 */
};

static const struct file_kind VIDEO = {"video", "video/mp4", false, false};
static const struct file_kind DOWNLOAD = {"video", "video/mp4", false, true};
static const struct file_kind THUMBNAIL = {"thumbnail", "image/jpeg", true, false};

/* 409 for a generation without a finished file, saying why. */
static int not_ready(struct api_call *c, const struct generation *g)
{
    struct vg_error err;
    if (strcmp(g->status, "pending") == 0 || strcmp(g->status, "processing") == 0)
        vg_fail(&err, VG_ERR_CONFLICT, "", "the video is not ready (status %s); try again when it is completed",
                g->status);
    else
        vg_fail(&err, VG_ERR_CONFLICT, "", "the generation has no video (status %s)", g->status);
    return api_fail(c, &err);
}

/* A file to send from the loop (api_then_on_loop). */
struct file_send {
    const char *path, *content_type, *attachment_name, *missing; /* in the request's pool, or static */
};

static int send_now(struct api_call *c)
{
    const struct file_send *f = c->carry;
    if (http_file_send(c->req, f->path, f->content_type, f->attachment_name) != 0)
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", f->missing);
    return 0;
}

/* Sends file `k` of generation `g` (completed, the caller's). */
static int send_file(struct api_call *c, const struct generation *g, const struct file_kind *k)
{
    h2o_req_t *req = c->req;
    const char *rel = k->thumbnail ? g->thumbnail_path : g->output_path;
    const char *dir = c->t->api->cfg->data_dir;
    char name[sizeof "vidgen-.mp4" + ID_LEN];
    char message[64];
    struct file_send *f;

    snprintf(message, sizeof message, "the %s file is missing", k->what);
    if (rel == NULL || !path_is_safe_relative(rel, strlen(rel))) {
        if (rel != NULL)
            log_gen(LOG_WARN, g->id, "api: generation %s has an unsafe %s path; not serving it", g->id, k->what);
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", message);
    }
    size_t dir_len = strlen(dir), rel_len = strlen(rel);
    char *path = h2o_mem_alloc_pool(&req->pool, dir_len + 1 + rel_len + 1);
    memcpy(path, dir, dir_len);
    path[dir_len] = '/';
    memcpy(path + dir_len + 1, rel, rel_len + 1);
    snprintf(name, sizeof name, "vidgen-%s.mp4", g->id);
    c->carry = f = h2o_mem_alloc_pool(&req->pool, sizeof *f);
    *f = (struct file_send){path, k->content_type, k->attachment ? h2o_strdup(&req->pool, name, SIZE_MAX).base : NULL,
                            h2o_strdup(&req->pool, message, SIZE_MAX).base};
    return api_then_on_loop(c, send_now);
}

static int serve(struct api_call *c, const struct file_kind *k)
{
    struct generation g;
    struct vg_error err;
    const char *id = api_param(c, "id");
    if (!id_valid(id))
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such generation");
    if (store_generation_get(c->t->store, c->user.id, id, &g, &err) != VG_OK)
        return api_fail(c, &err);
    int rc = strcmp(g.status, "completed") == 0 ? send_file(c, &g, k) : not_ready(c, &g);
    generation_free(&g);
    return rc;
}

int api_generation_video(struct api_call *c)
{
    return serve(c, &VIDEO);
}

int api_generation_download(struct api_call *c)
{
    return serve(c, &DOWNLOAD);
}

int api_generation_thumbnail(struct api_call *c)
{
    return serve(c, &THUMBNAIL);
}
