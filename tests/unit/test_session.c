/* The pieces of web logins that need no server: finding the session cookie among others,
 * the CSRF token's binding to its session, password hashing and the login rate limit. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/login_limit.h"
#include "core/password.h"
#include "core/session.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct cookie_case {
    const char *header, *want; /* want NULL: not found */
};

static const struct cookie_case cookies[] = {
    {"vg_session=abc", "abc"},
    {"a=1; vg_session=abc; b=2", "abc"},
    {"a=1;vg_session=abc", "abc"},
    {"  vg_session=abc  ", "abc"},
    {"xvg_session=abc", NULL},
    {"vg_session_old=abc; vg_session=new", "new"},
    {"vg_session=", NULL},
    {"vg_session", NULL},
    {"", NULL},
    {"a=1; b=2", NULL},
};

Test(session, finds_the_cookie_among_others)
{
    for (size_t i = 0; i < N(cookies); i++) {
        const char *v = NULL;
        size_t len = 0;
        bool found = session_cookie_find(cookies[i].header, strlen(cookies[i].header), SESSION_COOKIE, &v, &len);
        cr_expect_eq(found, cookies[i].want != NULL, "%s", cookies[i].header);
        if (found && cookies[i].want)
            cr_expect(len == strlen(cookies[i].want) && memcmp(v, cookies[i].want, len) == 0, "%s", cookies[i].header);
    }
}

Test(session, csrf_token_belongs_to_its_session_only)
{
    char a[SESSION_TOKEN_LEN + 1], b[SESSION_TOKEN_LEN + 1], csrf[SESSION_CSRF_LEN + 1];
    session_token_new(a);
    session_token_new(b);
    cr_assert_str_neq(a, b);
    cr_assert_eq(strncmp(a, "vs_", 3), 0);
    session_csrf(a, strlen(a), csrf);
    cr_assert_eq(strlen(csrf), SESSION_CSRF_LEN);
    cr_expect(session_csrf_ok(a, strlen(a), csrf, strlen(csrf)));
    cr_expect(!session_csrf_ok(b, strlen(b), csrf, strlen(csrf)));
    cr_expect(!session_csrf_ok(a, strlen(a), csrf, strlen(csrf) - 1));
    csrf[0] = csrf[0] == '0' ? '1' : '0';
    cr_expect(!session_csrf_ok(a, strlen(a), csrf, strlen(csrf)));
}

Test(password, hash_verifies_only_its_password)
{
    char hash[PASSWORD_HASH_MAX];
    cr_assert_eq(password_hash("long enough", 11, hash), 0);
    cr_expect_eq(strncmp(hash, "$argon2id$", 10), 0);
    cr_expect(password_verify(hash, "long enough", 11));
    cr_expect(!password_verify(hash, "long enougH", 11));
    cr_expect(!password_verify(NULL, "long enough", 11));
    cr_expect(!password_verify("", "long enough", 11));
    struct vg_error err;
    cr_expect_eq(password_check("short", 5, "password", &err), VG_ERR_INVALID);
    cr_expect_str_eq(err.field, "password");
    cr_expect_eq(password_check("with\0nul", 8, "password", &err), VG_ERR_INVALID);
    cr_expect_eq(password_check("eight ch", 8, "password", &err), VG_OK);
}

Test(login_limit, blocks_a_name_after_its_failures_until_the_window_ends)
{
    struct login_limit *l = login_limit_new();
    int64_t t = 1000000;
    for (int i = 0; i < LOGIN_LIMIT_PER_NAME; i++) {
        cr_expect_eq(login_limit_wait(l, "ann", "10.0.0.1", t), 0);
        login_limit_failed(l, "ann", "10.0.0.1", t);
    }
    cr_expect_eq(login_limit_wait(l, "ann", "10.0.0.2", t), LOGIN_LIMIT_WINDOW_S);
    cr_expect_eq(login_limit_wait(l, "bob", "10.0.0.2", t), 0);
    cr_expect_eq(login_limit_wait(l, "ann", "10.0.0.2", t + LOGIN_LIMIT_WINDOW_S * 1000LL), 0);
    login_limit_free(l);
}

Test(login_limit, a_success_clears_the_name_but_not_the_address)
{
    struct login_limit *l = login_limit_new();
    for (int i = 0; i < LOGIN_LIMIT_PER_NAME - 1; i++)
        login_limit_failed(l, "ann", "10.0.0.1", 0);
    login_limit_succeeded(l, "ann");
    login_limit_failed(l, "ann", "10.0.0.1", 0);
    cr_expect_eq(login_limit_wait(l, "ann", "10.0.0.9", 0), 0);
    for (int i = 0; i < LOGIN_LIMIT_PER_ADDR; i++)
        login_limit_failed(l, i % 2 ? "x" : "y", "10.0.0.3", 0);
    cr_expect_gt(login_limit_wait(l, "zed", "10.0.0.3", 1000), 0);
    cr_expect_eq(login_limit_wait(l, "zed", "10.0.0.4", 1000), 0);
    login_limit_free(l);
}

Test(login_limit, failures_without_a_name_count_against_the_address_only)
{
    struct login_limit *l = login_limit_new();
    for (int i = 0; i < LOGIN_LIMIT_PER_NAME + 1; i++)
        login_limit_failed(l, NULL, "10.0.0.5", 0);
    cr_expect_eq(login_limit_wait(l, NULL, "10.0.0.6", 0), 0, "token logins from elsewhere go on");
    cr_expect_eq(login_limit_wait(l, "", "10.0.0.6", 0), 0);
    for (int i = 0; i < LOGIN_LIMIT_PER_ADDR; i++)
        login_limit_failed(l, NULL, "10.0.0.5", 0);
    cr_expect_gt(login_limit_wait(l, NULL, "10.0.0.5", 0), 0);
    login_limit_free(l);
}
