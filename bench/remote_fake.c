/* A fast fake ModelsLab for bench/remote.py: the same contract and the same reply bytes as
 * tests/fakes/modelslab.py (../shared/providers/modelslab.md), in one epoll thread, so that
 * tens of thousands of polls a second cost the fake little of the machine's two cores.
 *
 *   remote_fake --port N --mp4 FILE [--polls P] [--eta S] [--instant] [--key K]
 *               [--queue-limit N] [--host H]
 *
 * Prints its base URL (http://H:N/api, what MODELSLAB_BASE_URL takes) and serves until
 * SIGINT or SIGTERM. Like modelslab.py: every API call is a POST whose JSON body carries the
 * `key` (401 in ModelsLab's error shape otherwise); submits are checked for the required
 * fields, the documented JSON types, v7 model ids and v7's string duration (400); a job
 * answers "processing" (with a float eta, fetch_result, future_links and meta, the request
 * minus the key) to its first P polls and "success" (output[0] and proxy_links[0] served
 * here) to the next; --instant answers the submit with the success; an unknown id gets the
 * "Request not found" body; the video is the storage's XML 404 until the job succeeded.
 * Not here (the Python fake has them for the tests): scripted faults, webhooks, chunked
 * request bodies, other ends than success.
 *
 * GET /stats (outside the API) answers the counters the bench reads:
 * {"submits":..,"polls":..,"videos":..,"other":..,"jobs":..,"ended":..,"connections":..}. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (1 << 20) /* head + body of one request */
#define FIRST_ID 70000001LL

struct job {
    char name[33];  /* the result file's name */
    char *meta;     /* the request minus the key, as JSON */
    int polls;      /* polls answered so far */
    bool ended, v6; /* family */
    double created, ended_at;
};

struct conn {
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out; /* what the socket did not take yet */
    size_t out_len, out_off;
    bool closing, want_out;
};

static struct {
    const char *host, *key;
    int port, polls, queue_limit;
    double eta;
    bool instant;
    char origin[64];
    char *mp4;
    size_t mp4_len;
    struct job *jobs;
    size_t n_jobs, cap_jobs, unfinished;
    unsigned long long submits, polls_served, videos, other, connections;
    volatile sig_atomic_t stop;
} F = {.host = "127.0.0.1", .key = "ml-test-key", .polls = 2, .eta = 0.5};

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- replies ---------------------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    default: return "Error";
    }
}

/* Queues the reply on the connection (headers as Python's http.server sends them). */
static void reply(struct conn *c, int status, const char *type, const char *extra, const char *body, size_t len,
                  bool head)
{
    static char date[64];
    static time_t date_at;
    time_t now = time(NULL);
    if (now != date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_at = now;
    }
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: fake-modelslab\r\nDate: %s\r\nContent-Type: %s\r\n%s"
                     "Content-Length: %zu\r\n\r\n",
                     status, reason(status), date, type, extra ? extra : "", len);
    size_t total = (size_t)n + (head ? 0 : len);
    char *p = realloc(c->out, c->out_len + total);
    if (p == NULL) {
        c->closing = true;
        return;
    }
    c->out = p;
    memcpy(c->out + c->out_len, hdr, (size_t)n);
    if (!head)
        memcpy(c->out + c->out_len + n, body, len);
    c->out_len += total;
}

static void reply_json(struct conn *c, int status, const char *extra, const char *body)
{
    reply(c, status, "application/json", extra, body, strlen(body), false);
}

/* ModelsLab's error shape. */
static void error(struct conn *c, int status, const char *message, const char *extra)
{
    json_t *b = json_pack("{s:s,s:s}", "status", "error", "message", message);
    char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    reply_json(c, status, extra, s);
    free(s);
    json_decref(b);
}

/* Python's repr of round(x, 2): at most two decimals, at least one. */
static void two_decimals(char *dst, size_t cap, double x)
{
    snprintf(dst, cap, "%.2f", x);
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == '0' && dst[n - 2] != '.')
        dst[--n] = '\0';
}

