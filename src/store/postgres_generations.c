/* PostgreSQL backend: generations as the API sees them — create with its charge, read,
 * page, cancel, delete — and the credit ledger pages and refunds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

static const char generation_insert_sql[] =
    "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, negative_prompt, "
    "start_image_path, end_image_path, resolution, duration, aspect_ratio, generate_audio, enhance_prompt, "
    "credit_used, next_run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "$13, $14, $15, $16, $17, $17, $17) RETURNING " GENERATION_COLS;
static const char generation_get_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE user_id = $1 AND id = $2";
/* A page of GET /generations, newest first, one statement per index (generations_user,
 * generations_project), each a range of it from the cursor. Ids are Crockford base32 and
 * compare byte by byte (COLLATE "C" in the schema), so '~' sorts after every one and "from
 * the newest" is the same range as a page after a cursor. */
static const char page_user_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE user_id = $1 "
                                    "AND id < coalesce($3::text, '~') AND ($2::text IS NULL OR status = $2) "
                                    "ORDER BY id DESC LIMIT $4";
static const char page_project_sql[] = "SELECT " GENERATION_COLS " FROM generations WHERE project_id = $2 "
                                       "AND user_id = $1 AND id < coalesce($4::text, '~') "
                                       "AND ($3::text IS NULL OR status = $3) ORDER BY id DESC LIMIT $5";
/* Conditional UPDATEs: a worker's concurrent claim or end makes PostgreSQL re-check the
 * WHERE against the row it wrote, so a generation is cancelled here only while it is still
 * pending and nobody holds it. */
static const char cancel_pending_sql[] =
    "UPDATE generations SET status = 'cancelled', phase = 'done', "
    "completed_at = $3, updated_at = $3, lease_owner = NULL, lease_worker = NULL, lease_until = NULL "
    "WHERE user_id = $1 AND id = $2 AND status = 'pending' "
    "AND (lease_until IS NULL OR lease_until < $3) RETURNING " GENERATION_COLS;
/* A job waiting between polls is made due at once: its next claim ends it. */
static const char cancel_flag_sql[] = "UPDATE generations SET cancel_requested = 1, updated_at = $3, "
                                      "next_run_at = CASE WHEN lease_until >= $3 THEN next_run_at "
                                      "ELSE LEAST(next_run_at, $3) END "
                                      "WHERE user_id = $1 AND id = $2 AND status IN ('pending', 'processing') "
                                      "RETURNING " GENERATION_COLS;
static const char generation_delete_sql[] =
    "DELETE FROM generations WHERE user_id = $1 AND id = $2 "
    "AND status IN ('completed', 'failed', 'cancelled') RETURNING " GENERATION_COLS;
/* Locks the user's row for the rest of generation_create's transaction (the strength of
 * the balance UPDATE, so foreign-key checks of other rows are not blocked): one user's
 * creates run one at a time, so a retry under the same Idempotency-Key waits for the first
 * request and then finds its key, as under SQLite's single writer. */
static const char user_lock_sql[] = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";
static const char idempotency_get_sql[] =
    "SELECT request_hash, generation_id FROM idempotency_keys WHERE user_id = $1 AND key = $2";
static const char idempotency_insert_sql[] = "INSERT INTO idempotency_keys (user_id, key, request_hash, "
                                             "generation_id, created_at) VALUES ($1, $2, $3, $4, $5)";
/* FOR SHARE: the project cannot be deleted (project_delete locks it FOR UPDATE first)
 * until this transaction has written its generation. */
static const char project_owned_sql[] = "SELECT 1 FROM projects WHERE user_id = $1 AND id = $2 FOR SHARE";
static const char ledger_page_sql[] =
    "SELECT id, kind, amount, balance_after, generation_id, note, created_at FROM credit_ledger "
    "WHERE user_id = $1 AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3";
static const char refund_exists_sql[] = "SELECT 1 FROM credit_ledger WHERE generation_id = $1 AND kind = 'refund'";

