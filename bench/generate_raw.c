/* bench/generate_raw.c: the physical reference for POST /generate's write rate.
 *
 *   generate_raw URL THREADS SECONDS PAIRS
 *
 * URL is sqlite:PATH or postgres://…, a database vidgen has migrated; PAIRS a file of
 * "user_id project_id" lines (users with credits to spend). THREADS threads, each with its
 * own connection, loop for SECONDS over the transaction a generate commits, minus everything
 * vidgen adds around it (HTTP, JSON, tokens, the catalog, the price):
 *   BEGIN; UPDATE users SET balance = balance - 1 … RETURNING balance;
 *   INSERT INTO generations (…); INSERT INTO credit_ledger (charge …); COMMIT
 * with prepared statements and SQLite's settings as vidgen's store sets them (WAL,
 * synchronous=NORMAL, BEGIN IMMEDIATE). Prints one line: "BENCH transactions=N seconds=S
 * rate=R". */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 4096

static char users[MAX_PAIRS][64], projects[MAX_PAIRS][64];
static int npairs;
static const char *url;
static double seconds;
static atomic_long done_total;
static atomic_int failed;

static const char *const sql_balance = "UPDATE users SET balance = balance - 1 WHERE id = $1 AND balance >= 1 "
                                       "RETURNING balance";
static const char *const sql_generation =
    "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, resolution, "
    "duration, aspect_ratio, credit_used, next_run_at, created_at, updated_at) VALUES ($1, $2, $3, 'local', "
    "'local-preview', 'Local preview', 'raw reference', '720p', 1, '1:1', 1, $4, $4, $4)";
static const char *const sql_ledger = "INSERT INTO credit_ledger (user_id, kind, amount, balance_after, "
                                      "generation_id, note, created_at) VALUES ($1, 'charge', -1, $2, $3, "
                                      "'local-preview', $4)";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* SQLite spells parameters ?N; the texts above use $N, which SQLite also takes. */
