/* store_summary for the SQLite backend: two reads, each bounded by an index — the queued
 * generations through the partial index of runnable ones, the ledger's new rows by their
 * primary key past the last id the caller saw. Prepared per call: it runs every few seconds. */
#include <string.h>

#include "store/sqlite_internal.h"

static const char queue_sql[] = "SELECT count(*), coalesce(min(created_at), 0) FROM generations "
                                "WHERE status IN ('pending', 'processing') AND phase = 'queued'";
static const char ledger_sql[] = "SELECT kind, sum(amount), max(id) FROM credit_ledger WHERE id > ? GROUP BY kind";

static int kind_of(const unsigned char *name)
{
    static const char *names[] = {"grant", "charge", "refund", "adjust"};
    for (int k = 0; k < 4; k++)
        if (name && strcmp((const char *)name, names[k]) == 0)
            return k;
    return -1;
}

static int read_queue(sqlite3 *db, struct store_summary *io)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, queue_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        io->queued = (long)sqlite3_column_int64(st, 0);
        io->oldest_queued_at = sqlite3_column_int64(st, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int read_ledger(sqlite3 *db, struct store_summary *io)
{
    sqlite3_stmt *st;
    long after = io->ledger_after;
    int rc = sqlite3_prepare_v2(db, ledger_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    memset(io->credits, 0, sizeof io->credits);
    sqlite3_bind_int64(st, 1, after);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = kind_of(sqlite3_column_text(st, 0));
        if (k >= 0)
            io->credits[k] = (long)sqlite3_column_int64(st, 1);
        if (sqlite3_column_int64(st, 2) > io->ledger_after)
            io->ledger_after = (long)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum vg_err sq_summary(struct store *base, struct store_summary *io, struct vg_error *err)
{
    struct sqlite_store *s = sq(base);
    int rc;
    /* one read transaction, so the ledger rows summed and ledger_after agree */
    if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        return sq_fail(s, rc, err);
    if ((rc = read_queue(s->db, io)) == SQLITE_OK)
        rc = read_ledger(s->db, io);
    sqlite3_exec(s->db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc == SQLITE_OK ? VG_OK : sq_fail(s, rc, err);
}