void pg_read_generation(const PGresult *r, int row, struct generation *g)
{
    memset(g, 0, sizeof *g);
    pg_text_copy(r, row, 0, g->id, sizeof g->id);
    pg_text_copy(r, row, 1, g->project_id, sizeof g->project_id);
    pg_text_copy(r, row, 2, g->user_id, sizeof g->user_id);
    pg_text_copy(r, row, 3, g->provider, sizeof g->provider);
    pg_text_copy(r, row, 4, g->model_id, sizeof g->model_id);
    g->model_name = pg_text_dup(r, row, 5);
    g->prompt = pg_text_dup(r, row, 6);
    g->negative_prompt = pg_text_dup(r, row, 7);
    g->start_image = pg_text_dup(r, row, 8);
    g->end_image = pg_text_dup(r, row, 9);
    pg_text_copy(r, row, 10, g->resolution, sizeof g->resolution);
    g->duration = (int)pg_int(r, row, 11);
    pg_text_copy(r, row, 12, g->aspect_ratio, sizeof g->aspect_ratio);
    g->audio = pg_bool(r, row, 13);
    g->enhance_prompt = pg_bool(r, row, 14);
    g->credit_used = (long)pg_int(r, row, 15);
    pg_text_copy(r, row, 16, g->status, sizeof g->status);
    g->progress = (int)pg_int(r, row, 17);
    g->error_message = pg_text_dup(r, row, 18);
    g->output_path = pg_text_dup(r, row, 19);
    g->thumbnail_path = pg_text_dup(r, row, 20);
    g->created_at = pg_int(r, row, 21);
    g->updated_at = pg_int(r, row, 22);
    g->completed_at = pg_int(r, row, 23);
    pg_text_copy(r, row, 24, g->phase, sizeof g->phase);
    g->provider_job_id = pg_text_dup(r, row, 25);
    g->video_width = (int)pg_int(r, row, 26);
    g->video_height = (int)pg_int(r, row, 27);
    g->video_seconds = pg_double(r, row, 28);
    g->attempts = (int)pg_int(r, row, 29);
    g->cancel_requested = pg_bool(r, row, 30);
}

static void read_generation_item(const PGresult *r, int row, void *item)
{
    pg_read_generation(r, row, item);
}

enum vg_err pg_read_generations(struct pg_store *s, const char *sql, int nparams, const char *const *params,
                                struct generation_list *out, struct vg_error *err)
{
    out->items = NULL, out->n = 0;
    PGresult *r = pg_run(s, sql, nparams, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_generation_item, err);
    PQclear(r);
    return e;
}

enum vg_err pg_one_generation(struct pg_store *s, const char *sql, int nparams, const char *const *params,
                              struct generation *out, enum vg_err missing, struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, nparams, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = VG_OK;
    if (PQntuples(r) > 0)
        pg_read_generation(r, 0, out);
    else
        e = missing == VG_ERR_NOT_FOUND ? vg_fail(err, missing, "", "no such generation") : missing;
    PQclear(r);
    return e;
}

static enum vg_err get(struct pg_store *s, const char *user_id, const char *id, struct generation *out,
                       struct vg_error *err)
{
    const char *params[] = {user_id, id};
    return pg_one_generation(s, generation_get_sql, 2, params, out, VG_ERR_NOT_FOUND, err);
}

enum vg_err pg_generation_get(struct store *s, const char *user_id, const char *id, struct generation *out,
                              struct vg_error *err)
{
    return get(pg(s), user_id, id, out, err);
}

/* An earlier request with the same Idempotency-Key: the same body replays its generation,
 * another body is a conflict. VG_ERR_NOT_FOUND when the key is new. */
static enum vg_err idempotent_replay(struct pg_store *s, const struct generation_new *in, struct generation *out,
                                     struct vg_error *err)
{
    char hash[65], gen_id[ID_LEN + 1];
    const char *params[] = {in->user_id, in->idempotency_key};
    PGresult *r = pg_run(s, idempotency_get_sql, 2, params, err);
    if (r == NULL)
        return s->failed;
    bool found = PQntuples(r) > 0;
    if (found) {
        pg_text_copy(r, 0, 0, hash, sizeof hash);
        pg_text_copy(r, 0, 1, gen_id, sizeof gen_id);
    }
    PQclear(r);
    if (!found)
        return VG_ERR_NOT_FOUND;
    if (strcmp(hash, in->request_hash) != 0)
        return vg_fail(err, VG_ERR_CONFLICT, "Idempotency-Key",
                       "this Idempotency-Key was used for a different request; use a new key");
    if (get(s, in->user_id, gen_id, out, err) != VG_OK)
        return vg_fail(err, VG_ERR_CONFLICT, "Idempotency-Key",
                       "this Idempotency-Key was used for a generation that has since been deleted");
    return VG_OK;
}

