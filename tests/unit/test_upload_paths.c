/* Where uploaded images live (core/upload.h) and the signed links providers fetch them by
 * (core/image_link.h). */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/image_link.h"
#include "core/upload.h"

#define USER "01J8Z3Q4W5E6R7T8Y9V0A1B2C3"
#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

Test(upload_path, a_file_path_names_its_file_under_the_data_directory)
{
    char fp[UPLOAD_FILE_PATH_MAX], rel[256];
    cr_assert_eq(upload_file_path(fp, sizeof fp, USER, SHA, "png"), 0);
    cr_expect_str_eq(fp, "/uploads/video-generator/" USER "/" SHA ".png");
    cr_assert_eq(upload_disk_path(fp, rel, sizeof rel), 0);
    cr_expect_str_eq(rel, "uploads/" USER "/" SHA ".png");
    cr_expect_str_eq(upload_mime_type(fp), "image/png");
}

Test(upload_path, no_other_shape_names_a_file)
{
    const char *bad[] = {
        "/uploads/video-generator/" USER "/../" SHA ".png",
        "/uploads/video-generator/../../etc/passwd",
        "/etc/passwd",
        "uploads/" USER "/" SHA ".png",
        "/uploads/video-generator/" USER "/" SHA ".gif",
        "/uploads/video-generator/" USER "/" SHA ".png/x",
        "/uploads/video-generator/" USER "/" SHA,
        "/uploads/video-generator/" USER "/" SHA "0.png",
        "/uploads/video-generator/" USER "/9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08.png",
        "/uploads/video-generator/short/" SHA ".png",
        "/uploads/video-generator/" USER "x/" SHA ".png",
        "/uploads/video-generator/" USER "/" SHA ".png\n",
        "",
    };
    char rel[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_neq(upload_disk_path(bad[i], rel, sizeof rel), 0, "accepted %s", bad[i]);
        cr_expect_null(upload_mime_type(bad[i]), "a type for %s", bad[i]);
    }
}

static struct image_link_key key_of(unsigned char fill)
{
    struct image_link_key k;
    memset(k.bytes, fill, sizeof k.bytes);
    return k;
}

Test(image_link, a_link_opens_its_image_until_it_expires_and_no_other)
{
    struct image_link_key k = key_of(7), other = key_of(8);
    const char *fp = "/uploads/video-generator/" USER "/" SHA ".jpg";
    char link[512], sig[IMAGE_LINK_SIG_LEN + 1];
    cr_assert_eq(sodium_init() < 0, 0);
    cr_assert_eq(image_link_make(&k, "https://vid.example.com//", fp, 2000000000LL, link, sizeof link), 0);
    image_link_sign(&k, fp, 2000000000LL, sig);
    char want[512];
    snprintf(want, sizeof want, "https://vid.example.com" IMAGE_LINK_PATH "/" USER "/" SHA ".jpg?exp=2000000000&sig=%s",
             sig);
    cr_expect_str_eq(link, want);
    cr_expect(image_link_check(&k, fp, 2000000000LL, sig, 1999999999LL));
    cr_expect_not(image_link_check(&k, fp, 2000000000LL, sig, 2000000000LL), "expired");
    cr_expect_not(image_link_check(&k, fp, 2000000001LL, sig, 1000LL), "another expiry");
    cr_expect_not(image_link_check(&other, fp, 2000000000LL, sig, 1000LL), "another key");
    cr_expect_not(image_link_check(&k, "/uploads/video-generator/" USER "/" SHA ".png", 2000000000LL, sig, 1000LL),
                  "another image");
    char altered[IMAGE_LINK_SIG_LEN + 1];
    memcpy(altered, sig, sizeof altered);
    altered[5] = altered[5] == 'A' ? 'B' : 'A';
    cr_expect_not(image_link_check(&k, fp, 2000000000LL, altered, 1000LL), "altered");
    cr_expect_not(image_link_check(&k, fp, 2000000000LL, "", 1000LL), "empty");
    cr_expect_neq(image_link_make(&k, "", fp, 1, link, sizeof link), 0, "no public URL");
    cr_expect_neq(image_link_make(&k, "https://x", "/etc/passwd", 1, link, sizeof link), 0, "not an upload");
}

Test(image_link, the_key_is_made_once_and_read_back)
{
    char dir[] = "/tmp/vidgen-link-XXXXXX", path[64], err[256];
    cr_assert_not_null(mkdtemp(dir));
    struct image_link_key a, b;
    cr_assert_eq(image_link_key_load(dir, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(image_link_key_load(dir, &b, err, sizeof err), 0, "%s", err);
    cr_expect_eq(memcmp(a.bytes, b.bytes, sizeof a.bytes), 0);
    snprintf(path, sizeof path, "%s/link-key", dir);
    cr_expect_eq(access(path, R_OK), 0);
    FILE *f = fopen(path, "w");
    fputs("short", f);
    fclose(f);
    cr_expect_neq(image_link_key_load(dir, &b, err, sizeof err), 0, "a damaged key is not replaced silently");
    unlink(path);
    rmdir(dir);
}
