/* http_client: the CLI's blocking JSON client of a running vidgen server. See http_client.h. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http_client.h"

#define HTTP_CLIENT_MAX_REPLY (8u << 20) /* bytes: no API reply comes near it */
#define HTTP_CLIENT_CONNECT_TIMEOUT 10L  /* seconds */
#define HTTP_CLIENT_TIMEOUT 60L          /* seconds, the whole exchange */

struct http_client {
    CURL *curl;
    char *base_url; /* without a trailing '/' */
    char *auth;     /* "Authorization: Bearer TOKEN", or NULL */
};

/* The reply body as it arrives. */
struct body_buf {
    char *data;
    size_t len, cap;
    bool too_large;
};

int http_client_global_init(void)
{
    CURLcode e = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (e != CURLE_OK) {
        fprintf(stderr, "vidgen: cannot initialise libcurl: %s\n", curl_easy_strerror(e));
        return -1;
    }
    return 0;
}

void http_client_global_cleanup(void)
{
    curl_global_cleanup();
}

struct http_client *http_client_new(const char *base_url, const char *token)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    bool ok = (c->curl = curl_easy_init()) != NULL && (c->base_url = strdup(base_url)) != NULL;
    if (ok && token != NULL && asprintf(&c->auth, "Authorization: Bearer %s", token) < 0) {
        c->auth = NULL; /* asprintf leaves it undefined */
        ok = false;
    }
    if (!ok) {
        http_client_free(c);
        return NULL;
    }
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    return c;
}

void http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    free(c->auth);
    free(c->base_url);
    free(c);
}

const char *http_client_base_url(const struct http_client *c)
{
    return c->base_url;
}

/* The server URL from the listen address: a wildcard address is reached on loopback, and
 * an IPv6 literal is bracketed. */
static void url_from_addr(const struct config *cfg, char *out, size_t len)
{
    const char *host = cfg->host;
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
        host = "[::1]";
    if (strchr(host, ':') != NULL && host[0] != '[')
        snprintf(out, len, "http://[%s]:%u", host, cfg->port);
    else
        snprintf(out, len, "http://%s:%u", host, cfg->port);
}