static enum vg_err insert_generation(struct pg_store *s, const char *id, const struct generation_new *in, int64_t now,
                                     struct generation *out, struct vg_error *err)
{
    char duration[PG_NUM], credits[PG_NUM], at[PG_NUM];
    const char *params[] = {id,
                            in->project_id,
                            in->user_id,
                            in->provider,
                            in->model_id,
                            in->model_name,
                            in->prompt ? in->prompt : "",
                            in->negative_prompt,
                            in->start_image,
                            in->end_image,
                            in->resolution,
                            pg_i64(duration, in->duration),
                            in->aspect_ratio,
                            in->audio ? "1" : "0",
                            in->enhance_prompt ? "1" : "0",
                            pg_i64(credits, in->credits),
                            pg_i64(at, now)};
    return pg_one_generation(s, generation_insert_sql, 17, params, out, VG_ERR_INTERNAL, err);
}

static enum vg_err check_project(struct pg_store *s, const struct generation_new *in, struct vg_error *err)
{
    const char *params[] = {in->user_id, in->project_id};
    PGresult *r = pg_run(s, project_owned_sql, 2, params, err);
    if (r == NULL)
        return s->failed;
    bool owned = PQntuples(r) > 0;
    PQclear(r);
    return owned ? VG_OK : vg_fail(err, VG_ERR_NOT_FOUND, "projectId", "no such project");
}

static enum vg_err remember_key(struct pg_store *s, const struct generation_new *in, const char *gen_id, int64_t now,
                                struct vg_error *err)
{
    char at[PG_NUM];
    const char *params[] = {in->user_id, in->idempotency_key, in->request_hash, gen_id, pg_i64(at, now)};
    return pg_exec(s, idempotency_insert_sql, 5, params, NULL, err);
}

/* The charge and the generation are one transaction: either both exist or neither. */
enum vg_err pg_generation_create(struct store *base, const struct generation_new *in, struct generation *out,
                                 bool *replayed, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char id[ID_LEN + 1];
    int64_t now = clock_now_ms();
    const char *user[] = {in->user_id};
    enum vg_err e;
    *replayed = false;
    if ((e = pg_begin(s, err)))
        return e;
    /* With a key, the user's row is locked first, so two requests with the same key take
     * turns and the second replays the first. Without one, the charge's conditional UPDATE
     * of the balance is the lock that orders concurrent charges: a round trip saved. */
    if (in->idempotency_key && (e = pg_exec(s, user_lock_sql, 1, user, NULL, err)))
        goto done;
    if (in->idempotency_key) {
        e = idempotent_replay(s, in, out, err);
        if (e == VG_OK)
            *replayed = true;
        if (e != VG_ERR_NOT_FOUND)
            goto done;
    }
    id_new(id);
    if ((e = check_project(s, in, err)) ||
        (e = pg_ledger_append(s, in->user_id, LEDGER_CHARGE, -in->credits, id, in->model_id, NULL, err)))
        goto done;
    if ((e = insert_generation(s, id, in, now, out, err)) == VG_OK && in->idempotency_key &&
        (e = remember_key(s, in, id, now, err)) != VG_OK)
        generation_free(out);
done:
    return pg_end_with_generation(s, e, out, err);
}

enum vg_err pg_generation_page(struct store *base, const struct generation_query *q, struct generation_list *out,
                               struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char limit[PG_NUM];
    pg_i64(limit, q->limit);
    if (q->project_id) {
        const char *params[] = {q->user_id, q->project_id, q->status, q->before_id, limit};
        return pg_read_generations(s, page_project_sql, 5, params, out, err);
    }
    const char *params[] = {q->user_id, q->status, q->before_id, limit};
    return pg_read_generations(s, page_user_sql, 4, params, out, err);
}