static void job_reply(struct conn *c, size_t i)
{
    struct job *j = &F.jobs[i];
    long long id = FIRST_ID + (long long)i;
    const char *fetch = j->v6 ? "/api/v6/video/fetch/" : "/api/v7/video-fusion/fetch/";
    char body[8192], eta[32], gt[32];
    if (!j->ended) {
        snprintf(eta, sizeof eta, "%.17g", F.eta);
        if (strchr(eta, '.') == NULL && strchr(eta, 'e') == NULL)
            strcat(eta, ".0"); /* a JSON float, as float(eta) dumps */
        snprintf(body, sizeof body,
                 "{\"status\":\"processing\",\"eta\":%s,\"message\":\"Try to fetch request after seconds estimated\","
                 "\"fetch_result\":\"%s%s%lld\",\"id\":%lld,\"output\":[],\"meta\":%s,"
                 "\"future_links\":[\"%s/generations/%s.mp4\"]}",
                 eta, F.origin, fetch, id, id, j->meta, F.origin, j->name);
    } else {
        two_decimals(gt, sizeof gt, j->ended_at - j->created);
        snprintf(body, sizeof body,
                 "{\"status\":\"success\",\"generationTime\":%s,\"id\":%lld,"
                 "\"output\":[\"%s/generations/%s.mp4\"],\"proxy_links\":[\"%s/cdn/generations/%s.mp4\"],"
                 "\"meta\":%s}",
                 gt, id, F.origin, j->name, F.origin, j->name, j->meta);
    }
    reply_json(c, 200, NULL, body);
}

static void end_job(struct job *j)
{
    j->ended = true;
    j->ended_at = wall();
    F.unfinished--;
}

/* --- checks (modelslab.py's _authorize and _invalid) -------------------------------------- */

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return "null";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    default: return "object";
    }
}

/* Documented fields and their types, "|"-separated in sorted order (as the 400 names them). */
static const char *const v6_fields[][2] = {{"model_id", "string"},
                                           {"prompt", "string"},
                                           {"negative_prompt", "null|string"},
                                           {"seed", "integer|null"},
                                           {"resolution", "integer"},
                                           {"num_frames", "integer"},
                                           {"num_inference_steps", "integer"},
                                           {"guidance_scale", "integer|number"},
                                           {"fps", "integer"},
                                           {"portrait", "boolean"},
                                           {"sample_shift", "integer|number"},
                                           {"temp", "boolean"},
                                           {"webhook", "string"},
                                           {"track_id", "string"},
                                           {"init_image", "string"},
                                           {"base64", "boolean"},
                                           {NULL, NULL}};
static const char *const v7_fields[][2] = {{"model_id", "string"},        {"prompt", "string"},
                                           {"aspect_ratio", "string"},    {"duration", "string"},
                                           {"generate_audio", "boolean"}, {"negative_prompt", "null|string"},
                                           {"enhance_prompt", "boolean"}, {"resolution", "string"},
                                           {"init_audio", "string"},      {"init_image", "string"},
                                           {"camera_fixed", "boolean"},   {"webhook", "string"},
                                           {"track_id", "string"},        {NULL, NULL}};
static const char *const v7_models[] = {
    "veo3", "veo2", "veo-3.0-fast-generate", "veo-3.1", "veo-3.1-fast", "seedance-t2v", "seedance-i2v", "wan2.2", NULL};

static bool type_ok(const char *types, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = types; p; p = strchr(p, '|')) {
        if (*p == '|')
            p++;
        if (strncmp(p, name, n) == 0 && (p[n] == '\0' || p[n] == '|'))
            return true;
    }
    return false;
}

