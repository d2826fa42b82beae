/* TEMPORARY (part 2 of the PostgreSQL store, owned by its author): the ops not written yet,
 * each answering "not in this build yet". Each goes from here as its real one lands in
 * postgres_jobs.c and the files beside it; then this file goes. */
#include <string.h>

#include "store/postgres_internal.h"

static enum vg_err pending(struct vg_error *err)
{
    return vg_fail(err, VG_ERR_UNAVAILABLE, "", "not in this build yet");
}

enum vg_err pg_generation_attempts(struct store *s, const char *user_id, const char *id, struct attempt_list *out,
                                   struct vg_error *err)
{
    (void)s, (void)user_id, (void)id;
    out->items = NULL, out->n = 0;
    return pending(err);
}

enum vg_err pg_attempt_cost(struct store *s, const char *id, int64_t micros, const char *unit, int64_t *added,
                            struct vg_error *err)
{
    (void)s, (void)id, (void)micros, (void)unit;
    *added = 0;
    return pending(err);
}

enum vg_err pg_provider_in_flight(struct store *s, const char *provider, long *n, struct vg_error *err)
{
    (void)s, (void)provider;
    *n = 0;
    return pending(err);
}

enum vg_err pg_provider_queued(struct store *s, const char *provider, long *n, struct vg_error *err)
{
    (void)s, (void)provider;
    *n = 0;
    return pending(err);
}

enum vg_err pg_summary(struct store *s, struct store_summary *io, struct vg_error *err)
{
    (void)s, (void)io;
    return pending(err);
}

enum vg_err pg_provider_health_get(struct store *s, const char *provider, struct provider_health *out,
                                   struct vg_error *err)
{
    (void)s, (void)provider;
    memset(out, 0, sizeof *out);
    return pending(err);
}

enum vg_err pg_provider_health_put(struct store *s, const char *provider, const struct provider_health *h,
                                   struct vg_error *err)
{
    (void)s, (void)provider, (void)h;
    return pending(err);
}

enum vg_err pg_job_claim(struct store *s, const char *owner, int64_t lease_ms, enum job_kind kind,
                         struct generation *out, struct vg_error *err)
{
    (void)s, (void)owner, (void)lease_ms, (void)kind, (void)out;
    return pending(err);
}

enum vg_err pg_job_next_due(struct store *s, unsigned kinds, int64_t *at_ms, struct vg_error *err)
{
    (void)s, (void)kinds;
    *at_ms = 0;
    return pending(err);
}

enum vg_err pg_job_renew(struct store *s, struct job_renewal *jobs, int n, int64_t lease_ms, struct vg_error *err)
{
    (void)s, (void)jobs, (void)n, (void)lease_ms;
    return pending(err);
}

enum vg_err pg_job_lease(struct store *s, const char *id, struct job_lease *out, struct vg_error *err)
{
    (void)s, (void)id, (void)out;
    return pending(err);
}

enum vg_err pg_job_update(struct store *s, const char *id, const char *owner, const struct job_update *u,
                          struct generation *out, struct vg_error *err)
{
    (void)s, (void)id, (void)owner, (void)u, (void)out;
    return pending(err);
}

enum vg_err pg_webhook_wake(struct store *s, const char *provider, const char *token_hash, const char *provider_job_id,
                            char id[ID_LEN + 1], struct vg_error *err)
{
    (void)s, (void)provider, (void)token_hash, (void)provider_job_id, (void)id;
    return pending(err);
}

enum vg_err pg_webhook_known(struct store *s, const char *provider, const char *token_hash, struct vg_error *err)
{
    (void)s, (void)provider, (void)token_hash;
    return pending(err);
}

enum vg_err pg_upload_create(struct store *s, const struct upload *in, int64_t quota_bytes, struct upload *out,
                             bool *existing, int64_t *used, struct vg_error *err)
{
    (void)s, (void)in, (void)quota_bytes, (void)out, (void)existing, (void)used;
    return pending(err);
}

enum vg_err pg_upload_get(struct store *s, const char *user_id, const char *id, const char *file_path,
                          const char *sha256, struct upload *out, struct vg_error *err)
{
    (void)s, (void)user_id, (void)id, (void)file_path, (void)sha256, (void)out;
    return pending(err);
}

enum vg_err pg_upload_list(struct store *s, const char *user_id, const char *before_id, int limit,
                           struct upload_list *out, struct vg_error *err)
{
    (void)s, (void)user_id, (void)before_id, (void)limit;
    memset(out, 0, sizeof *out);
    return pending(err);
}

enum vg_err pg_upload_delete(struct store *s, const char *user_id, const char *id, struct upload *out,
                             bool *file_in_use, struct vg_error *err)
{
    (void)s, (void)user_id, (void)id, (void)out, (void)file_in_use;
    return pending(err);
}

enum vg_err pg_upload_usage(struct store *s, const char *user_id, int64_t *used, struct vg_error *err)
{
    (void)s, (void)user_id;
    *used = 0;
    return pending(err);
}

enum vg_err pg_image_in_use(struct store *s, const char *file_path, bool *in_use, struct vg_error *err)
{
    (void)s, (void)file_path;
    *in_use = false;
    return pending(err);
}

static enum vg_err admin_users(struct store *s, const char *before_id, int limit, struct user_list *out,
                               struct vg_error *err)
{
    (void)s, (void)before_id, (void)limit;
    memset(out, 0, sizeof *out);
    return pending(err);
}

static enum vg_err admin_user_get(struct store *s, const char *id, struct admin_user *out, struct vg_error *err)
{
    (void)s, (void)id, (void)out;
    return pending(err);
}

static enum vg_err admin_user_disable(struct store *s, const char *id, bool disable, struct admin_user *out,
                                      struct vg_error *err)
{
    (void)s, (void)id, (void)disable, (void)out;
    return pending(err);
}

static enum vg_err admin_tokens(struct store *s, const char *user_id, struct token_list *out, struct vg_error *err)
{
    (void)s, (void)user_id;
    memset(out, 0, sizeof *out);
    return pending(err);
}

static enum vg_err admin_generation_get(struct store *s, const char *id, struct generation *out, struct vg_error *err)
{
    (void)s, (void)id, (void)out;
    return pending(err);
}

static enum vg_err admin_generations(struct store *s, const struct admin_generation_query *q,
                                     struct generation_list *out, struct vg_error *err)
{
    (void)s, (void)q;
    memset(out, 0, sizeof *out);
    return pending(err);
}

static enum vg_err admin_refund(struct store *s, const char *id, const char *note, struct generation *out,
                                struct vg_error *err)
{
    (void)s, (void)id, (void)note, (void)out;
    return pending(err);
}

const struct store_admin_ops pg_admin_ops = {
    .users = admin_users,
    .user_get = admin_user_get,
    .user_disable = admin_user_disable,
    .tokens = admin_tokens,
    .generation_get = admin_generation_get,
    .generations = admin_generations,
    .refund = admin_refund,
};
