/* PostgreSQL backend: connection, prepared statements, transactions, cell readers and
 * migrations. The queries of each resource live in postgres_users.c, postgres_sessions.c,
 * postgres_projects.c, postgres_generations.c and part 2's files (postgres_internal.h). */
#include "store/postgres.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/postgres_internal.h"
#include "util/embedded.h"
#include "util/log.h"

/* ---- errors ---- */

static enum vg_err unreachable(struct pg_store *s, struct vg_error *err)
{
    return s->failed = vg_fail(err, VG_ERR_UNAVAILABLE, "", "the database is unreachable; try again");
}

enum vg_err pg_fail(struct pg_store *s, const PGresult *r, struct vg_error *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (PQstatus(s->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
        (state && strncmp(state, "57P", 3) == 0))
        return unreachable(s, err);
    if (state && strncmp(state, "23", 2) == 0)
        return s->failed = vg_fail(err, VG_ERR_CONFLICT, "", "conflicts with existing data (%s)", msg ? msg : state);
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        return s->failed = vg_fail(err, VG_ERR_UNAVAILABLE, "", "the database is busy; try again");
    log_error("postgres: %s (SQLSTATE %s)", msg ? msg : PQerrorMessage(s->conn), state ? state : "none");
    return s->failed = vg_fail(err, VG_ERR_INTERNAL, "", "database error");
}

/* ---- the connection ---- */

/* NOTICEs ("relation already exists, skipping", …) go to the debug log, not stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 5000

/* The next wait of a capped doubling backoff. */
static int64_t backoff(int64_t wait)
{
    return wait <= 0 ? RETRY_FIRST_MS : wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
}

/* A connection found lost is reset before the next statement, unless a transaction was
 * under way on it: that transaction is gone, so the statement fails and the caller rolls
 * back; the next call reconnects. While the server stays away, attempts are spaced by a
 * capped backoff (calls in between fail at once instead of each waiting on a connect; an
 * attempt itself blocks, at most connect_timeout), and the loss and the recovery are logged
 * once each. */
static enum vg_err connected(struct pg_store *s, struct vg_error *err)
{
    /* Outside a transaction, read what the server may have sent while the connection sat
     * idle (non-blocking reads, no round trip): a server that restarted or ended the
     * session has closed it, and libpq then says so here, so the reset below comes before
     * the statement instead of the statement failing. Twice: a server that ends a session
     * sends its reason, then closes, and one read returns once it has read the reason. */
    if (!s->in_tx && PQstatus(s->conn) == CONNECTION_OK && PQconsumeInput(s->conn))
        PQconsumeInput(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK)
        return VG_OK;
    int64_t now = clock_now_ms();
    if (s->in_tx || now < s->retry_at)
        return unreachable(s, err);
    if (s->retry_ms == 0)
        log_warn("store: lost the connection to PostgreSQL; reconnecting");
    PQreset(s->conn);
    s->nprepared = 0;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->retry_ms = backoff(s->retry_ms);
        s->retry_at = now + s->retry_ms;
        return unreachable(s, err);
    }
    s->retry_ms = s->retry_at = 0;
    PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
    log_info("store: reconnected to PostgreSQL");
    return VG_OK;
}

/* The name of `sql`'s prepared statement on this connection, preparing it on first use. */
static enum vg_err prepared(struct pg_store *s, const char *sql, int nparams, char name[16], struct vg_error *err)
{
    int i = 0;
    while (i < s->nprepared && s->prepared[i] != sql)
        i++;
    snprintf(name, 16, "s%d", i);
    if (i < s->nprepared)
        return VG_OK;
    if (i == PG_STMT_MAX) {
        log_error("postgres: more than %d statements on one connection", PG_STMT_MAX);
        return s->failed = vg_fail(err, VG_ERR_INTERNAL, "", "database error");
    }
    PGresult *r = PQprepare(s->conn, name, sql, nparams, NULL);
    enum vg_err e = PQresultStatus(r) == PGRES_COMMAND_OK ? VG_OK : pg_fail(s, r, err);
    PQclear(r);
    if (e == VG_OK)
        s->prepared[s->nprepared++] = sql;
    return e;
}

