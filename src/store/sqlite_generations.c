/* SQLite backend: generations as the API sees them — create with its charge, read, page,
 * cancel, delete — and the credit ledger pages and refunds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

void sq_read_generation(sqlite3_stmt *st, struct generation *g)
{
    memset(g, 0, sizeof *g);
    sq_text_copy(st, 0, g->id, sizeof g->id);
    sq_text_copy(st, 1, g->project_id, sizeof g->project_id);
    sq_text_copy(st, 2, g->user_id, sizeof g->user_id);
    sq_text_copy(st, 3, g->provider, sizeof g->provider);
    sq_text_copy(st, 4, g->model_id, sizeof g->model_id);
    g->model_name = sq_text_dup(st, 5);
    g->prompt = sq_text_dup(st, 6);
    g->negative_prompt = sq_text_dup(st, 7);
    g->start_image = sq_text_dup(st, 8);
    g->end_image = sq_text_dup(st, 9);
    sq_text_copy(st, 10, g->resolution, sizeof g->resolution);
    g->duration = sqlite3_column_int(st, 11);
    sq_text_copy(st, 12, g->aspect_ratio, sizeof g->aspect_ratio);
    g->audio = sqlite3_column_int(st, 13) != 0;
    g->enhance_prompt = sqlite3_column_int(st, 14) != 0;
    g->credit_used = (long)sqlite3_column_int64(st, 15);
    sq_text_copy(st, 16, g->status, sizeof g->status);
    g->progress = sqlite3_column_int(st, 17);
    g->error_message = sq_text_dup(st, 18);
    g->output_path = sq_text_dup(st, 19);
    g->thumbnail_path = sq_text_dup(st, 20);
    g->created_at = sqlite3_column_int64(st, 21);
    g->updated_at = sqlite3_column_int64(st, 22);
    g->completed_at = sqlite3_column_int64(st, 23);
    sq_text_copy(st, 24, g->phase, sizeof g->phase);
    g->provider_job_id = sq_text_dup(st, 25);
    g->video_width = sqlite3_column_int(st, 26);
    g->video_height = sqlite3_column_int(st, 27);
    g->video_seconds = sqlite3_column_double(st, 28);
    g->attempts = sqlite3_column_int(st, 29);
    g->cancel_requested = sqlite3_column_int(st, 30) != 0;
}

static void read_generation_item(sqlite3_stmt *st, void *item)
{
    sq_read_generation(st, item);
}

static void free_generation_item(void *item)
{
    generation_free(item);
}

enum vg_err sq_read_generations(struct sqlite_store *s, sqlite3_stmt *st, struct generation_list *out,
                                struct vg_error *err)
{
    return sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_generation_item,
                       free_generation_item, err);
}

/* Steps a statement expected to return one generation; `missing` when it returns none. */
static enum vg_err one_generation(struct sqlite_store *s, sqlite3_stmt *st, struct generation *out, enum vg_err missing,
                                  struct vg_error *err)
{
    int rc = sqlite3_step(st);
    enum vg_err e = VG_OK;
    if (rc == SQLITE_ROW)
        sq_read_generation(st, out);
    else if (rc == SQLITE_DONE)
        e = missing == VG_ERR_NOT_FOUND ? vg_fail(err, missing, "", "no such generation") : missing;
    else
        e = sq_fail(s, rc, err);
    sqlite3_reset(st);
    return e;
}

static enum vg_err get(struct sqlite_store *s, const char *user_id, const char *id, struct generation *out,
                       struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_GENERATION_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return one_generation(s, st, out, VG_ERR_NOT_FOUND, err);
}

enum vg_err sq_generation_get(struct store *s, const char *user_id, const char *id, struct generation *out,
                              struct vg_error *err)
{
    return get(sq(s), user_id, id, out, err);
}

/* An earlier request with the same Idempotency-Key: the same body replays its generation,
 * another body is a conflict. VG_ERR_NOT_FOUND when the key is new. */
