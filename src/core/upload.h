/* Where an uploaded image lives. The seed's `filePath` of an upload,
 *   /uploads/video-generator/<user id>/<sha256>.<ext>
 * names its file under the data directory,
 *   uploads/<user id>/<sha256>.<ext>
 * so the same image uploaded twice by a user is one file, and a generation that keeps the
 * filePath it was made with keeps its image after the upload is deleted. A filePath from a
 * request is only ever looked up in the user's uploads (store_upload_get); upload_disk_path
 * is for paths the store gave back, and still refuses any other shape. */
#ifndef VIDGEN_CORE_UPLOAD_H
#define VIDGEN_CORE_UPLOAD_H

#include <stddef.h>

#define UPLOAD_PATH_PREFIX "/uploads/video-generator/"
#define UPLOAD_DIR "uploads"
#define UPLOAD_FILE_PATH_MAX 160     /* a filePath's size, NUL included */
#define UPLOAD_MAX_BYTES (10u << 20) /* an image file, at most */
#define UPLOAD_MAX_BYTES_TEXT "10 MB"

/* Writes the filePath of `user_id`'s image `sha256` (64 hex digits) with extension `ext`.
 * 0, or -1 when it does not fit in `cap`. */
int upload_file_path(char *buf, size_t cap, const char *user_id, const char *sha256, const char *ext);

/* The media type of an upload's file by its extension; NULL for a path that is not one. */
const char *upload_mime_type(const char *file_path);

/* The data-directory-relative path of a filePath made by upload_file_path: 0, or -1 when
 * `file_path` is not exactly of that shape (no other path is ever produced). */
int upload_disk_path(const char *file_path, char *buf, size_t cap);

#endif