PGresult *pg_run(struct pg_store *s, const char *sql, int nparams, const char *const *params, struct vg_error *err)
{
    char name[16];
    if (connected(s, err) != VG_OK || prepared(s, sql, nparams, name, err) != VG_OK)
        return NULL;
    PGresult *r = PQexecPrepared(s->conn, name, nparams, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    pg_fail(s, r, err);
    PQclear(r);
    return NULL;
}

enum vg_err pg_exec(struct pg_store *s, const char *sql, int nparams, const char *const *params, long *changed,
                    struct vg_error *err)
{
    PGresult *r = pg_run(s, sql, nparams, params, err);
    if (r == NULL)
        return s->failed;
    if (changed)
        *changed = atol(PQcmdTuples(r));
    PQclear(r);
    return VG_OK;
}

/* ---- transactions ---- */

/* Runs a transaction-control command with the simple protocol. */
static enum vg_err control(struct pg_store *s, const char *cmd, struct vg_error *err)
{
    PGresult *r = PQexec(s->conn, cmd);
    enum vg_err e = VG_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        e = pg_fail(s, r, err);
    else if (strcmp(cmd, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        e = vg_fail(err, VG_ERR_INTERNAL, "", "database error"); /* an aborted transaction "commits" as ROLLBACK */
    PQclear(r);
    return e;
}

enum vg_err pg_begin(struct pg_store *s, struct vg_error *err)
{
    enum vg_err e = connected(s, err);
    if (e == VG_OK && (e = control(s, "BEGIN", err)) == VG_OK)
        s->in_tx = true;
    return e;
}

enum vg_err pg_commit(struct pg_store *s, struct vg_error *err)
{
    enum vg_err e = control(s, "COMMIT", err);
    if (e)
        pg_rollback(s);
    s->in_tx = false;
    return e;
}

void pg_rollback(struct pg_store *s)
{
    PGTransactionStatusType t = PQtransactionStatus(s->conn);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
        control(s, "ROLLBACK", NULL);
    s->in_tx = false;
}

enum vg_err pg_end_with_generation(struct pg_store *s, enum vg_err e, struct generation *out, struct vg_error *err)
{
    if (e != VG_OK) {
        pg_rollback(s);
        return e;
    }
    if ((e = pg_commit(s, err)) != VG_OK && out)
        generation_free(out);
    return e;
}

/* ---- values ---- */

const char *pg_i64(char buf[PG_NUM], int64_t v)
{
    snprintf(buf, PG_NUM, "%lld", (long long)v);
    return buf;
}

char *pg_text_dup(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

void pg_text_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, row, col)); /* "" for NULL */
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_double(const PGresult *r, int row, int col)
{
    return strtod(PQgetvalue(r, row, col), NULL);
}

bool pg_bool(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    return v[0] == 't' || (v[0] != 'f' && strtoll(v, NULL, 10) != 0);
}

void *pg_grow(void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*items, ncap * size);
        if (p == NULL)
            return NULL;
        *items = p, *cap = ncap;
    }
    void *slot = (char *)*items + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

enum vg_err pg_read_all(const PGresult *r, void **items, size_t *n, size_t size,
                        void (*read)(const PGresult *r, int row, void *item), struct vg_error *err)
{
    int rows = PQntuples(r);
    *items = NULL, *n = 0;
    if (rows == 0)
        return VG_OK;
    if ((*items = calloc((size_t)rows, size)) == NULL)
        return vg_fail(err, VG_ERR_INTERNAL, "", "out of memory");
    for (int i = 0; i < rows; i++)
        read(r, i, (char *)*items + (size_t)i * size);
    *n = (size_t)rows;
    return VG_OK;
}

/* ---- migrations ---- */

#define MIGRATION_PREFIX "src/store/migrations/postgres/"
/* pg_advisory_lock's key for the migration run: "vidgen" in ASCII. */
#define MIGRATION_LOCK "SELECT pg_advisory_lock(130289238058350)"
#define MIGRATION_UNLOCK "SELECT pg_advisory_unlock(130289238058350)"

/* Runs `sql` with the simple protocol (several statements allowed); VG_OK when all ran. */
static enum vg_err simple(struct pg_store *s, const char *sql, const char *what, struct vg_error *err)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    enum vg_err e = VG_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        e = vg_fail(err, VG_ERR_INTERNAL, "", "%s failed: %s", what, msg ? msg : PQerrorMessage(s->conn));
        if (PQstatus(s->conn) != CONNECTION_OK)
            e = unreachable(s, err);
    }
    PQclear(r);
    return e;
}

/* Applies one migration unless it was applied already, in one transaction (the caller
 * holds the advisory lock, so no other process migrates meanwhile). */
