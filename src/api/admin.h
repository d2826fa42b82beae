/* The admin API (issue 12): users, their credits and tokens, every user's generations, a
 * cancel or refund by hand, and the failed jobs with their last error. Every route carries
 * API_ADMIN, so anyone but an admin gets 404 as for a path that does not exist. Changes go
 * through the store operations the CLI uses (user_create, credits_add, token_create,
 * token_revoke, generation_cancel), so both keep the same rules; a manual refund is
 * store_admin_refund, at most once per generation like every refund. */
#ifndef VIDGEN_API_ADMIN_H
#define VIDGEN_API_ADMIN_H

#include "api/call.h"

/* api/admin_users.c */
int api_admin_users_list(struct api_call *c);   /* GET /admin/users?limit=&before= */
int api_admin_users_create(struct api_call *c); /* POST /admin/users {name, credits?, admin?} */
int api_admin_credits(struct api_call *c);      /* POST /admin/users/:id/credits {kind, amount, note} */
/* POST /admin/users/:id/disable: their tokens revoked, none taken until enabled; /enable undoes it */
int api_admin_user_disable(struct api_call *c);
int api_admin_user_enable(struct api_call *c);
int api_admin_tokens_list(struct api_call *c);   /* GET /admin/tokens?userId= */
int api_admin_tokens_create(struct api_call *c); /* POST /admin/users/:id/tokens {label?} */
int api_admin_token_revoke(struct api_call *c);  /* DELETE /admin/tokens/:id */

/* api/admin_generations.c */
int api_admin_generations_list(struct api_call *c); /* GET /admin/generations?status=&provider=&userId=&since=&until= */
int api_admin_generation_cancel(struct api_call *c); /* POST /admin/generations/:id/cancel */
int api_admin_generation_refund(struct api_call *c); /* POST /admin/generations/:id/refund {note?} */
int api_admin_failed(struct api_call *c);            /* GET /admin/failed: the dead letters */

/* Cancels `user_id`'s generation `id` and answers as POST /generations/:id/cancel does
 * (api/generations.c: the user's cancel and the admin's are this one call). */
int api_cancel_generation(struct api_call *c, const char *user_id, const char *id);

/* The ?limit= of an admin list (1..ADMIN_PAGE_MAX, default 50), or -1 when malformed. */
int api_admin_limit(struct api_call *c);

#endif
