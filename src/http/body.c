#include "http/body.h"

#include <stdlib.h>
#include <string.h>

#include "http/head.h"

/* One body being read. A loop has few at once (uploads), so they are found by socket in a
 * short per-thread list: h2o's socket callback carries only the socket. */
struct reading {
    h2o_req_t *req;
    h2o_socket_t *sock;
    size_t head_len, left;
    bool keep_alive;
    const struct http_body_reader *reader;
    void *arg;
    h2o_timeout_t idle;
    h2o_timeout_entry_t idle_entry;
    struct reading *next;
};

static __thread struct reading *readings;

bool http_body_deferred(h2o_req_t *req, struct http_body *body)
{
    if (req->version >= 0x200) /* only http/head.c adds the header, and only to HTTP/1 */
        return false;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT(HTTP_HEAD_DEFERRED_HEADER), -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    const char *space = memchr(v.base, ' ', v.len);
    if (space == NULL)
        return false;
    body->length = h2o_strtosize(v.base, (size_t)(space - v.base));
    body->head_len = h2o_strtosize(space + 1, v.len - (size_t)(space + 1 - v.base));
    if (body->length == SIZE_MAX || body->head_len == SIZE_MAX)
        return false;
    body->keep_alive = req->http1_is_persistent;
    req->http1_is_persistent = 0;
    return true;
}

static void unlink_reading(struct reading *r)
{
    for (struct reading **p = &readings; *p != NULL; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

static void finish(struct reading *r, enum http_body_end end)
{
    h2o_socket_read_stop(r->sock);
    if (h2o_timeout_is_linked(&r->idle_entry))
        h2o_timeout_unlink(&r->idle_entry);
    h2o_timeout_dispose(r->req->conn->ctx->loop, &r->idle);
    unlink_reading(r);
    if (end == HTTP_BODY_COMPLETE)
        r->req->http1_is_persistent = r->keep_alive && !r->req->conn->ctx->shutdown_requested;
    const struct http_body_reader *reader = r->reader;
    void *arg = r->arg;
    free(r);
    reader->on_end(arg, end);
}

/* Passes on what the input holds of the body and cuts it out, keeping whatever follows it
 * (a pipelined request) where h2o will look for it after the response. 1 when the read
 * ended (r is gone). */
static int take_input(struct reading *r)
{
    h2o_buffer_t *in = r->sock->input;
    size_t avail = in->size - r->head_len, n = avail < r->left ? avail : r->left;
    if (n > 0) {
        int rc = r->reader->on_data(r->arg, in->bytes + r->head_len, n);
        memmove(in->bytes + r->head_len, in->bytes + r->head_len + n, avail - n);
        in->size -= n;
        r->left -= n;
        if (rc != 0) {
            finish(r, HTTP_BODY_STOPPED);
            return 1;
        }
    }
    if (r->left == 0) {
        finish(r, HTTP_BODY_COMPLETE);
        return 1;
    }
    return 0;
}

static struct reading *find(h2o_socket_t *sock)
{
    struct reading *r = readings;
    while (r != NULL && r->sock != sock)
        r = r->next;
    return r;
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct reading *r = find(sock);
    if (r == NULL)
        return;
    if (err != NULL) {
        finish(r, HTTP_BODY_CLOSED);
        return;
    }
    if (take_input(r) == 0) {
        h2o_timeout_unlink(&r->idle_entry);
        h2o_timeout_link(r->req->conn->ctx->loop, &r->idle, &r->idle_entry);
    }
}

static void on_idle(h2o_timeout_entry_t *entry)
{
    struct reading *r = H2O_STRUCT_FROM_MEMBER(struct reading, idle_entry, entry);
    finish(r, HTTP_BODY_TIMED_OUT);
}

void http_body_read(h2o_req_t *req, const struct http_body *body, const struct http_body_reader *reader, void *arg)
{
    struct reading *r = calloc(1, sizeof *r);
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (r == NULL || sock == NULL || sock->input->size < body->head_len) {
        free(r);
        reader->on_end(arg, HTTP_BODY_CLOSED);
        return;
    }
    *r = (struct reading){.req = req,
                          .sock = sock,
                          .head_len = body->head_len,
                          .left = body->length,
                          .keep_alive = body->keep_alive,
                          .reader = reader,
                          .arg = arg,
                          .next = readings};
    readings = r;
    h2o_timeout_init(req->conn->ctx->loop, &r->idle, HTTP_BODY_IDLE_MS);
    r->idle_entry.cb = on_idle;
    h2o_timeout_link(req->conn->ctx->loop, &r->idle, &r->idle_entry);
    if (take_input(r) == 0)
        h2o_socket_read_start(sock, on_read);
}