static bool empty_field(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* The body when it is a JSON object with an accepted key; else the refusal is queued. */
static json_t *authorize(struct conn *c, const char *type, const char *body, size_t len)
{
    if (type == NULL || (strncasecmp(type, "application/json", 16) != 0)) {
        error(c, 400, "Content-Type must be application/json", NULL);
        return NULL;
    }
    json_t *b = json_loadb(body, len, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        error(c, 400, "The request body must be a JSON object", NULL);
        return NULL;
    }
    json_t *key = json_object_get(b, "key");
    if (empty_field(key) || (json_is_string(key) && strcmp(json_string_value(key), F.key) != 0) ||
        !json_is_string(key)) {
        error(c, 401, empty_field(key) ? "API key required" : "Invalid API key", NULL);
        json_decref(b);
        return NULL;
    }
    return b;
}

static bool invalid(struct conn *c, json_t *b, bool v6, bool image)
{
    char msg[256];
    const char *required[] = {"prompt", "model_id", image ? "init_image" : NULL};
    for (int i = 0; i < 3 && required[i]; i++)
        if (empty_field(json_object_get(b, required[i]))) {
            snprintf(msg, sizeof msg, "%s is required", required[i]);
            return error(c, 400, msg, NULL), true;
        }
    const char *const(*fields)[2] = v6 ? v6_fields : v7_fields;
    for (int i = 0; fields[i][0]; i++) {
        json_t *v = json_object_get(b, fields[i][0]);
        if (v && !type_ok(fields[i][1], json_type_name(v))) {
            char types[64];
            snprintf(types, sizeof types, "%s", fields[i][1]);
            for (char *p = types; (p = strchr(p, '|'));)
                memmove(p + 4, p + 1, strlen(p)), memcpy(p, " or ", 4), p += 4;
            snprintf(msg, sizeof msg, "%s must be of type %s", fields[i][0], types);
            return error(c, 400, msg, NULL), true;
        }
    }
    if (!v6) {
        const char *model = json_string_value(json_object_get(b, "model_id"));
        bool known = false;
        for (int i = 0; v7_models[i]; i++)
            known = known || strcmp(v7_models[i], model) == 0;
        if (!known) {
            snprintf(msg, sizeof msg, "Model not found: %.200s", model);
            return error(c, 400, msg, NULL), true;
        }
        const char *d = json_string_value(json_object_get(b, "duration"));
        bool digits = d == NULL || *d != '\0'; /* absent: "0", digits */
        for (const char *p = d; p && *p; p++)
            digits = digits && isdigit((unsigned char)*p);
        if (!digits)
            return error(c, 400, "duration must be a number of seconds as a string, such as \"8\"", NULL), true;
    }
    return false;
}

/* --- endpoints --------------------------------------------------------------------------- */

static void submit(struct conn *c, const char *type, const char *body, size_t len, bool v6, bool image)
{
    json_t *b = authorize(c, type, body, len);
    if (b == NULL || invalid(c, b, v6, image)) {
        json_decref(b);
        return;
    }
    if (F.queue_limit > 0 && F.unfinished >= (size_t)F.queue_limit) {
        json_decref(b);
        json_t *e = json_pack("{s:s,s:s,s:i}", "status", "error", "message",
                              "Rate limit exceeded. Maximum 5 queued requests allowed.", "retry_after", 30);
        char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        reply_json(c, 429, NULL, s);
        free(s), json_decref(e);
        return;
    }
    if (F.n_jobs == F.cap_jobs) {
        F.cap_jobs = F.cap_jobs ? F.cap_jobs * 2 : 16384;
        F.jobs = realloc(F.jobs, F.cap_jobs * sizeof *F.jobs);
        if (F.jobs == NULL)
            abort();
    }
    size_t i = F.n_jobs++;
    struct job *j = &F.jobs[i];
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%08zx%08lx%08lx%08lx", i, random(), random(), random());
    json_object_del(b, "key");
    j->meta = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    j->v6 = v6;
    j->created = wall();
    json_decref(b);
    F.unfinished++;
    F.submits++;
    if (F.instant)
        end_job(j);
    job_reply(c, i);
}

static void fetch(struct conn *c, const char *type, const char *body, size_t len, bool v6, const char *id)
{
    json_t *b = authorize(c, type, body, len);
    if (b == NULL)
        return;
    json_decref(b);
    char *end;
    errno = 0;
    long long n = strtoll(id, &end, 10);
    size_t i = (size_t)(n - FIRST_ID);
    F.polls_served++;
    if (*id == '\0' || *end != '\0' || errno || n < FIRST_ID || i >= F.n_jobs || F.jobs[i].v6 != v6) {
        reply_json(c, 200, NULL,
                   "{\"status\":\"failed\",\"id\":\"\",\"message\":\"Request not found\",\"output\":\"\","
                   "\"tip\":\"The request id is wrong or the request has expired\"}");
        return;
    }
    struct job *j = &F.jobs[i];
    if (!j->ended) {
        if (j->polls < F.polls)
            j->polls++;
        else
            end_job(j);
    }
    job_reply(c, i);
}

static void video(struct conn *c, const char *name, size_t name_len, bool head)
{
    size_t i = 0;
    bool found = false;
    if (name_len == 32) {
        char idx[9];
        memcpy(idx, name, 8), idx[8] = '\0';
        i = strtoul(idx, NULL, 16);
        found = i < F.n_jobs && memcmp(F.jobs[i].name, name, 32) == 0 && F.jobs[i].ended;
    }
    F.videos++;
    if (!found) {
        static const char nf[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>"
                                 "The specified key does not exist.</Message></Error>";
        reply(c, 404, "application/xml", NULL, nf, sizeof nf - 1, head);
        return;
    }
    reply(c, 200, "video/mp4", "Accept-Ranges: none\r\n", F.mp4, F.mp4_len, head);
}

static void stats(struct conn *c)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"submits\":%llu,\"polls\":%llu,\"videos\":%llu,\"other\":%llu,\"jobs\":%zu,\"ended\":%zu,"
             "\"connections\":%llu}",
             F.submits, F.polls_served, F.videos, F.other, F.n_jobs, F.n_jobs - F.unfinished, F.connections);
    reply_json(c, 200, NULL, body);
}

