/* A user's uploaded images: storing a checked one, listing, serving and deleting them. */
#include "api/uploads.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/image_link.h"
#include "core/upload.h"
#include "http/file.h"
#include "media/image.h"
#include "util/id.h"
#include "util/log.h"
#include "util/parse.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX 100

enum vg_err upload_over_quota(struct vg_error *err, int64_t used, int64_t quota, int64_t size)
{
    double mb = 1024.0 * 1024.0;
    if (size > 0)
        return vg_fail(err, VG_ERR_TOO_LARGE, "file",
                       "your uploads hold %.1f MB of your %.0f MB; this image (%.1f MB) does not fit: delete some",
                       used / mb, quota / mb, size / mb);
    return vg_fail(err, VG_ERR_TOO_LARGE, "file", "your uploads hold %.1f MB of your %.0f MB: delete some first",
                   used / mb, quota / mb);
}

static json_t *upload_json(const struct upload *u)
{
    const char *name = strrchr(u->file_path, '/');
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:i, s:s, s:s, s:o}", "uploadId", u->id, "filePath", u->file_path,
                     "fileName", u->file_name[0] ? u->file_name : name + 1, "fileSize", (json_int_t)u->size_bytes,
                     "mimeType", u->mime_type, "width", u->width, "height", u->height, "sha256", u->sha256,
                     "storedName", name + 1, "createdAt", api_time(u->created_at));
}

/* The absolute path of an upload's file; -1 for a file_path of any other shape. */
static int path_in(const char *data_dir, const char *file_path, char *buf, size_t cap)
{
    char rel[256];
    if (upload_disk_path(file_path, rel, sizeof rel) != 0)
        return -1;
    int n = snprintf(buf, cap, "%s/%s", data_dir, rel);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int disk_path(const struct api_call *c, const char *file_path, char *buf, size_t cap)
{
    return path_in(c->t->api->cfg->data_dir, file_path, buf, cap);
}

/* Links the temporary file to `path`; 1 when it was made here, 0 when the same content was
 * there already, -1 on an error. */
static int link_into_place(const char *tmp_path, const char *path)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        char parent[1200];
        snprintf(parent, sizeof parent, "%s", dir);
        *strrchr(parent, '/') = '\0';
        if ((mkdir(parent, 0755) != 0 && errno != EEXIST) || (mkdir(dir, 0755) != 0 && errno != EEXIST))
            return -1;
    }
    if (link(tmp_path, path) == 0)
        return 1;
    return errno == EEXIST ? 0 : -1;
}