static enum vg_err idempotent_replay(struct sqlite_store *s, const struct generation_new *in, struct generation *out,
                                     struct vg_error *err)
{
    char hash[65], gen_id[ID_LEN + 1];
    sqlite3_stmt *st = sq_stmt(s, SQ_IDEMPOTENCY_GET, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, in->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->idempotency_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_text_copy(st, 0, hash, sizeof hash);
        sq_text_copy(st, 1, gen_id, sizeof gen_id);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return VG_ERR_NOT_FOUND;
    if (rc != SQLITE_ROW)
        return sq_fail(s, rc, err);
    if (strcmp(hash, in->request_hash) != 0)
        return vg_fail(err, VG_ERR_CONFLICT, "Idempotency-Key",
                       "this Idempotency-Key was used for a different request; use a new key");
    if (get(s, in->user_id, gen_id, out, err) != VG_OK)
        return vg_fail(err, VG_ERR_CONFLICT, "Idempotency-Key",
                       "this Idempotency-Key was used for a generation that has since been deleted");
    return VG_OK;
}

static enum vg_err insert_generation(struct sqlite_store *s, const char *id, const struct generation_new *in,
                                     int64_t now, struct generation *out, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_GENERATION_INSERT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->project_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, in->provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, in->model_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, in->model_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, in->prompt ? in->prompt : "", -1, SQLITE_STATIC);
    sq_bind_text(st, 8, in->negative_prompt);
    sq_bind_text(st, 9, in->start_image);
    sq_bind_text(st, 10, in->end_image);
    sqlite3_bind_text(st, 11, in->resolution, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 12, in->duration);
    sqlite3_bind_text(st, 13, in->aspect_ratio, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 14, in->audio);
    sqlite3_bind_int(st, 15, in->enhance_prompt);
    sqlite3_bind_int64(st, 16, in->credits);
    sqlite3_bind_int64(st, 17, now);
    return one_generation(s, st, out, VG_ERR_INTERNAL, err);
}

static enum vg_err check_project(struct sqlite_store *s, const struct generation_new *in, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_PROJECT_OWNED, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, in->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->project_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return VG_OK;
    return rc == SQLITE_DONE ? vg_fail(err, VG_ERR_NOT_FOUND, "projectId", "no such project") : sq_fail(s, rc, err);
}

static enum vg_err remember_key(struct sqlite_store *s, const struct generation_new *in, const char *gen_id,
                                int64_t now, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_IDEMPOTENCY_INSERT, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, in->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->idempotency_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->request_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, gen_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    return sq_exec(s, st, err);
}

/* The charge and the generation are one transaction: either both exist or neither. */
enum vg_err sq_generation_create(struct store *base, const struct generation_new *in, struct generation *out,
                                 bool *replayed, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    char id[ID_LEN + 1];
    int64_t now = clock_now_ms();
    enum vg_err e;
    *replayed = false;
    if ((e = sq_begin(s, err)))
        return e;
    if (in->idempotency_key) {
        e = idempotent_replay(s, in, out, err);
        if (e == VG_OK)
            *replayed = true;
        if (e != VG_ERR_NOT_FOUND)
            goto done;
    }
    id_new(id);
    if ((e = check_project(s, in, err)) ||
        (e = sq_ledger_append(s, in->user_id, LEDGER_CHARGE, -in->credits, id, in->model_id, NULL, err)))
        goto done;
    if (e == VG_OK && (e = insert_generation(s, id, in, now, out, err)) == VG_OK && in->idempotency_key &&
        (e = remember_key(s, in, id, now, err)) != VG_OK)
        generation_free(out);
done:
    return sq_end_with_generation(s, e, out, err);
}

