/* vidgen generate / vidgen status: the CLI client of a running server's generation API.
 *
 * generate submits one generation — into --project, else the caller's newest project, else
 * a new project "CLI" — and with --wait follows it to its end: a progress bar redrawn in
 * place when the output is a terminal, one plain line per change otherwise, then the
 * video's URL. status shows one generation. Both reach the server named by the
 * configuration (see http_client_for_config). Exit codes: 0 done, 1 failed, 2 bad usage. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "util/parse.h"

#define API "/api/apps/video-generator" /* = API_PREFIX; api/api.h is not included: it brings h2o */
#define POLL_INTERVAL_MS 500
#define RETRY_WINDOW_S 30 /* how long --wait rides out an unreachable or failing server */
#define BAR_WIDTH 20
#define ID_MAX 128

static const char generate_usage[] =
    "usage: vidgen generate --model ID --prompt TEXT [--resolution 720p|1080p|4K] [--duration S]\n"
    "                       [--aspect-ratio W:H] [--negative-prompt TEXT] [--project ID] [--audio]\n"
    "                       [--enhance-prompt] [--idempotency-key KEY] [--wait [--timeout S]] [--json]\n"
    "  Submits a generation to the server at VIDGEN_URL (default http://VIDGEN_ADDR) with the\n"
    "  token VIDGEN_TOKEN (default DATA_DIR/admin-token). --wait follows it to the end and prints\n"
    "  the video's URL; --timeout gives up waiting after S seconds; --json prints the reply.\n";
static const char status_usage[] = "usage: vidgen status ID [--json]\n";

/* What `vidgen generate` was asked to do. */
struct gen_args {
    json_t *body;                /* the POST /generate body, projectId aside; owned */
    const char *project;         /* --project, or NULL; borrowed from argv */
    const char *idempotency_key; /* borrowed from argv, or NULL */
    bool wait, as_json;
    long timeout; /* --timeout, seconds; 0 = wait as long as it takes */
};

/* One reading of GET /generations/:id/status. The strings are borrowed from `obj`. */
struct snapshot {
    json_t *obj; /* the "status" object of the reply */
    const char *status, *video_url, *error;
    int percent;
};

/* How a --wait shows progress: a bar redrawn with '\r' on a terminal, else a line per change. */
struct progress {
    FILE *out;
    bool tty, shown;
    char status[32];
    int percent, width;
};

/* -- arguments ------------------------------------------------------------------------ */

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Handles one option of generate; 0, or -1 after printing what is wrong (or getopt did). */
static int generate_option(int o, const char *name, struct gen_args *a)
{
    static const char *const keys[128] = {
        ['m'] = "modelId", ['p'] = "prompt", ['r'] = "resolution", ['a'] = "aspectRatio", ['n'] = "negativePrompt"};
    int n;
    switch (o) {
    case 'm':
    case 'p':
    case 'r':
    case 'a':
    case 'n':
        if (json_object_set_new(a->body, keys[o], json_string(optarg)) != 0)
            return fprintf(stderr, "vidgen: --%s must be UTF-8 text\n", name), -1;
        return 0;
    case 'd':
        if (parse_int(optarg, 1, INT_MAX, &n) != 0)
            return fprintf(stderr, "vidgen: --duration must be a positive whole number of seconds\n"), -1;
        return json_object_set_new(a->body, "duration", json_integer(n));
    case 't':
        if (parse_int(optarg, 1, INT_MAX, &n) != 0)
            return fprintf(stderr, "vidgen: --timeout must be a positive whole number of seconds\n"), -1;
        a->timeout = n;
        return 0;
    case 'k':
        if (optarg[0] == '\0' || has_control(optarg))
            return fprintf(stderr, "vidgen: --idempotency-key must be non-empty text on one line\n"), -1;
        a->idempotency_key = optarg;
        return 0;
    case 'P': a->project = optarg; return 0;
    case 'u': return json_object_set_new(a->body, "generateAudio", json_true());
    case 'e': return json_object_set_new(a->body, "enhancePrompt", json_true());
    case 'w': a->wait = true; return 0;
    case 'j': a->as_json = true; return 0;
    default: return -1; /* getopt has said what */
    }
}

