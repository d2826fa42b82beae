/* Uploaded images: POST /upload-image (api/upload_receive.c), GET /uploads, GET and DELETE
 * /uploads/:id (api/uploads.c). */
#ifndef VIDGEN_API_UPLOADS_H
#define VIDGEN_API_UPLOADS_H

#include "api/call.h"

struct image_info;

int api_upload_image(struct api_call *c);
int api_uploads_list(struct api_call *c);
int api_upload_get(struct api_call *c);
int api_upload_delete(struct api_call *c);
int api_public_image(struct api_call *c);

/* Puts the checked image at `tmp_path` (its bytes: `size`, hashing to `sha256`) in place
 * under its content's name and records it for the caller, then answers the request: 201
 * with the upload, or 200 with the same image uploaded before. `tmp_path` is removed. */
int upload_store(struct api_call *c, const char *tmp_path, const char *sha256, size_t size, const char *file_name,
                 const char *type, const struct image_info *info);

/* Answers an upload with `u`: 201, or 200 when it was `existing` (the same image before). */
int upload_answer(struct api_call *c, const struct upload *u, const char *type, bool existing);

/* Removes the image file of `file_path` (an upload's filePath) unless an upload or a
 * generation still refers to it. NULL does nothing. */
void upload_release(const struct api *api, struct store *store, const char *file_path);

/* 413 with the numbers: `used` of `quota` bytes held, `size` more asked for (0: unknown). */
enum vg_err upload_over_quota(struct vg_error *err, int64_t used, int64_t quota, int64_t size);

#endif