/* The first line of DATA_DIR/admin-token, trimmed, into out[len]; 0, or -1 when there is none. */
static int read_admin_token(const struct config *cfg, char *out, size_t len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/admin-token", cfg->data_dir);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    char *line = fgets(out, (int)len, fp);
    fclose(fp);
    if (line == NULL)
        return -1;
    size_t n = strcspn(out, "\r\n");
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

struct http_client *http_client_for_config(const struct config *cfg)
{
    char url[1100], token[sizeof cfg->token];
    if (cfg->server_url[0] != '\0')
        snprintf(url, sizeof url, "%s", cfg->server_url);
    else
        url_from_addr(cfg, url, sizeof url);
    if (cfg->token[0] != '\0')
        snprintf(token, sizeof token, "%s", cfg->token);
    else if (read_admin_token(cfg, token, sizeof token) != 0) {
        fprintf(stderr, "vidgen: no API token: set VIDGEN_TOKEN (in the environment or .env) to a token from "
                        "`vidgen user add` or `vidgen token create`\n");
        return NULL;
    }
    struct http_client *c = http_client_new(url, token);
    if (c == NULL)
        fprintf(stderr, "vidgen: out of memory\n");
    return c;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct body_buf *b = arg;
    size_t add = size * n;
    if (add > HTTP_CLIENT_MAX_REPLY - b->len) {
        b->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Authorization, JSON content type when there is a body, then the caller's lines. NULL when
 * out of memory (or when there are no headers at all, which never happens: Accept is always
 * sent). */
static struct curl_slist *build_headers(const struct http_client *c, bool has_body, const char *const *extra)
{
    struct curl_slist *list = NULL, *next;
    const char *fixed[] = {"Accept: application/json", c->auth, has_body ? "Content-Type: application/json" : NULL};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (fixed[i] == NULL)
            continue;
        if ((next = curl_slist_append(list, fixed[i])) == NULL)
            goto fail;
        list = next;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if ((next = curl_slist_append(list, extra[i])) == NULL)
            goto fail;
        list = next;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

/* Sets up the handle for one exchange; every option not set here is back at its default. */
static CURLcode prepare(struct http_client *c, const char *method, const char *url, const char *payload,
                        struct curl_slist *headers, struct body_buf *buf, char *errbuf)
{
    CURL *h = c->curl;
    CURLcode e = CURLE_OK;
    curl_easy_reset(h); /* keeps the live connection */
#define SET(opt, val)                                                                                                  \
    do {                                                                                                               \
        if (e == CURLE_OK)                                                                                             \
            e = curl_easy_setopt(h, opt, val);                                                                         \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, HTTP_CLIENT_CONNECT_TIMEOUT);
    SET(CURLOPT_TIMEOUT, HTTP_CLIENT_TIMEOUT);
    SET(CURLOPT_USERAGENT, "vidgen-cli");
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, buf);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    if (payload != NULL) {
        SET(CURLOPT_POSTFIELDS, payload);
        SET(CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    if (strcmp(method, "GET") == 0)
        SET(CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0 || payload == NULL)
        SET(CURLOPT_CUSTOMREQUEST, method);
#undef SET
    return e;
}

/* Why no reply arrived, in the words the CLI prints after "vidgen: ". */
static void describe_failure(const struct http_client *c, CURLcode e, const char *errbuf, const struct body_buf *b,
                             struct http_reply *reply)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(e);
    if (b->too_large)
        snprintf(reply->error, sizeof reply->error, "the reply from %s is larger than %u bytes", c->base_url,
                 HTTP_CLIENT_MAX_REPLY);
    else if (e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST || e == CURLE_OPERATION_TIMEDOUT)
        snprintf(reply->error, sizeof reply->error, "cannot reach the server at %s: %s", c->base_url, why);
    else
        snprintf(reply->error, sizeof reply->error, "request to %s failed: %s", c->base_url, why);
}

int http_client_request(struct http_client *c, const char *method, const char *path, json_t *body,
                        const char *const *headers, struct http_reply *reply)
{
    struct curl_slist *list = NULL;
    struct body_buf buf = {0};
    char *url = NULL, *payload = NULL, errbuf[CURL_ERROR_SIZE] = "";
    CURLcode e;
    int rc = -1;

    memset(reply, 0, sizeof *reply);
    snprintf(reply->error, sizeof reply->error, "out of memory");
    if (asprintf(&url, "%s%s", c->base_url, path) < 0) {
        url = NULL;
        goto out;
    }
    if (body != NULL && (payload = json_dumps(body, JSON_COMPACT)) == NULL)
        goto out;
    if ((list = build_headers(c, body != NULL, headers)) == NULL)
        goto out;
    if ((e = prepare(c, method, url, payload, list, &buf, errbuf)) == CURLE_OK)
        e = curl_easy_perform(c->curl);
    if (e != CURLE_OK) {
        describe_failure(c, e, errbuf, &buf, reply);
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply->status);
    if (buf.len > 0)
        reply->json = json_loadb(buf.data, buf.len, 0, NULL);
    reply->error[0] = '\0';
    rc = 0;
out:
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL); /* errbuf dies with this frame */
    curl_slist_free_all(list);
    free(buf.data);
    free(payload);
    free(url);
    return rc;
}

int http_client_escape(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     strchr("-._~", *p) != NULL;
        if (o + (plain ? 1 : 3) >= len)
            return -1;
        if (plain)
            out[o++] = (char)*p;
        else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (len == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

bool http_reply_ok(const struct http_reply *r)
{
    return r->status >= 200 && r->status < 300 && json_is_object(r->json) &&
           json_is_true(json_object_get(r->json, "success"));
}

bool http_reply_transient(const struct http_reply *r)
{
    return r->status == 0 || r->status == 429 || r->status >= 500;
}

const char *http_reply_describe(const struct http_reply *r, char *buf, size_t len)
{
    json_t *err = json_object_get(r->json, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *field = json_string_value(json_object_get(err, "field"));
    if (r->status == 0)
        snprintf(buf, len, "%s", r->error);
    else if (msg != NULL && field != NULL && field[0] != '\0')
        snprintf(buf, len, "%s (field %s)", msg, field);
    else if (msg != NULL)
        snprintf(buf, len, "%s", msg);
    else
        snprintf(buf, len, "unexpected reply from the server: HTTP %ld%s", r->status,
                 r->json == NULL ? " without a JSON body" : "");
    return buf;
}

void http_reply_clear(struct http_reply *r)
{
    json_decref(r->json);
    r->json = NULL;
}