/* Fills `a` from the command line; 0, or -1 for a usage error (a->body is set either way). */
static int parse_generate(int argc, char **argv, struct gen_args *a)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"prompt", required_argument, 0, 'p'},
                                         {"resolution", required_argument, 0, 'r'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"aspect-ratio", required_argument, 0, 'a'},
                                         {"negative-prompt", required_argument, 0, 'n'},
                                         {"project", required_argument, 0, 'P'},
                                         {"audio", no_argument, 0, 'u'},
                                         {"enhance-prompt", no_argument, 0, 'e'},
                                         {"idempotency-key", required_argument, 0, 'k'},
                                         {"wait", no_argument, 0, 'w'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {0}};
    int o, idx = 0;
    a->body = json_object();
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, &idx)) != -1)
        if (generate_option(o, opts[idx].name, a) != 0)
            return -1;
    if (optind != argc)
        return fprintf(stderr, "vidgen: generate takes no argument '%s'\n", argv[optind]), -1;
    if (!json_object_get(a->body, "modelId") || !json_object_get(a->body, "prompt"))
        return fprintf(stderr, "vidgen: generate needs --model and --prompt\n"), -1;
    if (a->timeout > 0 && !a->wait)
        return fprintf(stderr, "vidgen: --timeout goes with --wait\n"), -1;
    return 0;
}

/* -- talking to the server ---------------------------------------------------------- */

/* One request whose reply must be a success; -1 after printing the server's reason or the
 * transport error. The caller clears `r` either way. */
static int call(struct http_client *c, const char *method, const char *path, json_t *body, const char *const *headers,
                struct http_reply *r)
{
    char msg[700];
    if (http_client_request(c, method, path, body, headers, r) == 0 && http_reply_ok(r))
        return 0;
    fprintf(stderr, "vidgen: %s\n", http_reply_describe(r, msg, sizeof msg));
    return -1;
}

/* An id as the API sends it (a string; an integer is taken too) into out[len]; 0 or -1. */
static int json_id(json_t *v, char *out, size_t len)
{
    int n = -1;
    if (json_is_string(v) && json_string_length(v) > 0)
        n = snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        n = snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int unexpected(const char *what)
{
    fprintf(stderr, "vidgen: unexpected reply from the server: %s\n", what);
    return -1;
}

/* The project a generation goes to when --project is not given: the caller's newest, or a
 * new one named "CLI" when there is none. */
static int find_project(struct http_client *c, char *id, size_t len)
{
    struct http_reply r = {0};
    json_t *body = NULL;
    int rc = -1;
    if (call(c, "GET", API "/projects", NULL, NULL, &r) != 0)
        goto out;
    json_t *list = json_object_get(r.json, "projects");
    if (!json_is_array(list)) {
        rc = unexpected("GET /projects has no project list");
        goto out;
    }
    if (json_array_size(list) > 0) {
        rc = json_id(json_object_get(json_array_get(list, 0), "id"), id, len) == 0
                 ? 0
                 : unexpected("a project without an id");
        goto out;
    }
    http_reply_clear(&r);
    body = json_pack("{s:s}", "name", "CLI");
    if (call(c, "POST", API "/projects", body, NULL, &r) != 0)
        goto out;
    if (json_id(json_object_get(json_object_get(r.json, "project"), "id"), id, len) != 0) {
        rc = unexpected("POST /projects returned no project id");
        goto out;
    }
    fprintf(stderr, "vidgen: created project \"CLI\" (%s) for your generations\n", id);
    rc = 0;
out:
    json_decref(body);
    http_reply_clear(&r);
    return rc;
}

/* POSTs the generation; returns the reply (owned by the caller) with its id in id[len], or
 * NULL after printing why. Says it is queued on `note`. */
static json_t *submit(struct http_client *c, const struct gen_args *a, char *id, size_t len, FILE *note)
{
    struct http_reply r = {0};
    char header[1024];
    const char *headers[] = {NULL, NULL};
    json_t *reply = NULL;
    if (a->idempotency_key != NULL) {
        snprintf(header, sizeof header, "Idempotency-Key: %s", a->idempotency_key);
        headers[0] = header;
    }
    if (call(c, "POST", API "/generate", a->body, headers, &r) != 0)
        goto out;
    json_t *gen = json_object_get(r.json, "generation");
    if (json_id(json_object_get(gen, "id"), id, len) != 0) {
        unexpected("POST /generate returned no generation id");
        goto out;
    }
    fprintf(note, "generation %s queued, %" JSON_INTEGER_FORMAT " credits\n", id,
            json_integer_value(json_object_get(gen, "creditUsed")));
    fflush(note);
    reply = json_incref(r.json);
out:
    http_reply_clear(&r);
    return reply;
}

/* Reads the "status" object of a status reply; 0, or -1 when it is not one. */
static int snapshot_read(json_t *obj, struct snapshot *s)
{
    s->obj = obj;
    s->status = json_string_value(json_object_get(s->obj, "status"));
    if (s->status == NULL)
        return -1;
    s->video_url = json_string_value(json_object_get(s->obj, "videoUrl"));
    s->error = json_string_value(json_object_get(s->obj, "errorMessage"));
    double p = json_number_value(json_object_get(s->obj, "progress"));
    s->percent = p < 0 ? 0 : p > 100 ? 100 : (int)p;
    return 0;
}

static bool is_terminal(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0;
}

/* The path of a generation's status, into out[len]; 0, or -1 after printing that the id is too long. */
static int status_path(const char *id, char *out, size_t len)
{
    char esc[3 * ID_MAX + 1];
    if (http_client_escape(id, esc, sizeof esc) != 0 ||
        (size_t)snprintf(out, len, API "/generations/%s/status", esc) >= len) {
        fprintf(stderr, "vidgen: '%.40s…' is not a generation id\n", id);
        return -1;
    }
    return 0;
}

/* Where the video can be fetched: the server URL + the reply's path (an absolute URL as is). */
static void full_url(const struct http_client *c, const char *video_url, char *out, size_t len)
{
    if (strncmp(video_url, "http://", 7) == 0 || strncmp(video_url, "https://", 8) == 0)
        snprintf(out, len, "%s", video_url);
    else
        snprintf(out, len, "%s%s%s", http_client_base_url(c), video_url[0] == '/' ? "" : "/", video_url);
}

/* -- waiting ---------------------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Shows status and percent if either changed since the last call. */
static void progress_show(struct progress *p, const char *status, int percent)
{
    if (p->shown && p->percent == percent && strcmp(p->status, status) == 0)
        return;
    snprintf(p->status, sizeof p->status, "%s", status);
    p->percent = percent;
    p->shown = true;
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        int filled = percent * BAR_WIDTH / 100;
        memset(bar, '#', filled);
        memset(bar + filled, '-', BAR_WIDTH - filled);
        bar[BAR_WIDTH] = '\0';
        int n = fprintf(p->out, "\r[%s] %3d%% %s", bar, percent, p->status);
        if (n < p->width) /* wipe what a longer status left behind */
            fprintf(p->out, "%*s", p->width - n, "");
        p->width = n > p->width ? n : p->width;
    } else
        fprintf(p->out, "%s %d%%\n", p->status, percent);
    fflush(p->out);
}

