/* A remote provider's job on the worker's loop thread (DESIGN §6). Each step is one HTTP
 * exchange through the worker's libcurl multi handle — a submit, a poll, or the download
 * of the result. Between polls the job stays claimed on the loop's timer when its next poll
 * is within half a lease (worker_hold: no store write per poll; this changes §6's "a job
 * waiting on a provider releases its lease"); a longer wait releases it until then (it costs
 * no thread, no memory and no lease), and the end finishes it. Resuming is read from the
 * generation: a provider job id means poll; "submitting" without one means a submit that
 * may have reached the provider, which is never sent again blindly (see remote_job_start).
 *
 * Routes (DESIGN §3): a model's catalog entry lists the providers that serve it, in order.
 * When the job's route fails before its provider took the job, or its provider's job ended
 * on a fault of the provider's own, the next route that can take the job (available, able
 * to fetch its images, circuit closed) takes it over (JOB_REROUTE): charged once, each try
 * recorded in the generation's attempt history. Never after a moderation refusal, and never
 * while a job submitted there may still run. */
#ifndef VIDGEN_WORKER_REMOTE_JOB_H
#define VIDGEN_WORKER_REMOTE_JOB_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/catalog.h"
#include "providers/registry.h"
#include "providers/remote.h"

struct job;
struct worker;

enum remote_step {
    REMOTE_STEP_SUBMIT,
    REMOTE_STEP_POLL,
    REMOTE_STEP_DOWNLOAD,
    REMOTE_STEP_LOOKUP, /* which job a submit cut off by a crash made (providers with build_lookup) */
    REMOTE_STEP_CANCEL, /* the user cancelled: the provider is asked to stop (build_cancel) */
};

/* The exchange under way; zero when none. Owned by the job. */
struct remote_task {
    const struct provider *provider; /* borrowed: the registry */
    enum remote_step step;
    CURL *easy;                 /* the transfer, NULL when none */
    struct curl_slist *headers; /* its request headers (req's, and "Expect:") */
    struct remote_request req;  /* what was sent */
    bool req_is_poll;           /* req and headers are this job's poll: sent again while it is held */
    char *reply;                /* a JSON reply's body so far (malloc'd, bounded) */
    size_t reply_len, reply_cap;
    char retry_after[64]; /* the reply's Retry-After header, "" when none */
    long status;          /* the last reply's HTTP status, 0 when none: kept with the attempt */
    int fd;               /* the download's temporary file, -1 when none */
    size_t downloaded;
    char video_url[2048]; /* where the provider put the result */
    char tmp_video[1200]; /* the download's temporary path */
    /* The cost this claim last recorded for the attempt (none at first: zeroed), so that a
     * figure repeated poll after poll is written once. */
    enum remote_cost_unit cost_unit;
    int64_t cost_micros;
};

/* Starts the claimed remote job `j`: decides its step from the generation and sends the
 * request, or ends the job at once (unknown provider, deadline passed, submit in doubt). */
void remote_job_start(struct worker *w, struct job *j);

/* Ends the remote job `j` the user cancelled: a provider that can be told to stop its job
 * (build_cancel) is told first, whatever it answers. Not for a held job (unhold it first). */
void remote_job_cancel(struct worker *w, struct job *j);

/* The transfer of `j` ended with curl's `rc`: reads the reply and moves the job on. */
void remote_job_done(struct worker *w, struct job *j, CURLcode rc);

/* Stops the transfer of `j`, if any, and frees what the task holds (safe to call twice). */
void remote_task_release(struct worker *w, struct job *j);

#endif
