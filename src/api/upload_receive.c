/* POST /upload-image: a start or end image, multipart/form-data with `file` and `type`.
 *
 * The route reads its own body (API_DEFER_BODY): the token is checked and the size and the
 * quota looked at before a byte past the head is read. The form is parsed as it arrives
 * (http/multipart.h) and the file part written straight to a temporary file, hashed on the
 * way; then it is checked as an image (media/image.h) and linked into place under its
 * content's name (core/upload.h), so no refusal and no crash leaves a partial file there. */
#include "api/uploads.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/upload.h"
#include "http/multipart.h"
#include "http/offload.h"
#include "media/image.h"
#include "util/log.h"

/* Room for the form around the file: part headers, the `type` field, delimiters. */
#define FORM_SLACK (64u << 10)
#define TYPE_MAX 16

/* One upload being received (in the request's pool). */
struct receiving {
    struct api_call c;
    struct multipart form;
    int fd; /* the temporary file, -1 once closed */
    char tmp_path[1100];
    EVP_MD_CTX *sha; /* owned: SHA-256 of the file part, as it arrives (OpenSSL: SHA instructions) */
    size_t file_bytes;
    int part; /* what the current part is: PART_FILE, PART_TYPE or PART_OTHER */
    int files;
    char type[TYPE_MAX + 1];
    size_t type_len;
    char file_name[MULTIPART_MAX_NAME + 1];
    struct vg_error err; /* set when a callback refuses the form */
    bool failed;
    /* The image check, off the loop (a 10 MB image takes a while to decode). */
    struct http_offload check;
    char sha256[crypto_hash_sha256_BYTES * 2 + 1];
    int verdict; /* enum image_verdict, or -1 when the file could not be read back */
    struct image_info info;
    char msg[256];
};

enum { PART_OTHER, PART_FILE, PART_TYPE };

static int refuse(struct receiving *r, enum vg_err code, const char *field, const char *message)
{
    vg_fail(&r->err, code, field, "%s", message);
    r->failed = true;
    return multipart_fail(&r->form, message);
}

/* The client's file name, kept for display only: its last path segment, control characters
 * and quotes dropped. */
static void display_name(char *dst, size_t cap, const char *name)
{
    const char *base = strrchr(name, '/'), *back = strrchr(name, '\\');
    if (back != NULL && (base == NULL || back > base))
        base = back;
    base = base != NULL ? base + 1 : name;
    size_t n = 0;
    for (; *base && n + 1 < cap; base++)
        if ((unsigned char)*base >= 0x20 && *base != 0x7f && *base != '"')
            dst[n++] = *base;
    dst[n] = '\0';
}

static int on_part_begin(void *arg, const struct multipart_part *p)
{
    struct receiving *r = arg;
    r->part = strcmp(p->name, "file") == 0 ? PART_FILE : strcmp(p->name, "type") == 0 ? PART_TYPE : PART_OTHER;
    if (r->part == PART_FILE) {
        if (++r->files > 1)
            return refuse(r, VG_ERR_INVALID, "file", "send one file per upload");
        display_name(r->file_name, sizeof r->file_name, p->filename);
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_part_data(void *arg, const char *bytes, size_t len)
{
    struct receiving *r = arg;
    if (r->part == PART_TYPE) {
        if (r->type_len + len > TYPE_MAX)
            return refuse(r, VG_ERR_INVALID, "type", "type must be start or end");
        memcpy(r->type + r->type_len, bytes, len);
        r->type_len += len;
    } else if (r->part == PART_FILE) {
        if (r->file_bytes + len > UPLOAD_MAX_BYTES)
            return refuse(r, VG_ERR_TOO_LARGE, "file", "an image may be at most " UPLOAD_MAX_BYTES_TEXT);
        if (write_all(r->fd, bytes, len) != 0) {
            log_error("upload: cannot write %s: %s", r->tmp_path, strerror(errno));
            return refuse(r, VG_ERR_INTERNAL, "", "the upload could not be stored");
        }
        EVP_DigestUpdate(r->sha, bytes, len);
        r->file_bytes += len;
    }
    return 0;
}

static int on_part_end(void *arg)
{
    (void)arg;
    return 0;
}

static int feed(void *arg, const char *bytes, size_t len)
{
    struct receiving *r = arg;
    return multipart_feed(&r->form, bytes, len);
}

/* Removes the temporary file; before any answer, so that a client that has its answer finds
 * the data directory as the upload left it. Again later is harmless. */
static void discard(struct receiving *r)
{
    EVP_MD_CTX_free(r->sha);
    r->sha = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->tmp_path[0])
        unlink(r->tmp_path);
    r->tmp_path[0] = '\0';
}

/* Refuses the upload (the temporary file gone first). */
static int refuse_upload(struct receiving *r, enum vg_err code, const char *field, const char *message)
{
    discard(r);
    return api_fail_with(&r->c, code, field, message);
}

/* Why the form was refused, once multipart_feed or multipart_finish failed. */
static int form_refused(struct receiving *r)
{
    discard(r);
    if (!r->failed)
        vg_fail(&r->err, VG_ERR_BAD_REQUEST, "", "%s", multipart_error(&r->form));
    return api_fail(&r->c, &r->err);
}

/* On a pool thread: decodes the file as an image. */
static void check_image(struct http_offload *o)
{
    struct receiving *r = H2O_STRUCT_FROM_MEMBER(struct receiving, check, o);
    void *map = mmap(NULL, r->file_bytes, PROT_READ, MAP_PRIVATE, r->fd, 0);
    if (map == MAP_FAILED) {
        r->verdict = -1;
        return;
    }
    r->verdict = (int)image_check(map, r->file_bytes, &r->info, r->msg, sizeof r->msg);
    munmap(map, r->file_bytes);
}

/* Back on the loop: answers with the verdict, storing the image when it is one. */
static void checked(struct http_offload *o)
{
    struct receiving *r = H2O_STRUCT_FROM_MEMBER(struct receiving, check, o);
    if (r->verdict < 0)
        refuse_upload(r, VG_ERR_INTERNAL, "", "the upload could not be read back");
    else if (r->verdict != IMAGE_OK)
        refuse_upload(r, r->verdict == IMAGE_UNSUPPORTED ? VG_ERR_MEDIA_TYPE : VG_ERR_INVALID, "file", r->msg);
    else
        upload_store(&r->c, r->tmp_path, r->sha256, r->file_bytes, r->file_name, r->type, &r->info);
    discard(r);
}

/* The form is whole: checks its fields, then has the image checked (and stored) off the
 * loop. True when that is under way and will answer; false when answered here. */
static bool finish(struct receiving *r)
{
    r->type[r->type_len] = '\0';
    if (multipart_finish(&r->form) != 0)
        return form_refused(r), false;
    if (r->files == 0)
        return refuse_upload(r, VG_ERR_INVALID, "file", "the form has no file field with the image"), false;
    if (strcmp(r->type, "start") != 0 && strcmp(r->type, "end") != 0)
        return refuse_upload(r, VG_ERR_INVALID, "type", "type must be start or end"), false;
    if (r->file_bytes == 0)
        return refuse_upload(r, VG_ERR_INVALID, "file", "the file is empty"), false;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(r->sha, digest, &n) != 1 || n != crypto_hash_sha256_BYTES)
        return refuse_upload(r, VG_ERR_INTERNAL, "", "the upload could not be stored"), false;
    sodium_bin2hex(r->sha256, sizeof r->sha256, digest, n);
    /* This user's image of the same content was checked when it came first. */
    struct upload seen;
    struct vg_error err;
    if (store_upload_get(r->c.t->store, r->c.user.id, NULL, NULL, r->sha256, &seen, &err) == VG_OK) {
        discard(r);
        upload_answer(&r->c, &seen, r->type, true);
        upload_free(&seen);
        return false;
    }
    r->check.work = check_image;
    r->check.done = checked;
    http_offload(r->c.req->conn->ctx, &r->check);
    return true;
}

