/* POST /auth/login, POST /auth/logout, GET /auth/session (api/auth.h).
 *
 * A password is checked off the loop (Argon2id takes ~0.1 s and 64 MiB: http/offload.h);
 * a name nobody has costs the same check against a decoy, so the reply's timing does not
 * tell which names exist. Failures count against the name and the address before the next
 * attempt is even looked at (api/login_limit.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api/auth.h"
#include "api/login_limit.h"
#include "core/password.h"
#include "core/session.h"
#include "http/offload.h"
#include "util/id.h"

/* A login whose password is being checked (in the request's pool). */
struct login {
    struct api_call c;
    struct http_offload check;
    char name[STORE_NAME_MAX + 1];
    char addr[INET6_ADDRSTRLEN];
    char hash[STORE_PASSWORD_MAX + 1]; /* "" when the name is unknown or has no password */
    const char *password;              /* in the request's body */
    size_t password_len;
    struct user user;
    bool ok;
};

/* The client's address as text, for the per-address limit. */
static void peer_address(h2o_req_t *req, char *out, size_t cap)
{
    struct sockaddr_storage sa;
    snprintf(out, cap, "unknown");
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&sa);
    if (len == 0)
        return;
    if (sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, out, cap);
    else if (sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, out, cap);
}

static void set_cookie(struct api_call *c, const char *value, long max_age)
{
    h2o_req_t *req = c->req;
    bool secure = strncmp(c->t->api->cfg->public_url, "https://", 8) == 0;
    char *v = h2o_mem_alloc_pool(&req->pool, 256);
    int n = snprintf(v, 256, SESSION_COOKIE "=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", value, max_age,
                     secure ? "; Secure" : "");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, v, (size_t)n);
}

static json_t *user_json(const struct user *u)
{
    return json_pack("{s:s, s:s, s:b, s:I}", "id", u->id, "name", u->name, "isAdmin", u->is_admin, "balance",
                     (json_int_t)u->balance);
}

/* The reply of a login and of GET /auth/session. */
static int session_reply(struct api_call *c, const char *token, size_t len, int64_t expires_at)
{
    char csrf[SESSION_CSRF_LEN + 1];
    json_t *fields = json_pack("{s:o}", "user", user_json(&c->user));
    if (token != NULL) {
        session_csrf(token, len, csrf);
        json_object_set_new(fields, "csrfToken", json_string(csrf));
        json_object_set_new(fields, "expiresAt", api_time(expires_at));
    }
    return api_ok(c, fields);
}

/* Opens a session for c->user and answers with its cookie. */
static int start_session(struct api_call *c)
{
    char token[SESSION_TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
    struct vg_error err;
    long seconds = c->t->api->cfg->session_seconds;
    int64_t expires_at = clock_now_ms() + seconds * 1000LL;
    session_token_new(token);
    token_hash(token, strlen(token), hash);
    if (store_session_create(c->t->store, c->user.id, hash, expires_at, &err) != VG_OK)
        return api_fail(c, &err);
    set_cookie(c, token, seconds);
    return session_reply(c, token, strlen(token), expires_at);
}

static int refuse_login(struct api_call *c, const char *name, const char *addr)
{
    login_limit_failed(c->t->api->login_limit, name, addr, clock_now_ms());
    return api_fail_with(c, VG_ERR_UNAUTHORIZED, "", "wrong user name or password");
}

static void check_password(struct http_offload *o)
{
    struct login *l = H2O_STRUCT_FROM_MEMBER(struct login, check, o);
    l->ok = password_verify(l->hash[0] ? l->hash : NULL, l->password, l->password_len);
}

static void password_checked(struct http_offload *o)
{
    struct login *l = H2O_STRUCT_FROM_MEMBER(struct login, check, o);
    if (!l->ok) {
        refuse_login(&l->c, l->name, l->addr);
        return;
    }
    login_limit_succeeded(l->c.t->api->login_limit, l->name);
    l->c.user = l->user;
    start_session(&l->c);
}

/* {"token": "vg_…"}: a session for the owner of a live API token. */
static int login_with_token(struct api_call *c, json_t *token, const char *addr)
{
    struct vg_error err;
    if (!json_is_string(token) || json_string_length(token) == 0 || json_string_length(token) > 256)
        return api_fail_with(c, VG_ERR_INVALID, "token", "token must be an API token (vg_…)");
    token_hash(json_string_value(token), json_string_length(token), c->token_hash);
    enum vg_err e = store_token_user(c->t->store, c->token_hash, &c->user, &err);
    if (e == VG_ERR_UNAUTHORIZED || e == VG_ERR_NOT_FOUND) {
        login_limit_failed(c->t->api->login_limit, NULL, addr, clock_now_ms());
        return api_fail_with(c, VG_ERR_UNAUTHORIZED, "token", "the API token is unknown or revoked");
    }
    return e != VG_OK ? api_fail(c, &err) : start_session(c);
}

/* Checks the body's name and password; 0 with them set, else answered. */
static int read_credentials(struct api_call *c, json_t *body, struct login *l)
{
    struct vg_error err;
    json_t *name = json_object_get(body, "name"), *pw = json_object_get(body, "password");
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > STORE_NAME_MAX)
        return api_fail_with(c, VG_ERR_INVALID, "name", "name must be a user name of 1 to 64 characters"), -1;
    if (!json_is_string(pw) || json_string_length(pw) == 0)
        return api_fail_with(c, VG_ERR_INVALID, "password", "password must be a non-empty string"), -1;
    if (json_string_length(pw) > PASSWORD_MAX) {
        vg_fail(&err, VG_ERR_INVALID, "password", "the password must be at most %d bytes long", PASSWORD_MAX);
        return api_fail(c, &err), -1;
    }
    snprintf(l->name, sizeof l->name, "%s", json_string_value(name));
    l->password_len = json_string_length(pw);
    char *copy = h2o_mem_alloc_pool(&c->req->pool, l->password_len + 1);
    memcpy(copy, json_string_value(pw), l->password_len + 1);
    l->password = copy;
    return 0;
}

