#include "core/upload.h"

#include <stdio.h>
#include <string.h>

#include "util/id.h"

static const char *const extensions[] = {"jpg", "png", "webp"};
static const char *const mime_types[] = {"image/jpeg", "image/png", "image/webp"};

int upload_file_path(char *buf, size_t cap, const char *user_id, const char *sha256, const char *ext)
{
    int n = snprintf(buf, cap, UPLOAD_PATH_PREFIX "%s/%s.%s", user_id, sha256, ext);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int is_sha256_hex(const char *s, size_t len)
{
    if (len != 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The index of a known extension, or -1. */
static int extension_index(const char *ext)
{
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (strcmp(ext, extensions[i]) == 0)
            return (int)i;
    return -1;
}

const char *upload_mime_type(const char *file_path)
{
    char rel[256];
    if (upload_disk_path(file_path, rel, sizeof rel) != 0)
        return NULL;
    return mime_types[extension_index(strrchr(rel, '.') + 1)];
}

int upload_disk_path(const char *file_path, char *buf, size_t cap)
{
    size_t plen = sizeof UPLOAD_PATH_PREFIX - 1;
    if (strncmp(file_path, UPLOAD_PATH_PREFIX, plen) != 0)
        return -1;
    const char *user = file_path + plen, *slash = strchr(user, '/');
    if (slash == NULL || slash - user != ID_LEN)
        return -1;
    char user_id[ID_LEN + 1];
    memcpy(user_id, user, ID_LEN);
    user_id[ID_LEN] = '\0';
    const char *name = slash + 1, *dot = strchr(name, '.');
    if (!id_valid(user_id) || dot == NULL || !is_sha256_hex(name, (size_t)(dot - name)) || extension_index(dot + 1) < 0)
        return -1;
    int n = snprintf(buf, cap, UPLOAD_DIR "/%s/%s", user_id, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
