/* Shared by the files of the SQLite backend only. */
#ifndef VIDGEN_STORE_SQLITE_INTERNAL_H
#define VIDGEN_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the backend runs, prepared once per connection on first use. */
enum sq_stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_USER_INSERT,
    SQ_USER_BY_NAME,
    SQ_USER_BY_ID,
    SQ_USER_COUNT,
    SQ_USER_BALANCE_ADD,
    SQ_LEDGER_INSERT,
    SQ_LEDGER_SUM,
    SQ_TOKEN_INSERT,
    SQ_TOKEN_USER,
    SQ_TOKEN_REVOKE,
    SQ_PROJECT_INSERT,
    SQ_PROJECT_GET,
    SQ_PROJECT_LIST,
    SQ_PROJECT_UPDATE,
    SQ_PROJECT_DELETE,
    SQ_GENERATION_LIST_USER,
    SQ_GENERATION_LIST_PROJECT,
    SQ_COUNT
};

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    sqlite3_stmt *stmts[SQ_COUNT];
};

static inline struct sqlite_store *sq(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* The statement, reset and with its bindings cleared; NULL (with err filled) on failure. */
sqlite3_stmt *sq_stmt(struct sqlite_store *s, enum sq_stmt which, struct vg_error *err);

/* BEGIN IMMEDIATE: takes the write lock at once, so a transaction never fails on a
 * read-to-write upgrade (busy_timeout then makes writers queue instead of erroring). */
enum vg_err sq_begin(struct sqlite_store *s, struct vg_error *err);
enum vg_err sq_commit(struct sqlite_store *s, struct vg_error *err);
void sq_rollback(struct sqlite_store *s);

/* Maps an sqlite3 result code to an error (constraint → conflict, busy → unavailable). */
enum vg_err sq_fail(struct sqlite_store *s, int rc, struct vg_error *err);

/* Steps a statement that returns no rows; VG_OK on SQLITE_DONE. */
enum vg_err sq_exec(struct sqlite_store *s, sqlite3_stmt *st, struct vg_error *err);

/* A heap copy of a text column, NULL for SQL NULL. */
char *sq_text_dup(sqlite3_stmt *st, int col);
/* Copies a text column into a fixed buffer ("" for NULL), truncating. */
void sq_text_copy(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* Binds text, or NULL when `v` is NULL. */
void sq_bind_text(sqlite3_stmt *st, int idx, const char *v);


/* The ops of each file, gathered by sqlite.c into one table. */
enum vg_err sq_user_create(struct store *s, const char *name, bool is_admin, long credits, struct user *out,
                           struct vg_error *err);
enum vg_err sq_user_by_name(struct store *s, const char *name, struct user *out, struct vg_error *err);
enum vg_err sq_user_by_id(struct store *s, const char *id, struct user *out, struct vg_error *err);
enum vg_err sq_user_count(struct store *s, long *out, struct vg_error *err);
enum vg_err sq_credits_add(struct store *s, const char *user_id, enum ledger_kind kind, long amount, const char *note,
                           long *balance_after, struct vg_error *err);
enum vg_err sq_ledger_sum(struct store *s, const char *user_id, long *sum, struct vg_error *err);
enum vg_err sq_token_create(struct store *s, const char *user_id, const char *token_hash, const char *label,
                            struct api_token *out, struct vg_error *err);
enum vg_err sq_token_user(struct store *s, const char *token_hash, struct user *out, struct vg_error *err);
enum vg_err sq_token_revoke(struct store *s, const char *id_or_hash, struct vg_error *err);

enum vg_err sq_project_create(struct store *s, const char *user_id, const char *name, const char *description,
                              struct project *out, struct vg_error *err);
enum vg_err sq_project_get(struct store *s, const char *user_id, const char *id, struct project *out,
                           struct vg_error *err);
enum vg_err sq_project_list(struct store *s, const char *user_id, struct project_list *out, struct vg_error *err);
enum vg_err sq_project_update(struct store *s, const char *user_id, const char *id, const char *name,
                              const char *description, bool set_description, struct project *out,
                              struct vg_error *err);
enum vg_err sq_project_delete(struct store *s, const char *user_id, const char *id, struct vg_error *err);
enum vg_err sq_generation_list(struct store *s, const char *user_id, const char *project_id,
                               struct generation_list *out, struct vg_error *err);

#endif