static const struct {
    const char *path;
    bool v6, image;
} submits[] = {
    {"/api/v6/video/text2video", true, false},
    {"/api/v6/video/text2video_ultra", true, false},
    {"/api/v6/video/img2video", true, true},
    {"/api/v6/video/img2video_ultra", true, true},
    {"/api/v7/video-fusion/text-to-video", false, false},
    {"/api/v7/video-fusion/image-to-video", false, true},
};

static void route(struct conn *c, const char *method, const char *path, const char *type, const char *body, size_t len)
{
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    for (size_t k = 0; k < sizeof submits / sizeof submits[0]; k++)
        if (strcmp(path, submits[k].path) == 0) {
            if (!post)
                break;
            return submit(c, type, body, len, submits[k].v6, submits[k].image);
        }
    static const char v6f[] = "/api/v6/video/fetch/", v7f[] = "/api/v7/video-fusion/fetch/";
    if (post && strncmp(path, v6f, sizeof v6f - 1) == 0 && !strchr(path + sizeof v6f - 1, '/'))
        return fetch(c, type, body, len, true, path + sizeof v6f - 1);
    if (post && strncmp(path, v7f, sizeof v7f - 1) == 0 && !strchr(path + sizeof v7f - 1, '/'))
        return fetch(c, type, body, len, false, path + sizeof v7f - 1);
    const char *g = strncmp(path, "/cdn/", 5) == 0 ? path + 4 : path;
    size_t gl = strlen(g);
    if ((get || head) && strncmp(g, "/generations/", 13) == 0 && gl > 17 && strcmp(g + gl - 4, ".mp4") == 0 &&
        !memchr(g + 13, '/', gl - 17))
        return video(c, g + 13, gl - 17, head);
    if (get && strcmp(path, "/stats") == 0)
        return stats(c);
    F.other++;
    bool known = false;
    for (size_t k = 0; k < sizeof submits / sizeof submits[0]; k++)
        known = known || strcmp(path, submits[k].path) == 0;
    known = known || strncmp(path, v6f, sizeof v6f - 1) == 0 || strncmp(path, v7f, sizeof v7f - 1) == 0;
    if (known)
        return error(c, 405, "Method Not Allowed", "Allow: POST\r\n");
    error(c, 404, "Not Found", NULL);
}

/* --- HTTP/1.1 ---------------------------------------------------------------------------- */

/* Handles every complete request in c->in; false when the connection must close. */
static bool parse(struct conn *c)
{
    size_t off = 0;
    while (!c->closing) {
        char *start = c->in + off, *eoh = memmem(start, c->in_len - off, "\r\n\r\n", 4);
        if (eoh == NULL)
            break;
        *eoh = '\0';
        char method[16], target[2048];
        if (sscanf(start, "%15s %2047s HTTP/1.%*c", method, target) != 2)
            return false;
        size_t clen = 0;
        const char *type = NULL;
        char typebuf[128] = "";
        bool close_after = false, chunked = false;
        for (char *line = strstr(start, "\r\n"); line; line = strstr(line, "\r\n")) {
            line += 2;
            if (strncasecmp(line, "Content-Length:", 15) == 0)
                clen = strtoul(line + 15, NULL, 10);
            else if (strncasecmp(line, "Content-Type:", 13) == 0) {
                const char *v = line + 13;
                while (*v == ' ')
                    v++;
                size_t n = strcspn(v, "\r");
                snprintf(typebuf, sizeof typebuf, "%.*s", (int)n, v);
                type = typebuf;
            } else if (strncasecmp(line, "Connection:", 11) == 0) {
                char v[64];
                snprintf(v, sizeof v, "%.*s", (int)strcspn(line + 11, "\r"), line + 11);
                close_after = strcasestr(v, "close") != NULL;
            } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
                chunked = true;
        }
        size_t head_len = (size_t)(eoh - start) + 4;
        if (chunked || clen > MAX_REQUEST) {
            *eoh = '\r';
            reply(c, 400, "text/plain; charset=utf-8", NULL, "malformed or oversized request body", 35, false);
            c->closing = true;
            break;
        }
        if (c->in_len - off < head_len + clen) {
            *eoh = '\r'; /* the body is not all here: parse again when it is */
            break;
        }
        char *q = strchr(target, '?');
        if (q)
            *q = '\0';
        char *body = start + head_len;
        char saved = body[clen];
        body[clen] = '\0';
        route(c, method, target, type, body, clen);
        body[clen] = saved;
        off += head_len + clen;
        if (close_after)
            c->closing = true;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return c->in_len < MAX_REQUEST;
}

/* Writes what is queued: -1 the connection is over (an error, or all sent and it closes),
 * 0 all sent, 1 some left for EPOLLOUT. */
static int flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return c->closing ? -1 : 0;
}