enum vg_err pg_refund(struct pg_store *s, const struct generation *g, const char *note, struct vg_error *err)
{
    const char *params[] = {g->id};
    PGresult *r = pg_run(s, refund_exists_sql, 1, params, err);
    if (r == NULL)
        return s->failed;
    bool refunded = PQntuples(r) > 0;
    PQclear(r);
    if (refunded) /* a refund happens at most once */
        return VG_OK;
    if (g->credit_used <= 0)
        return VG_OK;
    return pg_ledger_append(s, g->user_id, LEDGER_REFUND, g->credit_used, g->id, note, NULL, err);
}

/* Runs one of the cancel statements (bound to user, id, now); VG_ERR_NOT_FOUND when it
 * changed no row. */
static enum vg_err cancel_step(struct pg_store *s, const char *sql, const char *user_id, const char *id,
                               struct generation *out, struct vg_error *err)
{
    char now[PG_NUM];
    const char *params[] = {user_id, id, pg_i64(now, clock_now_ms())};
    return pg_one_generation(s, sql, 3, params, out, VG_ERR_NOT_FOUND, err);
}

/* A pending generation no worker holds is cancelled and refunded here; one a worker holds
 * is flagged, and the worker ends it at its next step. */
enum vg_err pg_generation_cancel(struct store *base, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err)
{
    struct pg_store *s = pg(base);
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    e = cancel_step(s, cancel_pending_sql, user_id, id, out, err);
    if (e == VG_OK) {
        if ((e = pg_refund(s, out, "cancelled before it started", err)) != VG_OK)
            generation_free(out);
    } else if (e == VG_ERR_NOT_FOUND) {
        e = cancel_step(s, cancel_flag_sql, user_id, id, out, err);
        if (e == VG_ERR_NOT_FOUND && get(s, user_id, id, out, err) == VG_OK) {
            vg_fail(err, VG_ERR_CONFLICT, "", "the generation has already ended (%s)", out->status);
            generation_free(out);
            e = VG_ERR_CONFLICT;
        }
    }
    return pg_end_with_generation(s, e, out, err);
}

enum vg_err pg_generation_delete(struct store *base, const char *user_id, const char *id, struct generation *out,
                                 struct vg_error *err)
{
    struct pg_store *s = pg(base);
    const char *params[] = {user_id, id};
    enum vg_err e = pg_one_generation(s, generation_delete_sql, 2, params, out, VG_ERR_NOT_FOUND, err);
    struct generation g;
    if (e == VG_ERR_NOT_FOUND && get(s, user_id, id, &g, NULL) == VG_OK) {
        generation_free(&g);
        return vg_fail(err, VG_ERR_CONFLICT, "", "the generation is still running; cancel it first");
    }
    return e;
}

static void read_ledger_entry(const PGresult *r, int row, void *item)
{
    struct ledger_entry *l = item;
    l->id = (long)pg_int(r, row, 0);
    pg_text_copy(r, row, 1, l->kind, sizeof l->kind);
    l->amount = (long)pg_int(r, row, 2);
    l->balance_after = (long)pg_int(r, row, 3);
    pg_text_copy(r, row, 4, l->generation_id, sizeof l->generation_id);
    pg_text_copy(r, row, 5, l->note, sizeof l->note);
    l->created_at = pg_int(r, row, 6);
}

enum vg_err pg_ledger_page(struct store *base, const char *user_id, long before_id, int limit, struct ledger_list *out,
                           struct vg_error *err)
{
    struct pg_store *s = pg(base);
    char before[PG_NUM], lim[PG_NUM];
    const char *params[] = {user_id, pg_i64(before, before_id), pg_i64(lim, limit)};
    out->items = NULL, out->n = 0;
    PGresult *r = pg_run(s, ledger_page_sql, 3, params, err);
    if (r == NULL)
        return s->failed;
    enum vg_err e = pg_read_all(r, (void **)&out->items, &out->n, sizeof *out->items, read_ledger_entry, err);
    PQclear(r);
    return e;
}