static void on_end(void *arg, enum http_body_end end)
{
    struct receiving *r = arg;
    if (end == HTTP_BODY_COMPLETE && finish(r))
        return;
    if (end == HTTP_BODY_STOPPED)
        form_refused(r);
    else if (end != HTTP_BODY_COMPLETE)
        refuse_upload(r, VG_ERR_BAD_REQUEST, "", "the upload did not arrive whole");
    discard(r);
}

/* 415 unless the request is a form; fills `boundary`. */
static int form_boundary(struct api_call *c, char *boundary, size_t cap)
{
    ssize_t i = h2o_find_header(&c->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t v = i >= 0 ? c->req->headers.entries[i].value : h2o_iovec_init("", 0);
    return multipart_boundary(v.base, v.len, boundary, cap);
}

/* Refuses before the body is read when the user has no room left. */
static enum vg_err check_room(struct api_call *c, struct vg_error *err)
{
    int64_t used, quota = c->t->api->cfg->upload_quota_bytes;
    enum vg_err e = store_upload_usage(c->t->store, c->user.id, &used, err);
    if (e == VG_OK && used >= quota)
        e = upload_over_quota(err, used, quota, 0);
    return e;
}

static struct receiving *start(struct api_call *c, const char *boundary)
{
    static const struct multipart_callbacks form = {on_part_begin, on_part_data, on_part_end};
    struct receiving *r = h2o_mem_alloc_pool(&c->req->pool, sizeof *r);
    memset(r, 0, sizeof *r);
    r->c = *c;
    snprintf(r->tmp_path, sizeof r->tmp_path, "%s/tmp/upload-XXXXXX", c->t->api->cfg->data_dir);
    if ((r->fd = mkstemp(r->tmp_path)) < 0) {
        log_error("upload: cannot create %s: %s", r->tmp_path, strerror(errno));
        return NULL;
    }
    if ((r->sha = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(r->sha);
        close(r->fd);
        unlink(r->tmp_path);
        return NULL;
    }
    multipart_init(&r->form, boundary, &form, r);
    return r;
}

int api_upload_image(struct api_call *c)
{
    static const struct http_body_reader reader = {feed, on_end};
    char boundary[MULTIPART_MAX_BOUNDARY + 1];
    struct vg_error err;
    if (form_boundary(c, boundary, sizeof boundary) != 0)
        return api_fail_with(c, VG_ERR_MEDIA_TYPE, "",
                             "send the image as multipart/form-data with the fields file and type");
    if (c->body_deferred && c->body.length > UPLOAD_MAX_BYTES + FORM_SLACK)
        return api_fail_with(c, VG_ERR_TOO_LARGE, "file", "an image may be at most " UPLOAD_MAX_BYTES_TEXT);
    if (check_room(c, &err) != VG_OK)
        return api_fail(c, &err);
    struct receiving *r = start(c, boundary);
    if (r == NULL)
        return api_fail_with(c, VG_ERR_INTERNAL, "", "the upload could not be stored");
    if (c->body_deferred) {
        http_body_read(c->req, &c->body, &reader, r);
        return 0;
    }
    /* A small body h2o has read already (chunked, or over HTTP/2). */
    if (multipart_feed(&r->form, c->req->entity.base, c->req->entity.len) == 0) {
        if (finish(r))
            return 0;
    } else
        form_refused(r);
    discard(r);
    return 0;
}