/* Ends the bar's line, so what follows starts on a fresh one. */
static void progress_end(struct progress *p)
{
    if (p->tty && p->shown) {
        fputc('\n', p->out);
        fflush(p->out);
        p->shown = false;
    }
}

/* Polls the generation every POLL_INTERVAL_MS until it reaches a terminal status, riding out
 * a server that is briefly unreachable or failing (RETRY_WINDOW_S). On 0, *final is the last
 * "status" object (the caller decrefs it); -1 after printing why it stopped. */
static int wait_for(struct http_client *c, const char *id, long timeout, struct progress *pg, json_t **final)
{
    struct http_reply r = {0};
    struct snapshot s;
    char path[512], msg[700];
    double start = now_seconds(), last_ok = start;
    int rc = -1;
    if (status_path(id, path, sizeof path) != 0)
        return -1;
    for (;;) {
        if (http_client_request(c, "GET", path, NULL, NULL, &r) == 0 && http_reply_ok(&r)) {
            if (snapshot_read(json_object_get(r.json, "status"), &s) != 0) {
                progress_end(pg);
                unexpected("a status without a status");
                goto out;
            }
            last_ok = now_seconds();
            progress_show(pg, s.status, s.percent);
            if (is_terminal(s.status)) {
                *final = json_incref(s.obj);
                rc = 0;
                goto out;
            }
        } else if (!http_reply_transient(&r) || now_seconds() - last_ok > RETRY_WINDOW_S) {
            progress_end(pg);
            fprintf(stderr, "vidgen: %s\n", http_reply_describe(&r, msg, sizeof msg));
            goto out;
        }
        http_reply_clear(&r);
        if (timeout > 0 && now_seconds() - start >= (double)timeout) {
            progress_end(pg);
            fprintf(stderr, "vidgen: generation %s is still %s after %ld s; follow it with `vidgen status %s`\n", id,
                    pg->status[0] ? pg->status : "pending", timeout, id);
            goto out;
        }
        sleep_ms(POLL_INTERVAL_MS);
    }
out:
    progress_end(pg);
    http_reply_clear(&r);
    return rc;
}

/* Tells how a finished generation ended: its URL on stdout (unless `quiet`) and 0 when it
 * completed; why not on stderr and 1 otherwise. The URL goes in url[len] ("" when none). */
