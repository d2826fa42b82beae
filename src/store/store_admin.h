/* What the admin API (api/admin.h) asks of the store beyond store.h: rows of every user, not
 * one user's. A backend fills a struct store_admin_ops (store_ops.admin). The admin API
 * changes data only through store.h's own operations (user_create, credits_add, token_create,
 * token_revoke, generation_cancel), the ones the CLI uses, plus admin_refund here. */
#ifndef VIDGEN_STORE_STORE_ADMIN_H
#define VIDGEN_STORE_STORE_ADMIN_H

#include "store/store.h"

#define ADMIN_PAGE_MAX 100

/* A user as the admin API lists them. */
struct admin_user {
    struct user user;
    int64_t disabled_at; /* 0 = active */
};

struct user_list {
    struct admin_user *items; /* the caller's: free() */
    size_t n;
};

struct token_list {
    struct api_token *items; /* the caller's: free() */
    size_t n;
};

struct admin_generation_query {
    const char *user_id, *status, *provider; /* NULL = any */
    int64_t since, until;                    /* created_at in [since, until); 0 = unbounded */
    const char *before_id;                   /* cursor: only older ids; NULL = from the newest */
    int limit;                               /* 1..ADMIN_PAGE_MAX */
};

struct store_admin_ops {
    /* Users, newest first, older than before_id (NULL: from the newest). */
    enum vg_err (*users)(struct store *s, const char *before_id, int limit, struct user_list *out,
                         struct vg_error *err);
    /* One user; VG_ERR_NOT_FOUND when there is none. */
    enum vg_err (*user_get)(struct store *s, const char *id, struct admin_user *out, struct vg_error *err);
    /* Disables a user (their live tokens revoked in the same transaction; no token of theirs
     * is taken until enabled) or enables them again (they need a new token). Idempotent.
     * VG_ERR_NOT_FOUND when there is no such user. */
    enum vg_err (*user_disable)(struct store *s, const char *id, bool disable, struct admin_user *out,
                                struct vg_error *err);
    /* Tokens (never their hashes) of one user, or of all when user_id is NULL; newest first. */
    enum vg_err (*tokens)(struct store *s, const char *user_id, struct token_list *out, struct vg_error *err);
    /* Any user's generation; VG_ERR_NOT_FOUND when there is none. */
    enum vg_err (*generation_get)(struct store *s, const char *id, struct generation *out, struct vg_error *err);
    enum vg_err (*generations)(struct store *s, const struct admin_generation_query *q, struct generation_list *out,
                               struct vg_error *err);
    /* Refunds an ended generation's charge by hand, at most once in its life (a worker's
     * refund included): VG_ERR_CONFLICT when it has not ended, was refunded already, or
     * was charged nothing. *out: the generation (generation_free). */
    enum vg_err (*refund)(struct store *s, const char *id, const char *note, struct generation *out,
                          struct vg_error *err);
};

static inline enum vg_err store_admin_users(struct store *s, const char *before_id, int limit, struct user_list *out,
                                            struct vg_error *err)
{
    return s->ops->admin->users(s, before_id, limit, out, err);
}
static inline enum vg_err store_admin_user_get(struct store *s, const char *id, struct admin_user *out,
                                               struct vg_error *err)
{
    return s->ops->admin->user_get(s, id, out, err);
}
static inline enum vg_err store_admin_user_disable(struct store *s, const char *id, bool disable,
                                                   struct admin_user *out, struct vg_error *err)
{
    return s->ops->admin->user_disable(s, id, disable, out, err);
}
static inline enum vg_err store_admin_tokens(struct store *s, const char *user_id, struct token_list *out,
                                             struct vg_error *err)
{
    return s->ops->admin->tokens(s, user_id, out, err);
}
static inline enum vg_err store_admin_generation_get(struct store *s, const char *id, struct generation *out,
                                                     struct vg_error *err)
{
    return s->ops->admin->generation_get(s, id, out, err);
}
static inline enum vg_err store_admin_generations(struct store *s, const struct admin_generation_query *q,
                                                  struct generation_list *out, struct vg_error *err)
{
    return s->ops->admin->generations(s, q, out, err);
}
static inline enum vg_err store_admin_refund(struct store *s, const char *id, const char *note, struct generation *out,
                                             struct vg_error *err)
{
    return s->ops->admin->refund(s, id, note, out, err);
}

#endif
