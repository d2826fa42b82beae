#!/usr/bin/python3
"""Walking a big project's history page by page through GET /generations' cursor: the list
query as it was (one statement, "?2 IS NULL OR project_id = ?2 ... ?4 IS NULL OR id < ?4")
against the one statement per index that replaced it (src/store/sqlite.c
SQ_GENERATION_PAGE_USER / SQ_GENERATION_PAGE_PROJECT), on the same database in the same run.

The database: one user with 20,000 generations in 10 projects, one of them (`big`) holding
10,000, interleaved in time, 85 % completed, 10 % failed, 5 % cancelled; written with
sqlite3 into a database that `vidgen migrate` made (rendering them would take hours).

1. SQL: both forms of the statement, run with Python's sqlite3 on that database (the same
   SQLite library the server links, printed), walking every page from the newest to the
   end: the big project; the big project with status=failed; the user's whole history.
   Each walk is timed BENCH_ROUNDS times (3) and the median kept; both forms must return
   the same ids, and the query plan of each is printed.
2. HTTP: the same walks of the big project through the API (keep-alive, one connection),
   against build/vidgen and against the binary before the change, each serving the same
   database with --no-worker, alternating which goes first. The old binary is
   BENCH_OLD_BIN, or built from BENCH_OLD_REV (default f001b2c, the commit before the
   change) with git archive + make in a temporary directory; BENCH_OLD_REV=none skips
   the HTTP part.

Usage: /usr/bin/python3 bench/list_generations.py    (from anywhere; build/vidgen built)
"""