void upload_release(const struct api *api, struct store *store, const char *file_path)
{
    bool in_use = true;
    struct vg_error err;
    char path[1200];
    if (file_path != NULL && store_image_in_use(store, file_path, &in_use, &err) == VG_OK && !in_use &&
        path_in(api->cfg->data_dir, file_path, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
        log_warn("upload: cannot remove %s: %s", path, strerror(errno));
}

int upload_store(struct api_call *c, const char *tmp_path, const char *sha256, size_t size, const char *file_name,
                 const char *type, const struct image_info *info)
{
    struct upload in = {.size_bytes = (int64_t)size, .width = info->width, .height = info->height}, out;
    char file_path[256], path[1200];
    struct vg_error err;
    bool existing;
    int64_t used, quota = c->t->api->cfg->upload_quota_bytes;
    snprintf(in.user_id, sizeof in.user_id, "%s", c->user.id);
    snprintf(in.sha256, sizeof in.sha256, "%s", sha256);
    snprintf(in.mime_type, sizeof in.mime_type, "%s", info->mime);
    if (upload_file_path(file_path, sizeof file_path, c->user.id, sha256, info->ext) != 0 ||
        disk_path(c, file_path, path, sizeof path) != 0)
        return api_fail_with(c, VG_ERR_INTERNAL, "", "the upload could not be stored");
    in.file_path = file_path;
    in.file_name = (char *)file_name;
    int made = link_into_place(tmp_path, path);
    unlink(tmp_path); /* the caller's to remove, but before the answer (upload_receive.c) */
    if (made < 0) {
        log_error("upload: cannot put %s in place: %s", path, strerror(errno));
        return api_fail_with(c, VG_ERR_INTERNAL, "", "the upload could not be stored");
    }
    enum vg_err e = store_upload_create(c->t->store, &in, quota, &out, &existing, &used, &err);
    if (e != VG_OK) {
        if (made)
            upload_release(c->t->api, c->t->store, file_path);
        if (e == VG_ERR_TOO_LARGE)
            upload_over_quota(&err, used, quota, in.size_bytes);
        return api_fail(c, &err);
    }
    int rc = upload_answer(c, &out, type, existing);
    upload_free(&out);
    return rc;
}

int upload_answer(struct api_call *c, const struct upload *u, const char *type, bool existing)
{
    json_t *body = upload_json(u);
    json_object_set_new(body, "success", json_true());
    json_object_set_new(body, "type", json_string(type));
    json_object_set_new(body, "duplicate", json_boolean(existing));
    return api_reply(c, existing ? 200 : 201, body);
}

int api_uploads_list(struct api_call *c)
{
    char before[ID_LEN + 2] = "", limit_s[8] = "";
    int limit = PAGE_DEFAULT;
    if (api_query(c, "before", before, sizeof before) < 0 || (before[0] && !id_valid(before)))
        return api_fail_with(c, VG_ERR_INVALID, "before", "before must be an upload id (nextCursor)");
    if (api_query(c, "limit", limit_s, sizeof limit_s) < 0 || (limit_s[0] && parse_int(limit_s, 1, PAGE_MAX, &limit)))
        return api_fail_with(c, VG_ERR_INVALID, "limit", "limit must be a whole number from 1 to 100");
    struct upload_list list;
    struct vg_error err;
    if (store_upload_list(c->t->store, c->user.id, before[0] ? before : NULL, limit, &list, &err) != VG_OK)
        return api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(items, upload_json(&list.items[i]));
    json_t *next = list.more ? json_string(list.items[list.n - 1].id) : json_null();
    upload_list_free(&list);
    return api_ok(c, json_pack("{s:o, s:o}", "uploads", items, "nextCursor", next));
}

/* On the loop: c->carry holds the file's path and type. */
static int send_upload(struct api_call *c)
{
    char **path_type = c->carry;
    if (http_file_send(c->req, path_type[0], path_type[1], NULL) != 0)
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "the image file is missing");
    return 0;
}

int api_upload_get(struct api_call *c)
{
    struct upload u;
    struct vg_error err;
    char path[1200];
    const char *id = api_param(c, "id");
    if (!id_valid(id))
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such upload");
    if (store_upload_get(c->t->store, c->user.id, id, NULL, NULL, &u, &err) != VG_OK)
        return api_fail(c, &err);
    /* http_file_send keeps both strings until the response ends: they go in the pool. */
    int rc = disk_path(c, u.file_path, path, sizeof path);
    char *type = h2o_strdup(&c->req->pool, u.mime_type, SIZE_MAX).base;
    upload_free(&u);
    if (rc != 0)
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "the image file is missing");
    c->carry = h2o_mem_alloc_pool(&c->req->pool, 2 * sizeof(char *));
    ((char **)c->carry)[0] = h2o_strdup(&c->req->pool, path, SIZE_MAX).base;
    ((char **)c->carry)[1] = type;
    return api_then_on_loop(c, send_upload);
}

/* GET /public/images/:user/:name?exp=&sig= (core/image_link.h): no login; 403 for a link
 * that is altered or expired, 404 when it is good but the image is gone. */
int api_public_image(struct api_call *c)
{
    char exp_s[24], sig[IMAGE_LINK_SIG_LEN + 2], file_path[UPLOAD_FILE_PATH_MAX], path[1200];
    long long exp;
    int n =
        snprintf(file_path, sizeof file_path, UPLOAD_PATH_PREFIX "%s/%s", api_param(c, "user"), api_param(c, "name"));
    if (n <= 0 || (size_t)n >= sizeof file_path || api_query(c, "exp", exp_s, sizeof exp_s) <= 0 ||
        api_query(c, "sig", sig, sizeof sig) <= 0 || parse_int64(exp_s, 0, INT64_MAX, &exp) != 0 ||
        !image_link_check(&c->t->api->link_key, file_path, exp, sig, (long long)time(NULL)))
        return api_fail_with(c, VG_ERR_FORBIDDEN, "", "this link is not valid or has expired");
    const char *mime = upload_mime_type(file_path);
    if (mime == NULL || disk_path(c, file_path, path, sizeof path) != 0 ||
        http_file_send(c->req, h2o_strdup(&c->req->pool, path, SIZE_MAX).base, mime, NULL) != 0)
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "the image is gone");
    return 0;
}

int api_upload_delete(struct api_call *c)
{
    struct upload u;
    struct vg_error err;
    bool in_use;
    const char *id = api_param(c, "id");
    if (!id_valid(id))
        return api_fail_with(c, VG_ERR_NOT_FOUND, "", "no such upload");
    if (store_upload_delete(c->t->store, c->user.id, id, &u, &in_use, &err) != VG_OK)
        return api_fail(c, &err);
    char path[1200];
    if (!in_use && disk_path(c, u.file_path, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
        log_warn("upload: cannot remove %s: %s", path, strerror(errno));
    upload_free(&u);
    return api_ok(c, NULL);
}