static int report_end(const struct http_client *c, const char *id, json_t *status, bool quiet, char *url, size_t len)
{
    struct snapshot s;
    url[0] = '\0';
    if (snapshot_read(status, &s) != 0)
        return 1;
    if (strcmp(s.status, "completed") == 0 && s.video_url != NULL && s.video_url[0] != '\0') {
        full_url(c, s.video_url, url, len);
        if (!quiet)
            printf("%s\n", url);
        return 0;
    }
    if (strcmp(s.status, "completed") == 0)
        fprintf(stderr, "vidgen: generation %s completed but the server gave no video URL\n", id);
    else if (strcmp(s.status, "failed") == 0)
        fprintf(stderr, "vidgen: generation %s failed: %s\n", id, s.error ? s.error : "no reason given");
    else
        fprintf(stderr, "vidgen: generation %s was %s\n", id, s.status);
    return 1;
}

/* -- the commands ----------------------------------------------------------------------- */

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_COMPACT);
    putchar('\n');
}

/* --wait: follows the generation, then reports. With --json, stdout gets the generate reply
 * with the final "status" object and the video's full "url" added. */
static int follow(struct http_client *c, const struct gen_args *a, const char *id, json_t *reply)
{
    FILE *out = a->as_json ? stderr : stdout;
    struct progress pg = {.out = out, .tty = isatty(fileno(out)) != 0};
    json_t *final = NULL;
    char url[2048];
    if (wait_for(c, id, a->timeout, &pg, &final) != 0)
        return 1;
    int rc = report_end(c, id, final, a->as_json, url, sizeof url);
    if (a->as_json) {
        json_object_set(reply, "status", final);
        if (url[0] != '\0')
            json_object_set_new(reply, "url", json_string(url));
        print_json(reply);
    }
    json_decref(final);
    return rc;
}

static int run_generate(const struct config *cfg, struct gen_args *a)
{
    struct http_client *c = http_client_for_config(cfg);
    json_t *reply = NULL;
    char project[ID_MAX], id[ID_MAX];
    int rc = 1;
    if (c == NULL)
        goto out;
    if (a->project == NULL && find_project(c, project, sizeof project) != 0)
        goto out;
    json_object_set_new(a->body, "projectId", json_string(a->project ? a->project : project));
    if ((reply = submit(c, a, id, sizeof id, a->as_json ? stderr : stdout)) == NULL)
        goto out;
    if (a->wait)
        rc = follow(c, a, id, reply);
    else {
        if (a->as_json)
            print_json(reply);
        rc = 0;
    }
out:
    json_decref(reply);
    http_client_free(c);
    return rc;
}

int cli_generate(int argc, char **argv)
{
    struct gen_args a = {0};
    struct config cfg;
    int rc = 1;
    if (parse_generate(argc, argv, &a) != 0) {
        fputs(generate_usage, stderr);
        rc = 2;
    } else if (cli_load_config(&cfg) == 0 && http_client_global_init() == 0) {
        rc = run_generate(&cfg, &a);
        http_client_global_cleanup();
    }
    json_decref(a.body);
    return rc;
}

/* Prints one status reply: "<id> <status> <percent>%", then the URL when completed or the
 * reason when failed. */
static void print_status(const struct http_client *c, const char *id, const struct snapshot *s)
{
    char url[2048];
    printf("%s %s %d%%", id, s->status, s->percent);
    if (strcmp(s->status, "completed") == 0 && s->video_url != NULL && s->video_url[0] != '\0') {
        full_url(c, s->video_url, url, sizeof url);
        printf(" %s", url);
    } else if (s->error != NULL && s->error[0] != '\0')
        printf(" (%s)", s->error);
    putchar('\n');
}

static int run_status(const struct config *cfg, const char *id, bool as_json)
{
    struct http_client *c = http_client_for_config(cfg);
    struct http_reply r = {0};
    struct snapshot s;
    char path[512];
    int rc = 1;
    if (c == NULL || status_path(id, path, sizeof path) != 0)
        goto out;
    if (call(c, "GET", path, NULL, NULL, &r) != 0)
        goto out;
    if (snapshot_read(json_object_get(r.json, "status"), &s) != 0) {
        unexpected("a status without a status");
        goto out;
    }
    if (as_json)
        print_json(r.json);
    else
        print_status(c, id, &s);
    rc = 0;
out:
    http_reply_clear(&r);
    http_client_free(c);
    return rc;
}

int cli_status(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {0}};
    struct config cfg;
    bool as_json = false;
    int o, rc = 1;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o != 'j') {
            fputs(status_usage, stderr);
            return 2;
        }
        as_json = true;
    }
    if (optind != argc - 1 || argv[optind][0] == '\0') {
        fputs(status_usage, stderr);
        return 2;
    }
    if (cli_load_config(&cfg) == 0 && http_client_global_init() == 0) {
        rc = run_status(&cfg, argv[optind], as_json);
        http_client_global_cleanup();
    }
    return rc;
}