import http.client
import json
import os
import pathlib
import random
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("VIDGEN_BIN") or str(REPO / "build" / "vidgen")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OLD_BIN = os.environ.get("BENCH_OLD_BIN")
OLD_REV = os.environ.get("BENCH_OLD_REV", "f001b2c")
TOTAL = int(os.environ.get("BENCH_TOTAL", "20000"))  # generations of the user
BIG = int(os.environ.get("BENCH_BIG", str(TOTAL // 2)))  # of them in the big project
PROJECTS = 10
PREFIX = "/api/apps/video-generator"

# src/store/sqlite_internal.h GENERATION_COLS
COLS = ("id, project_id, user_id, provider, model_id, model_name, prompt, negative_prompt, start_image_path, "
        "end_image_path, resolution, duration, aspect_ratio, generate_audio, enhance_prompt, credit_used, "
        "status, progress, error_message, output_path, thumbnail_path, created_at, updated_at, completed_at, "
        "phase, provider_job_id, video_width, video_height, video_seconds, attempts, cancel_requested")
# ?1 user, ?2 project or NULL, ?3 status or NULL, ?4 cursor or NULL, ?5 limit (as bound by
# src/store/sqlite_generations.c sq_generation_page, before and after).
OLD_SQL = (f"SELECT {COLS} FROM generations WHERE user_id = ?1 AND (?2 IS NULL OR project_id = ?2) "
           "AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5")
NEW_USER_SQL = (f"SELECT {COLS} FROM generations WHERE user_id = ?1 AND id < coalesce(?4, '~') "
                "AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?5")
NEW_PROJECT_SQL = (f"SELECT {COLS} FROM generations WHERE project_id = ?2 AND +user_id = ?1 "
                   "AND id < coalesce(?4, '~') AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?5")

ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # util/id.c


def make_id(ms):
    n = (ms << 80) | secrets.randbits(80)
    return "".join(ID_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def build_database(tmp):
    """Returns (data dir, user id, token, big project id)."""
    data = tmp / "data"
    env = dict(os.environ, VIDGEN_DATA_DIR=str(data), VIDGEN_LOG_LEVEL="warn")
    subprocess.run([BIN, "migrate"], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
    token = subprocess.run([BIN, "user", "add", "bench", "--credits", "0"], cwd=tmp, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    rng = random.Random(1)
    now = int(time.time() * 1000)
    con = sqlite3.connect(data / "vidgen.db")
    uid = con.execute("SELECT id FROM users WHERE name = 'bench'").fetchone()[0]
    pids = [make_id(now - 10 * TOTAL - PROJECTS + i) for i in range(PROJECTS)]
    con.executemany("INSERT INTO projects (id, user_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    [(p, uid, f"project {i}", now, now) for i, p in enumerate(pids)])
    owners = [pids[0]] * BIG + [pids[1 + i % (PROJECTS - 1)] for i in range(TOTAL - BIG)]
    rng.shuffle(owners)
    start = now - 10 * TOTAL
    rows = [(make_id(start + i), owners[i], uid, f"clip {i}",
             rng.choices(["completed", "failed", "cancelled"], [85, 10, 5])[0], start + i) for i in range(TOTAL)]
    con.executemany(
        "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, "
        "resolution, duration, aspect_ratio, credit_used, status, phase, progress, next_run_at, "
        "created_at, updated_at, completed_at) VALUES (?1, ?2, ?3, 'local', 'local-preview', "
        "'Local Preview Renderer', ?4, '720p', 2, '16:9', 10, ?5, 'done', 100, ?6, ?6, ?6, ?6)", rows)
    con.commit()
    con.close()
    return data, uid, token, pids[0]


# The walks: (label, project?, status, page size)
def walks(big):
    return [("project, limit 100", big, None, 100), ("project, limit 20", big, None, 20),
            ("project + status=failed, limit 100", big, "failed", 100),
            ("user, no filter, limit 100", None, None, 100)]


def sql_walk(con, sql, uid, pid, status, limit):
    """Every page from the newest to the end: (ids, each page's seconds)."""
    ids, pages, cursor = [], [], None
    while True:
        t = time.perf_counter()
        rows = con.execute(sql, (uid, pid, status, cursor, limit)).fetchall()
        pages.append(time.perf_counter() - t)
        ids += [r[0] for r in rows]
        if len(rows) < limit:
            return ids, pages
        cursor = rows[-1][0]


HEADER = (f"{'walk':36} {'pages':>5} {'rows':>6} {'old ms':>8} {'new ms':>7} {'old/new':>7}   "
          f"{'deep page ms: old':>17} {'new':>6}")


def row(label, rows, limit, old, new):
    """old, new: [(seconds of the walk, [seconds of each page])] for each round. A deep page:
    the median over rounds of the median of the walk's last 5 full pages."""
    o, n = statistics.median(t for t, _ in old), statistics.median(t for t, _ in new)
    deep_o = statistics.median(statistics.median(p[-6:-1] or p) for _, p in old)
    deep_n = statistics.median(statistics.median(p[-6:-1] or p) for _, p in new)
    return (f"{label:36} {rows // limit + 1:5} {rows:6} {o * 1e3:8.1f} {n * 1e3:7.1f} {o / n:6.1f}x   "
            f"{deep_o * 1e3:17.2f} {deep_n * 1e3:6.2f}")


def bench_sql(db, uid, big):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    print(f"SQLite {sqlite3.sqlite_version} (Python's sqlite3), {TOTAL} generations, project of {BIG}, "
          f"median of {ROUNDS}\n")
    for name, sql in [("old", OLD_SQL), ("new, user", NEW_USER_SQL), ("new, project", NEW_PROJECT_SQL)]:
        plan = con.execute("EXPLAIN QUERY PLAN " + sql, (uid, big if "project" in name else None, None, None, 1))
        print(f"plan {name:13} {' / '.join(r[3] for r in plan)}")
    print("\n" + HEADER)
    for label, pid, status, limit in walks(big):
        new_sql = NEW_PROJECT_SQL if pid else NEW_USER_SQL
        runs = {OLD_SQL: [], new_sql: []}
        for r in range(ROUNDS):  # alternate which form goes first
            for sql in ([OLD_SQL, new_sql] if r % 2 == 0 else [new_sql, OLD_SQL]):
                t = time.perf_counter()
                ids, pages = sql_walk(con, sql, uid, pid, status, limit)
                runs[sql].append((time.perf_counter() - t, pages, ids))
        ids = runs[new_sql][0][2]
        assert all(x[2] == ids for x in runs[OLD_SQL] + runs[new_sql]) and len(set(ids)) == len(ids), label
        print(row(label, len(ids), limit, [x[:2] for x in runs[OLD_SQL]], [x[:2] for x in runs[new_sql]]))
    con.close()


def old_binary(tmp):
    if OLD_BIN:
        return OLD_BIN
    if OLD_REV == "none":
        return None
    src = tmp / "old-src"
    src.mkdir()
    print(f"\nbuilding the binary of {OLD_REV} (git archive + make) ...", flush=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD_REV], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    subprocess.run(["make", "-C", str(src), "-j2", "build/vidgen"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return str(src / "build" / "vidgen")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(binary, tmp, data):
    port = free_port()
    env = dict(os.environ, VIDGEN_ADDR=f"127.0.0.1:{port}", VIDGEN_DATA_DIR=str(data), VIDGEN_ACCESS_LOG="off",
               VIDGEN_LOG_LEVEL="warn")
    srv = subprocess.Popen([binary, "serve", "--no-worker"], cwd=tmp, env=env, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return srv, port
        except OSError:
            time.sleep(0.05)
    srv.kill()
    raise RuntimeError(f"{binary} did not start")


def http_walk(port, token, pid, status, limit):
    """Every page from the newest to the end, one keep-alive connection: (ids, each page's
    seconds, request to parsed reply)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    ids, pages, cursor = [], [], None
    while True:
        q = f"projectId={pid}&limit={limit}" + (f"&status={status}" if status else "") + \
            (f"&before={cursor}" if cursor else "")
        t = time.perf_counter()
        conn.request("GET", f"{PREFIX}/generations?{q}", headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = json.loads(r.read())
        pages.append(time.perf_counter() - t)
        assert r.status == 200, body
        ids += [g["id"] for g in body["generations"]]
        cursor = body["nextCursor"]
        if cursor is None:
            conn.close()
            return ids, pages


def bench_http(tmp, data, token, big):
    old = old_binary(tmp)
    if old is None:
        return
    bins = {"old": old, "new": BIN}
    project_walks = [w for w in walks(big) if w[1]]
    runs = {(w[0], b): [] for w in project_walks for b in bins}
    results = {}
    for r in range(ROUNDS):
        for which in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
            srv, port = serve(bins[which], tmp, data)
            try:
                for label, pid, status, limit in project_walks:
                    t = time.perf_counter()
                    ids, pages = http_walk(port, token, pid, status, limit)
                    runs[(label, which)].append((time.perf_counter() - t, pages))
                    assert results.setdefault(label, ids) == ids, (label, which)
            finally:
                srv.terminate()
                srv.wait(30)
    print(f"\nHTTP GET /generations?projectId= page by page, median of {ROUNDS}\n  old: {old}\n  new: {BIN}\n")
    print(HEADER)
    for label, _, _, limit in project_walks:
        print(row(label, len(results[label]), limit, runs[(label, "old")], runs[(label, "new")]))


def main():
    with tempfile.TemporaryDirectory(prefix="vidgen-list-") as t:
        tmp = pathlib.Path(t)
        data, uid, token, big = build_database(tmp)
        bench_sql(data / "vidgen.db", uid, big)
        bench_http(tmp, data, token, big)
    return 0


if __name__ == "__main__":
    sys.exit(main())