static void drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in), free(c->out), free(c);
}

/* Flushes and asks for EPOLLOUT only while something is left to send. */
static void after_io(int ep, struct conn *c)
{
    int r = flush(c);
    if (r < 0)
        return drop(ep, c);
    if ((r == 1) != c->want_out) {
        c->want_out = r == 1;
        struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void on_readable(int ep, struct conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 32768;
            if ((c->in = realloc(c->in, c->in_cap + 1)) == NULL)
                abort();
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return drop(ep, c);
        c->in_len += (size_t)n;
        if ((size_t)n < room)
            break; /* the socket had no more */
    }
    c->in[c->in_len] = '\0';
    if (!parse(c))
        c->closing = true;
    after_io(ep, c);
}

static void on_signal(int sig)
{
    (void)sig;
    F.stop = 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    fstat(fileno(f), &st);
    char *p = malloc((size_t)st.st_size + 1);
    *len = fread(p, 1, (size_t)st.st_size, f);
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *mp4 = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--instant") == 0)
            F.instant = true;
        else if (v && strcmp(a, "--port") == 0)
            F.port = atoi(v), i++;
        else if (v && strcmp(a, "--polls") == 0)
            F.polls = atoi(v), i++;
        else if (v && strcmp(a, "--eta") == 0)
            F.eta = atof(v), i++;
        else if (v && strcmp(a, "--key") == 0)
            F.key = v, i++;
        else if (v && strcmp(a, "--queue-limit") == 0)
            F.queue_limit = atoi(v), i++;
        else if (v && strcmp(a, "--host") == 0)
            F.host = v, i++;
        else if (v && strcmp(a, "--mp4") == 0)
            mp4 = v, i++;
        else {
            fprintf(stderr,
                    "usage: %s --port N --mp4 FILE [--polls P] [--eta S] [--instant] [--key K] "
                    "[--queue-limit N] [--host H]\n",
                    argv[0]);
            return 2;
        }
    }
    if (mp4 == NULL || (F.mp4 = read_file(mp4, &F.mp4_len)) == NULL) {
        fprintf(stderr, "remote_fake: --mp4 FILE: cannot read %s\n", mp4 ? mp4 : "(none)");
        return 2;
    }
    srandom((unsigned)getpid());
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F.port)};
    inet_pton(AF_INET, F.host, &sa.sin_addr);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 4096) != 0) {
        perror("remote_fake: bind");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    F.port = ntohs(sa.sin_port);
    snprintf(F.origin, sizeof F.origin, "http://%s:%d", F.host, F.port);
    printf("%s/api\n", F.origin);
    fflush(stdout);
    struct sigaction sig = {.sa_handler = on_signal};
    sigaction(SIGINT, &sig, NULL);
    sigaction(SIGTERM, &sig, NULL);
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    struct epoll_event evs[512];
    while (!F.stop) {
        int n = epoll_wait(ep, evs, 512, 200);
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    F.connections++;
                }
                continue;
            }
            if (evs[k].events & (EPOLLERR | EPOLLHUP) && !(evs[k].events & EPOLLIN)) {
                drop(ep, c);
                continue;
            }
            if (evs[k].events & EPOLLIN)
                on_readable(ep, c);
            else if (evs[k].events & EPOLLOUT)
                after_io(ep, c);
        }
    }
    return 0;
}
