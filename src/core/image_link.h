/* Signed, expiring links to an uploaded image, for providers that fetch a start or end
 * image by URL (ModelsLab's init_image, Eden AI's input.file):
 *   VIDGEN_PUBLIC_URL + IMAGE_LINK_PATH "/<user id>/<sha256>.<ext>?exp=<unix s>&sig=<sig>"
 * where sig is HMAC-SHA256 (libsodium), under the server's link key, of the image's filePath
 * (core/upload.h) and exp, in URL-safe base64. The link opens that one image until exp,
 * without a login, and nothing else: the route rebuilds the filePath from the link and finds
 * the file only through it. It names the image by content, not by upload row, so a retry
 * still works after the upload was deleted (the file stays while a generation uses it).
 *
 * The key is 32 random bytes in DATA_DIR/link-key (mode 0600), made at the first start;
 * every process sharing the data directory uses it. */
#ifndef VIDGEN_CORE_IMAGE_LINK_H
#define VIDGEN_CORE_IMAGE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_LINK_KEY_LEN 32
#define IMAGE_LINK_PATH "/api/apps/video-generator/public/images"
#define IMAGE_LINK_SIG_LEN 43 /* 32 bytes, base64url without padding */

struct image_link_key {
    uint8_t bytes[IMAGE_LINK_KEY_LEN];
};

/* Reads DATA_DIR/link-key, making it first when it does not exist. 0, or -1 with a message. */
int image_link_key_load(const char *data_dir, struct image_link_key *key, char *err, size_t errlen);

/* The signature of `file_path` (an upload's filePath) valid until `exp` (unix seconds), into
 * sig (IMAGE_LINK_SIG_LEN + 1 bytes). */
void image_link_sign(const struct image_link_key *key, const char *file_path, long long exp,
                     char sig[IMAGE_LINK_SIG_LEN + 1]);

/* The link to `file_path` valid until `exp`. 0, or -1 when public_url is empty, file_path is
 * not an upload's, or it does not fit in `cap`. */
int image_link_make(const struct image_link_key *key, const char *public_url, const char *file_path, long long exp,
                    char *out, size_t cap);

/* Whether `sig` is the signature of file_path until `exp`, and `now` (unix seconds) is
 * before exp. Compares in constant time. */
bool image_link_check(const struct image_link_key *key, const char *file_path, long long exp, const char *sig,
                      long long now);

#endif