static int login(struct api_call *c, json_t *body)
{
    struct vg_error err;
    struct login *l = h2o_mem_alloc_pool(&c->req->pool, sizeof *l);
    memset(l, 0, sizeof *l);
    peer_address(c->req, l->addr, sizeof l->addr);
    json_t *token = json_object_get(body, "token");
    /* a token login names nobody: only its address is limited, so it cannot lock anyone out */
    const char *name = json_string_value(json_object_get(body, "name"));
    int wait = login_limit_wait(c->t->api->login_limit, token ? NULL : name ? name : "", l->addr, clock_now_ms());
    if (wait > 0) {
        vg_fail(&err, VG_ERR_RATE_LIMITED, "", "too many failed logins: try again in %d s", wait);
        err.retry_after_s = wait;
        return api_fail(c, &err);
    }
    if (token != NULL)
        return login_with_token(c, token, l->addr);
    if (read_credentials(c, body, l) != 0)
        return 0;
    enum vg_err e = store_password_get(c->t->store, l->name, &l->user, l->hash, &err);
    if (e != VG_OK && e != VG_ERR_NOT_FOUND)
        return api_fail(c, &err);
    l->c = *c;
    l->check.work = check_password;
    l->check.done = password_checked;
    http_offload(c->req->conn->ctx, &l->check);
    return 0;
}

int api_auth_login(struct api_call *c)
{
    struct vg_error err;
    json_t *body;
    if (!api_auth_same_origin(c, false))
        return api_fail_with(c, VG_ERR_FORBIDDEN, "", "log in from a page of this site");
    if (api_read_json(c, &body, &err) != VG_OK)
        return api_fail(c, &err);
    int rc = login(c, body);
    json_decref(body);
    return rc;
}

int api_auth_logout(struct api_call *c)
{
    struct vg_error err;
    if (c->session.base == NULL)
        return api_fail_with(c, VG_ERR_BAD_REQUEST, "",
                             "this request has no session to end (an API token is revoked with vidgen token revoke)");
    enum vg_err e = store_session_revoke(c->t->store, c->token_hash, &err);
    if (e != VG_OK && e != VG_ERR_NOT_FOUND)
        return api_fail(c, &err);
    set_cookie(c, "", 0);
    return api_ok(c, NULL);
}

int api_auth_session(struct api_call *c)
{
    struct vg_error err;
    int64_t expires_at = 0;
    if (c->session.base != NULL && store_session_user(c->t->store, c->token_hash, &c->user, &expires_at, &err) != VG_OK)
        return api_fail(c, &err);
    return session_reply(c, c->session.base, c->session.len, expires_at);
}