enum vg_err sq_generation_page(struct store *base, const struct generation_query *q, struct generation_list *out,
                               struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, q->project_id ? SQ_GENERATION_PAGE_PROJECT : SQ_GENERATION_PAGE_USER, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, q->user_id, -1, SQLITE_STATIC);
    if (q->project_id)
        sqlite3_bind_text(st, 2, q->project_id, -1, SQLITE_STATIC);
    sq_bind_text(st, 3, q->status);
    sq_bind_text(st, 4, q->before_id);
    sqlite3_bind_int(st, 5, q->limit);
    return sq_read_generations(s, st, out, err);
}

enum vg_err sq_refund(struct sqlite_store *s, const struct generation *g, const char *note, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, SQ_REFUND_EXISTS, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) /* refunded already: a refund happens at most once */
        return VG_OK;
    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, err);
    if (g->credit_used <= 0)
        return VG_OK;
    return sq_ledger_append(s, g->user_id, LEDGER_REFUND, g->credit_used, g->id, note, NULL, err);
}

/* Runs one of the cancel statements (bound to user, id, now); VG_ERR_NOT_FOUND when it
 * changed no row. */
static enum vg_err cancel_step(struct sqlite_store *s, enum sq_stmt which, const char *user_id, const char *id,
                               struct generation *out, struct vg_error *err)
{
    sqlite3_stmt *st = sq_stmt(s, which, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, clock_now_ms());
    return one_generation(s, st, out, VG_ERR_NOT_FOUND, err);
}

/* A pending generation no worker holds is cancelled and refunded here; one a worker holds
 * is flagged, and the worker ends it at its next step. */
enum vg_err sq_generation_cancel(struct store *base, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    enum vg_err e = sq_begin(s, err);
    if (e)
        return e;
    e = cancel_step(s, SQ_GENERATION_CANCEL_PENDING, user_id, id, out, err);
    if (e == VG_OK) {
        if ((e = sq_refund(s, out, "cancelled before it started", err)) != VG_OK)
            generation_free(out);
    } else if (e == VG_ERR_NOT_FOUND) {
        e = cancel_step(s, SQ_GENERATION_CANCEL_FLAG, user_id, id, out, err);
        if (e == VG_ERR_NOT_FOUND && get(s, user_id, id, out, err) == VG_OK) {
            vg_fail(err, VG_ERR_CONFLICT, "", "the generation has already ended (%s)", out->status);
            generation_free(out);
            e = VG_ERR_CONFLICT;
        }
    }
    return sq_end_with_generation(s, e, out, err);
}

enum vg_err sq_generation_delete(struct store *base, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_GENERATION_DELETE, err);
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    enum vg_err e = one_generation(s, st, out, VG_ERR_NOT_FOUND, err);
    struct generation g;
    if (e == VG_ERR_NOT_FOUND && get(s, user_id, id, &g, NULL) == VG_OK) {
        generation_free(&g);
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation is still running; cancel it first");
    }
    return e;
}

static void read_ledger_entry(sqlite3_stmt *st, void *item)
{
    struct ledger_entry *l = item;
    l->id = (long)sqlite3_column_int64(st, 0);
    sq_text_copy(st, 1, l->kind, sizeof l->kind);
    l->amount = (long)sqlite3_column_int64(st, 2);
    l->balance_after = (long)sqlite3_column_int64(st, 3);
    sq_text_copy(st, 4, l->generation_id, sizeof l->generation_id);
    sq_text_copy(st, 5, l->note, sizeof l->note);
    l->created_at = sqlite3_column_int64(st, 6);
}

enum vg_err sq_ledger_page(struct store *base, const char *user_id, long before_id, int limit, struct ledger_list *out,
                           struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    sqlite3_stmt *st = sq_stmt(s, SQ_LEDGER_PAGE, err);
    out->items = NULL, out->n = 0;
    if (st == NULL)
        return VG_ERR_INTERNAL;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int(st, 3, limit);
    return sq_read_all(s, st, (void **)&out->items, &out->n, sizeof *out->items, read_ledger_entry, NULL, err);
}