static enum vg_err apply_migration(struct pg_store *s, int version, const struct embedded_file *f, int *applied,
                                   struct vg_error *err)
{
    const char *name = f->path + strlen(MIGRATION_PREFIX);
    char v[PG_NUM], now[PG_NUM];
    const char *params[] = {pg_i64(v, version), name, pg_i64(now, clock_now_ms())};
    enum vg_err e = pg_begin(s, err);
    if (e)
        return e;
    PGresult *r =
        PQexecParams(s->conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, params, NULL, NULL, 0);
    bool done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    e = PQresultStatus(r) == PGRES_TUPLES_OK ? VG_OK : pg_fail(s, r, err);
    PQclear(r);
    if (e || done)
        goto end;
    if ((e = simple(s, f->data, f->path, err)))
        goto end;
    r = PQexecParams(s->conn, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", 3, NULL,
                     params, NULL, NULL, 0);
    e = PQresultStatus(r) == PGRES_COMMAND_OK ? VG_OK : pg_fail(s, r, err);
    PQclear(r);
    if (e == VG_OK) {
        (*applied)++;
        log_info("store: applied migration %s", name);
    }
end:
    if (e) {
        pg_rollback(s);
        return e;
    }
    return pg_commit(s, err);
}

static enum vg_err run_migrations(struct pg_store *s, int *applied, struct vg_error *err)
{
    enum vg_err e = simple(s,
                           "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                           "name text NOT NULL, applied_at bigint NOT NULL)",
                           "schema_migrations", err);
    /* Embedded in name order (tools/embed.sh is given a sorted list), so NNN_ order. Two
     * files with one number would apply only the first: a build error, refused here. */
    int last = 0;
    for (const struct embedded_file *f = embedded_files; e == VG_OK && f->path; f++) {
        if (strncmp(f->path, MIGRATION_PREFIX, strlen(MIGRATION_PREFIX)) != 0)
            continue;
        int version = 0;
        const char *name = f->path + strlen(MIGRATION_PREFIX);
        if (sscanf(name, "%d_", &version) != 1 || version <= last)
            return vg_fail(err, VG_ERR_INTERNAL, "", "migration %s does not follow number %d", name, last);
        last = version;
        e = apply_migration(s, version, f, applied, err);
    }
    return e;
}

/* Processes starting together each migrate: a session advisory lock around the whole run
 * lets one apply what is missing while the others wait, then find nothing left to do. */
static enum vg_err pg_migrate(struct store *base, int *applied_out, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    int applied = 0;
    enum vg_err e = connected(s, err);
    if (e || (e = simple(s, MIGRATION_LOCK, "the migration lock", err)))
        return e;
    e = run_migrations(s, &applied, err);
    simple(s, MIGRATION_UNLOCK, "the migration unlock", NULL);
    if (e == VG_OK && applied_out)
        *applied_out = applied;
    return e;
}

/* ---- open and close ---- */

/* `url` with the password of its user part and any password= parameter left out. */
static void url_without_password(const char *url, char *out, size_t cap)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t hostlen = strcspn(host, "/?");
    const char *at = memrchr(host, '@', hostlen);
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (colon)
        snprintf(out, cap, "%.*s%s", (int)(colon - url), url, at);
    else
        snprintf(out, cap, "%s", url);
    char *pw = strstr(out, "password="); /* its value dropped */
    if (pw) {
        pw += strlen("password=");
        char *end = pw + strcspn(pw, "&");
        memmove(pw, end, strlen(end) + 1);
    }
}

static void pg_close(struct store *base)
{
    struct pg_store *s = pg(base);
    PQfinish(s->conn);
    free(s->url);
    free(s);
}

