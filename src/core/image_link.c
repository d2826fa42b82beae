#include "core/image_link.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/upload.h"

static int read_key(const char *path, struct image_link_key *key)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, key->bytes, sizeof key->bytes);
    close(fd);
    return n == (ssize_t)sizeof key->bytes ? 0 : -2;
}

int image_link_key_load(const char *data_dir, struct image_link_key *key, char *err, size_t errlen)
{
    char path[1100], tmp[1200];
    snprintf(path, sizeof path, "%s/link-key", data_dir);
    int rc = read_key(path, key);
    if (rc == 0)
        return 0;
    if (rc == -2 || errno != ENOENT)
        return snprintf(err, errlen, "cannot read %s (32 bytes expected)", path), -1;
    /* Made under a temporary name and linked into place: two processes starting together
     * agree on one key (the loser reads the winner's). */
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    randombytes_buf(key->bytes, sizeof key->bytes);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write(fd, key->bytes, sizeof key->bytes) == (ssize_t)sizeof key->bytes && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    rc = written && (link(tmp, path) == 0 || errno == EEXIST) ? 0 : -1;
    unlink(tmp);
    if (rc != 0 || read_key(path, key) != 0)
        return snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno)), -1;
    return 0;
}

void image_link_sign(const struct image_link_key *key, const char *file_path, long long exp,
                     char sig[IMAGE_LINK_SIG_LEN + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    char exp_s[24];
    int n = snprintf(exp_s, sizeof exp_s, "\n%lld", exp);
    crypto_auth_hmacsha256_init(&st, key->bytes, sizeof key->bytes);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)file_path, strlen(file_path));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)exp_s, (unsigned long long)n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(sig, IMAGE_LINK_SIG_LEN + 1, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int image_link_make(const struct image_link_key *key, const char *public_url, const char *file_path, long long exp,
                    char *out, size_t cap)
{
    char sig[IMAGE_LINK_SIG_LEN + 1], rel[256];
    size_t base = strlen(public_url);
    while (base > 0 && public_url[base - 1] == '/')
        base--;
    if (base == 0 || upload_disk_path(file_path, rel, sizeof rel) != 0)
        return -1;
    image_link_sign(key, file_path, exp, sig);
    int n = snprintf(out, cap, "%.*s%s/%s?exp=%lld&sig=%s", (int)base, public_url, IMAGE_LINK_PATH,
                     file_path + sizeof UPLOAD_PATH_PREFIX - 1, exp, sig);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

bool image_link_check(const struct image_link_key *key, const char *file_path, long long exp, const char *sig,
                      long long now)
{
    char want[IMAGE_LINK_SIG_LEN + 1];
    if (now >= exp || strlen(sig) != IMAGE_LINK_SIG_LEN)
        return false;
    image_link_sign(key, file_path, exp, want);
    return sodium_memcmp(want, sig, IMAGE_LINK_SIG_LEN) == 0;
}
