/* The reference for bench/remote.py: the same exchanges vidgen's worker makes with ModelsLab
 * (submit, polls at the provider's eta, download of output[0]), made by a minimal program on
 * curl's own multi interface, to see what the HTTP part of the work costs in CPU.
 *
 *   remote_curl BASE_URL KEY JOBS CONCURRENCY [MAXCONNECTS]
 *
 * MAXCONNECTS (optional): the multi handle's connection cache (CURLMOPT_MAXCONNECTS), as
 * vidgen's worker sets it; without it, curl's default (4 connections per transfer under way),
 * with which connections are closed and opened again as the transfers under way drop.
 *
 * JOBS jobs, at most CONCURRENCY transfers at once (vidgen holds at most 1,000 remote jobs at
 * a time); the same request lines, headers and bodies as vidgen's (providers/modelslab.c, v7
 * text-to-video, veo3, 8 s); a poll is due at the reply's eta within 250 ms–30 s, give or take
 * a fifth (remote_job.c's next_poll_at). Easy handles are reused (curl's idiom), replies are
 * scanned with strstr (no JSON tree), videos are counted and dropped (no file). Prints
 * "submits polls videos cpu_seconds wall_seconds"; on stderr, "submits-done T" when the last
 * submit's reply has been read (T: CLOCK_MONOTONIC seconds, as Python's time.monotonic()). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct job {
    long long id;
    double due;
    int state; /* 0 submit, 1 poll, 2 video, 3 done */
    char video[256];
};
struct slot {
    CURL *e;
    struct job *j;
    char buf[16384];
    size_t len;
    struct curl_slist *h;
};

static struct job *jobs, **heap; /* heap: jobs waiting, by due time */
static size_t n_heap;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void push(struct job *j)
{
    size_t i = n_heap++;
    for (; i > 0 && heap[(i - 1) / 2]->due > j->due; i = (i - 1) / 2)
        heap[i] = heap[(i - 1) / 2];
    heap[i] = j;
}

static struct job *pop(void)
{
    struct job *top = heap[0], *last = heap[--n_heap];
    size_t i = 0, c;
    while ((c = 2 * i + 1) < n_heap) {
        if (c + 1 < n_heap && heap[c + 1]->due < heap[c]->due)
            c++;
        if (heap[c]->due >= last->due)
            break;
        heap[i] = heap[c], i = c;
    }
    heap[i] = last;
    return top;
}

static size_t on_data(char *d, size_t sz, size_t n, void *arg)
{
    struct slot *s = arg;
    size_t len = sz * n;
    if (s->j->state != 2) { /* a JSON reply: kept for the scan below */
        size_t k = len < sizeof s->buf - 1 - s->len ? len : sizeof s->buf - 1 - s->len;
        memcpy(s->buf + s->len, d, k);
        s->len += k, s->buf[s->len] = '\0';
    }
    return len;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6)
        return fprintf(stderr, "usage: remote_curl BASE_URL KEY JOBS CONCURRENCY [MAXCONNECTS]\n"), 2;
    const char *base = argv[1], *key = argv[2];
    int n = atoi(argv[3]), conc = atoi(argv[4]), free_slots = conc;
    unsigned long submits = 0, polls = 0, videos = 0;
    char submit_body[512], poll_body[128], url[512];
    snprintf(submit_body, sizeof submit_body,
             "{\"key\":\"%s\",\"model_id\":\"veo3\",\"prompt\":\"a red fox in the snow\",\"duration\":\"8\","
             "\"generate_audio\":false,\"enhance_prompt\":false,\"aspect_ratio\":\"16:9\",\"resolution\":\"720p\"}",
             key);
    snprintf(poll_body, sizeof poll_body, "{\"key\":\"%s\"}", key);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    if (argc == 6)
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, atol(argv[5]));
    jobs = calloc(n, sizeof *jobs), heap = calloc(n, sizeof *heap);
    struct slot *slots = calloc(conc, sizeof *slots), **idle = calloc(conc, sizeof *idle);
    for (int i = 0; i < conc; i++) {
        struct slot *s = idle[i] = &slots[i];
        s->e = curl_easy_init();
        s->h = curl_slist_append(
            curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), "Accept: application/json"),
            "Expect:");
        curl_easy_setopt(s->e, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->e, CURLOPT_USERAGENT, "vidgen");
        curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(s->e, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->e, CURLOPT_TIMEOUT_MS, 30000L);
    }
    double t0 = now();
    for (int i = 0; i < n; i++)
        jobs[i].due = t0, push(&jobs[i]);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int running = 0, done = 0;
    while (done < n) {
        double t = now();
        while (n_heap > 0 && free_slots > 0 && heap[0]->due <= t) { /* start what is due */
            struct job *j = pop();
            struct slot *s = idle[--free_slots];
            s->j = j, s->len = 0, s->buf[0] = '\0';
            if (j->state == 2) {
                curl_easy_setopt(s->e, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, NULL);
                curl_easy_setopt(s->e, CURLOPT_URL, j->video);
            } else {
                if (j->state == 0)
                    snprintf(url, sizeof url, "%s/v7/video-fusion/text-to-video", base);
                else
                    snprintf(url, sizeof url, "%s/v7/video-fusion/fetch/%lld", base, j->id);
                curl_easy_setopt(s->e, CURLOPT_URL, url);
                curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, s->h);
                curl_easy_setopt(s->e, CURLOPT_POSTFIELDS, j->state == 0 ? submit_body : poll_body);
            }
            curl_multi_add_handle(m, s->e);
        }
        int wait = n_heap > 0 ? (int)((heap[0]->due - t) * 1000) + 1 : 1000;
        curl_multi_poll(m, NULL, 0, free_slots > 0 && wait < 1000 ? (wait < 0 ? 0 : wait) : 1000, NULL);
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            struct slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_multi_remove_handle(m, s->e);
            idle[free_slots++] = s;
            struct job *j = s->j;
            const char *id = strstr(s->buf, "\"id\":"), *eta = strstr(s->buf, "\"eta\":"),
                       *out = strstr(s->buf, "\"output\":[\"");
            if (msg->data.result != CURLE_OK) { /* again in a second, as a passing fault */
                j->due = now() + 1, push(j);
                continue;
            }
            if (j->state == 2) {
                videos++, j->state = 3, done++;
                continue;
            }
            j->state == 0 ? submits++ : polls++;
            if (j->state == 0 && submits == (unsigned long)n) /* the last submit's reply is read: bench/remote.py's */
                fprintf(stderr, "submits-done %.6f\n", now()); /* polls-only stretch starts after it */
            if (j->state == 0 && id)
                j->id = strtoll(id + 5, NULL, 10);
            if (strstr(s->buf, "\"status\":\"success\"") && out) {
                size_t k = strcspn(out + 11, "\"");
                snprintf(j->video, sizeof j->video, "%.*s", (int)k, out + 11);
                j->state = 2, j->due = now();
            } else {
                double e = eta ? atof(eta + 6) : 2.0;
                e = e < 0.25 ? 0.25 : e > 30 ? 30 : e;
                j->state = 1, j->due = now() + e * (0.8 + 0.4 * rand() / RAND_MAX);
            }
            push(j);
        }
    }
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 ((r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec)) / 1e6;
    printf("%lu %lu %lu %.3f %.3f\n", submits, polls, videos, cpu, now() - t0);
    return 0;
}
