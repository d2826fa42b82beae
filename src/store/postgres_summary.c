/* store_summary for the PostgreSQL backend: the queued generations through the partial index
 * of runnable ones, and the ledger's new rows by their primary key past the last id the
 * caller saw (sqlite_summary.c).
 *
 * The ledger read takes care SQLite never needs: ledger ids come from a sequence when a row
 * is inserted, and transactions commit in any order, so a row with id 9 can still be in
 * flight when one with id 10 is visible. Summing "id > after" then and moving ledger_after to
 * 10 would skip row 9 forever. So the read locks the ledger in SHARE mode, which waits for the
 * transactions writing to it to end and holds new writers back for the few milliseconds of
 * the read: every row below the largest id seen is then there. A lock not had within
 * half a second is "busy; try again" (the caller, every few seconds, does). */
#include <string.h>

#include "store/postgres_internal.h"

static const char lock_wait_sql[] = "SET LOCAL lock_timeout = '500ms'";
static const char lock_sql[] = "LOCK TABLE credit_ledger IN SHARE MODE";
static const char queue_sql[] = "SELECT count(*), coalesce(min(created_at), 0) FROM generations "
                                "WHERE status IN ('pending', 'processing') AND phase = 'queued'";
static const char ledger_sql[] = "SELECT kind, sum(amount), max(id) FROM credit_ledger WHERE id > $1::bigint "
                                 "GROUP BY kind";

static int kind_of(const char *name)
{
    static const char *names[] = {"grant", "charge", "refund", "adjust"};
    for (int k = 0; k < 4; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

static enum vg_err read_queue(struct pg_store *s, struct store_summary *io, struct vg_error *err)
{
    PGresult *r = pg_run(s, queue_sql, 0, NULL, err);
    if (r == NULL)
        return s->failed;
    io->queued = (long)pg_int(r, 0, 0);
    io->oldest_queued_at = pg_int(r, 0, 1);
    PQclear(r);
    return VG_OK;
}

static enum vg_err read_ledger(struct pg_store *s, struct store_summary *io, struct vg_error *err)
{
    char after[PG_NUM];
    enum vg_err e = pg_exec(s, lock_wait_sql, 0, NULL, NULL, err);
    if (e == VG_OK)
        e = pg_exec(s, lock_sql, 0, NULL, NULL, err);
    if (e != VG_OK)
        return e;
    PGresult *r = pg_run(s, ledger_sql, 1, (const char *const[]){pg_i64(after, io->ledger_after)}, err);
    if (r == NULL)
        return s->failed;
    memset(io->credits, 0, sizeof io->credits);
    for (int i = 0; i < PQntuples(r); i++) {
        int k = kind_of(PQgetvalue(r, i, 0));
        if (k >= 0)
            io->credits[k] = (long)pg_int(r, i, 1);
        if (pg_int(r, i, 2) > io->ledger_after)
            io->ledger_after = (long)pg_int(r, i, 2);
    }
    PQclear(r);
    return VG_OK;
}

enum vg_err pg_summary(struct store *base, struct store_summary *io, struct vg_error *err)
{
    struct pg_store *s = pg(base);
    struct store_summary was = *io;
    /* one transaction, so the ledger rows summed and ledger_after agree */
    enum vg_err e = pg_begin(s, err);
    if (e != VG_OK)
        return e;
    if ((e = read_queue(s, io, err)) == VG_OK)
        e = read_ledger(s, io, err);
    if (e != VG_OK)
        pg_rollback(s);
    else
        e = pg_commit(s, err);
    if (e != VG_OK)
        *io = was; /* nothing read: the caller's totals stay as they were */
    return e;
}