static const struct store_ops ops = {
    .close = pg_close,
    .migrate = pg_migrate,
    .user_create = pg_user_create,
    .user_by_name = pg_user_by_name,
    .user_by_id = pg_user_by_id,
    .user_count = pg_user_count,
    .credits_add = pg_credits_add,
    .ledger_sum = pg_ledger_sum,
    .token_create = pg_token_create,
    .token_user = pg_token_user,
    .token_revoke = pg_token_revoke,
    .tokens_live = pg_tokens_live,
    .password_set = pg_password_set,
    .password_get = pg_password_get,
    .session_create = pg_session_create,
    .session_user = pg_session_user,
    .session_revoke = pg_session_revoke,
    .sessions_revoke_user = pg_sessions_revoke_user,
    .project_create = pg_project_create,
    .project_get = pg_project_get,
    .project_list = pg_project_list,
    .project_update = pg_project_update,
    .project_delete = pg_project_delete,
    .generation_list = pg_generation_list,
    .generation_create = pg_generation_create,
    .generation_get = pg_generation_get,
    .generation_page = pg_generation_page,
    .generation_cancel = pg_generation_cancel,
    .generation_delete = pg_generation_delete,
    .generation_attempts = pg_generation_attempts,
    .attempt_cost = pg_attempt_cost,
    .ledger_page = pg_ledger_page,
    .job_claim = pg_job_claim,
    .provider_in_flight = pg_provider_in_flight,
    .provider_queued = pg_provider_queued,
    .summary = pg_summary,
    .admin = &pg_admin_ops,
    .provider_health_get = pg_provider_health_get,
    .provider_health_put = pg_provider_health_put,
    .job_next_due = pg_job_next_due,
    .worker_join = pg_worker_join,
    .worker_beat = pg_worker_beat,
    .workers_reap = pg_workers_reap,
    .job_lease = pg_job_lease,
    .job_update = pg_job_update,
    .webhook_wake = pg_webhook_wake,
    .webhook_known = pg_webhook_known,
    .upload_create = pg_upload_create,
    .upload_get = pg_upload_get,
    .upload_list = pg_upload_list,
    .upload_delete = pg_upload_delete,
    .upload_usage = pg_upload_usage,
    .image_in_use = pg_image_in_use,
};

/* Whether a failed connection may succeed later by itself: the server is down, starting,
 * stopping or full, or the network is not there yet. Anything else (a wrong password, a
 * missing database or role, a malformed URL) is reported at once. */
static bool transient(const char *why)
{
    static const char *const marks[] = {"Connection refused",  "starting up",           "shutting down",
                                        "in recovery mode",    "too many clients",      "timeout expired",
                                        "timed out",           "No route to host",      "Network is unreachable",
                                        "could not translate", "closed the connection", "No such file or directory"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (strstr(why, marks[i]))
            return true;
    return false;
}

/* SIGINT or SIGTERM waits for this process (serve and worker block them until their own
 * sigwait): a start that waits for the database gives up then. */
static bool stop_requested(void)
{
    sigset_t pending;
    return sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

/* Connects once; the reason on failure in `why` (one line). connect_timeout 10 s unless
 * the URL sets its own (the URL's values come later, so they win). */
static PGconn *connect_once(const char *url, char *why, size_t cap)
{
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {"10", url, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (PQstatus(c) == CONNECTION_OK)
        return c;
    snprintf(why, cap, "%s", c ? PQerrorMessage(c) : "out of memory");
    size_t n = 0; /* libpq's message spans lines: one line, runs of blanks made one space */
    for (char *p = why; *p; p++)
        if (!isspace((unsigned char)*p))
            why[n++] = *p;
        else if (n > 0 && why[n - 1] != ' ')
            why[n++] = ' ';
    while (n > 0 && why[n - 1] == ' ')
        n--;
    why[n] = 0;
    PQfinish(c);
    return NULL;
}

/* A server that is down or starting is waited for, with a capped backoff, saying so once
 * per reason (a process started before its database keeps trying instead of exiting). */
struct store *postgres_store_open(const char *url, bool patient, char *err, size_t errlen)
{
    struct pg_store *s = calloc(1, sizeof *s);
    char safe[256], why[512], last[512] = "";
    int64_t wait = 0, since = clock_now_ms();
    if (s == NULL || (s->url = strdup(url)) == NULL) {
        free(s);
        return snprintf(err, errlen, "out of memory"), NULL;
    }
    s->base.ops = &ops;
    url_without_password(url, safe, sizeof safe);
    while ((s->conn = connect_once(url, why, sizeof why)) == NULL) {
        if (!patient || !transient(why) || stop_requested()) {
            snprintf(err, errlen, "cannot connect to the database %s: %s", safe, why);
            pg_close(&s->base);
            return NULL;
        }
        if (strcmp(why, last) != 0) {
            log_warn("store: cannot connect to the database %s: %s; trying again until it answers", safe, why);
            snprintf(last, sizeof last, "%s", why);
        }
        wait = backoff(wait);
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (last[0])
        log_info("store: connected to the database %s after %.1f s", safe, (double)(clock_now_ms() - since) / 1000);
    PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
    return &s->base;
}