static long run_sqlite(int t, double until)
{
    sqlite3 *db;
    sqlite3_stmt *st[5];
    const char *texts[5] = {"BEGIN IMMEDIATE", sql_balance, sql_generation, sql_ledger, "COMMIT"};
    long n = 0;
    if (sqlite3_open_v2(url + 7, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return fprintf(stderr, "generate_raw: cannot open %s\n", url + 7), -1;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", NULL,
                 NULL, NULL);
    for (int i = 0; i < 5; i++)
        if (sqlite3_prepare_v3(db, texts[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK)
            return fprintf(stderr, "generate_raw: %s\n", sqlite3_errmsg(db)), -1;
    while (now_s() < until) {
        int p = (int)((t * 7919L + n) % npairs);
        char id[64];
        long long ms = wall_ms();
        snprintf(id, sizeof id, "raw-%d-%d-%ld", (int)getpid(), t, n);
        int ok = sqlite3_step(st[0]) == SQLITE_DONE;
        sqlite3_reset(st[0]);
        sqlite3_bind_text(st[1], 1, users[p], -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(st[1]) == SQLITE_ROW;
        long long balance = sqlite3_column_int64(st[1], 0);
        ok = ok && sqlite3_step(st[1]) == SQLITE_DONE;
        sqlite3_reset(st[1]);
        sqlite3_bind_text(st[2], 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[2], 2, projects[p], -1, SQLITE_STATIC);
        sqlite3_bind_text(st[2], 3, users[p], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st[2], 4, ms);
        ok = ok && sqlite3_step(st[2]) == SQLITE_DONE;
        sqlite3_reset(st[2]);
        sqlite3_bind_text(st[3], 1, users[p], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st[3], 2, balance);
        sqlite3_bind_text(st[3], 3, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st[3], 4, ms);
        ok = ok && sqlite3_step(st[3]) == SQLITE_DONE;
        sqlite3_reset(st[3]);
        ok = ok && sqlite3_step(st[4]) == SQLITE_DONE;
        sqlite3_reset(st[4]);
        if (!ok) {
            fprintf(stderr, "generate_raw: %s\n", sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            atomic_store(&failed, 1);
            break;
        }
        n++;
    }
    for (int i = 0; i < 5; i++)
        sqlite3_finalize(st[i]);
    sqlite3_close(db);
    return n;
}

static int pg_ok(PGconn *c, PGresult *r, ExecStatusType want)
{
    int ok = r != NULL && PQresultStatus(r) == want;
    if (!ok)
        fprintf(stderr, "generate_raw: %s\n", PQerrorMessage(c));
    return ok;
}

static long run_postgres(int t, double until)
{
    PGconn *c = PQconnectdb(url);
    long n = 0;
    if (PQstatus(c) != CONNECTION_OK)
        return fprintf(stderr, "generate_raw: %s\n", PQerrorMessage(c)), PQfinish(c), -1;
    const char *names[3] = {"b", "g", "l"}, *texts[3] = {sql_balance, sql_generation, sql_ledger};
    for (int i = 0; i < 3; i++) {
        PGresult *r = PQprepare(c, names[i], texts[i], 0, NULL);
        int ok = pg_ok(c, r, PGRES_COMMAND_OK);
        PQclear(r);
        if (!ok)
            return PQfinish(c), -1;
    }
    while (now_s() < until) {
        int p = (int)((t * 7919L + n) % npairs);
        char id[64], ms[24];
        snprintf(id, sizeof id, "raw-%d-%d-%ld", (int)getpid(), t, n);
        snprintf(ms, sizeof ms, "%lld", wall_ms());
        PGresult *r = PQexec(c, "BEGIN");
        int ok = pg_ok(c, r, PGRES_COMMAND_OK);
        PQclear(r);
        const char *pb[1] = {users[p]};
        r = ok ? PQexecPrepared(c, "b", 1, pb, NULL, NULL, 0) : NULL;
        ok = ok && pg_ok(c, r, PGRES_TUPLES_OK) && PQntuples(r) == 1;
        char balance[24] = "0";
        if (ok)
            snprintf(balance, sizeof balance, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        const char *pg[4] = {id, projects[p], users[p], ms};
        r = ok ? PQexecPrepared(c, "g", 4, pg, NULL, NULL, 0) : NULL;
        ok = ok && pg_ok(c, r, PGRES_COMMAND_OK);
        PQclear(r);
        const char *pl[4] = {users[p], balance, id, ms};
        r = ok ? PQexecPrepared(c, "l", 4, pl, NULL, NULL, 0) : NULL;
        ok = ok && pg_ok(c, r, PGRES_COMMAND_OK);
        PQclear(r);
        r = PQexec(c, ok ? "COMMIT" : "ROLLBACK");
        ok = ok && pg_ok(c, r, PGRES_COMMAND_OK);
        PQclear(r);
        if (!ok) {
            atomic_store(&failed, 1);
            break;
        }
        n++;
    }
    PQfinish(c);
    return n;
}

static void *thread_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    double until = now_s() + seconds;
    long n = strncmp(url, "sqlite:", 7) == 0 ? run_sqlite(t, until) : run_postgres(t, until);
    if (n < 0)
        atomic_store(&failed, 1);
    else
        atomic_fetch_add(&done_total, n);
    return NULL;
}

static int read_pairs(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (npairs < MAX_PAIRS && fscanf(f, "%63s %63s", users[npairs], projects[npairs]) == 2)
        npairs++;
    fclose(f);
    return npairs > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: generate_raw URL THREADS SECONDS PAIRS\n");
        return 2;
    }
    url = argv[1];
    int threads = atoi(argv[2]);
    seconds = atof(argv[3]);
    if (threads < 1 || threads > 256 || seconds <= 0 || read_pairs(argv[4]) != 0) {
        fprintf(stderr, "generate_raw: bad THREADS, SECONDS or PAIRS\n");
        return 2;
    }
    pthread_t tid[256];
    double start = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, thread_main, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    double took = now_s() - start;
    long n = atomic_load(&done_total);
    printf("BENCH transactions=%ld seconds=%.3f rate=%.1f\n", n, took, n / took);
    return atomic_load(&failed) ? 1 : 0;
}
