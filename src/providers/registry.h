/* The provider registry: every provider this build knows, one line each, and whether it
 * can serve now (its key configured). A remote provider is one file (providers/modelslab.c,
 * providers/edenai.c) defining its `struct provider`: functions that build its HTTP requests
 * and read its replies into `struct remote_reply` (providers/remote.h), which the worker
 * sends and acts on (DESIGN §3, §6). */
#ifndef VIDGEN_PROVIDERS_REGISTRY_H
#define VIDGEN_PROVIDERS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "core/catalog.h"
#include "providers/remote.h"

/* How the worker runs a provider's jobs. */
enum provider_kind {
    PROVIDER_LOCAL, /* in-process, on the worker's CPU pool (worker/local_job.c) */
    PROVIDER_HTTP,  /* a remote API driven through the worker's libcurl loop */
};

struct provider {
    const char *name;         /* as in the catalog's route: "local", "modelslab", … */
    const char *display_name; /* "ModelsLab" */
    enum provider_kind kind;
    /* True when this provider can take jobs with `cfg`; else writes why into `reason`. */
    bool (*available)(const struct config *cfg, char *reason, size_t reason_len);
    /* The provider fetches a job's images only over https from a domain name (Runway). */
    bool images_need_https;

    /* PROVIDER_HTTP only (NULL for local). None of them blocks, sleeps, sends anything or
     * keeps state between calls; each is safe to call from any thread at once.
     *
     * build_*: fill `out` (zeroed first; the caller frees it with remote_request_free, also
     * after a failure) and return 0, or return -1 with a readable message in `err` when the
     * job cannot be said in the provider's contract (a field its endpoint does not take, an
     * unknown endpoint, an id that cannot go into a URL). Such a job must be refused before
     * it is charged (the catalog's limits, or a dry run of build_submit); -1 here is the last
     * guard. */
    int (*build_submit)(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen);
    /* The request that asks about `job_id` (as read from the submit's reply). */
    int (*build_poll)(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                      size_t errlen);
    /* The request that cancels `job_id`; NULL when the provider has no cancel. Its reply needs
     * no parse: 2xx or 404 means the job is gone or going. */
    int (*build_cancel)(const struct remote_job *job, const char *job_id, struct remote_request *out, char *err,
                        size_t errlen);
    /* parse_*: read any reply, however malformed, into `out` (fully overwritten); never fail. */
    void (*parse_submit)(const struct remote_http *http, struct remote_reply *out);
    void (*parse_poll)(const struct remote_http *http, struct remote_reply *out);
    /* A callback's body (`len` bytes, untrusted: anyone can POST it) read into `out`; 0, or -1
     * when it is not a webhook of this provider (then `out` says why, in REMOTE_FAILED). It
     * checks the shape only: a signature, the URL token and a confirming poll are the caller's. */
    int (*parse_webhook)(const char *body, size_t len, struct remote_reply *out);

    /* Which job a submit of this generation made, for a worker that finds a generation in
     * "submitting" without the provider's id after a crash; NULL when the provider cannot be
     * asked. build_lookup: the request (as build_poll). parse_lookup: its reply read for
     * job->generation_id; 1 when a job of it exists (`out` as a poll of it, job_id set), 0 when
     * the provider surely holds none (a submit now is its first), -1 when the reply cannot tell
     * (`out` says why: RETRY to ask again, FAILED to give up). */
    int (*build_lookup)(const struct remote_job *job, struct remote_request *out, char *err, size_t errlen);
    int (*parse_lookup)(const struct remote_http *http, const char *generation_id, struct remote_reply *out);
};

/* The remote providers, each defined in its own file. */
extern const struct provider provider_modelslab; /* providers/modelslab.c */
extern const struct provider provider_edenai;    /* providers/edenai.c */
extern const struct provider provider_runway;    /* providers/runway.c */
extern const struct provider provider_kling;     /* providers/kling.c */

/* The provider named `name`, or NULL when this build has none by that name. */
const struct provider *provider_find(const char *name);

/* Whether the route's provider can serve: false with a reason also when it is unknown. */
bool provider_available(const char *name, const struct config *cfg, char *reason, size_t reason_len);

/* The route that serves model `m` now: the first on its route list whose provider is
 * available. NULL, with the first route's reason, when none is. GET /models calls a model
 * available, and POST /generate serves it, by this one rule. Borrowed from `m`. */
const struct catalog_route *provider_route(const struct catalog_model *m, const struct config *cfg, char *reason,
                                           size_t reason_len);

/* Whether route `r` can take a job now, as far as the configuration tells (its circuit is
 * the caller's to ask): ROUTE_OK; ROUTE_UNAVAILABLE when its provider is not (reason: why);
 * ROUTE_NO_IMAGES when the job has images (`images`) that the provider cannot fetch from
 * this server (reason: a sentence saying what to set). */
enum route_fit { ROUTE_OK, ROUTE_UNAVAILABLE, ROUTE_NO_IMAGES };
enum route_fit provider_route_fit(const struct catalog_route *r, const struct config *cfg, bool images, char *reason,
                                  size_t reason_len);

/* The base URL and API key the configuration gives provider `p` (borrowed from `cfg`; ""
 * when unset). Kling's key is its pair "ACCESS:SECRET" (providers/kling.c). */
void provider_settings(const struct provider *p, const struct config *cfg, const char **base_url, const char **api_key);

/* The limits the configuration sets for remote provider `p` (NULL for local). */
const struct provider_limits *provider_limits_of(const struct provider *p, const struct config *cfg);

/* Every provider of this build, for i < provider_count(). */
size_t provider_count(void);
const struct provider *provider_at(size_t i);

/* The display name for a provider name; the name itself when unknown. Static string. */
const char *provider_display_name(const char *name);

#endif
