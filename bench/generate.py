#!/usr/bin/env python3
"""bench/generate.py: POST /generate per second on SQLite and on PostgreSQL, each against the
raw transaction loop in the same database (the physical reference).

    python3 bench/generate.py          (from the repository root; `make bench` runs it too)

For each database a fresh one is made (a SQLite file; a database in a private PostgreSQL 15
started on a loopback port as the integration tests start it: tests/integration/backends.py),
BENCH_USERS users with credits and a project each, then:
  1. vidgen serve --no-worker on it (the generations stay queued: no render competes for the
     cores), and wrk (2 threads, BENCH_CONNECTIONS connections) POSTs /generate for
     BENCH_SECONDS, each request for the next user: the charge, the generation row, the
     ledger row and the wake-up, through HTTP, the token check, JSON and the price;
  2. bench/generate_raw.c on the same database: threads with their own connections loop over
     the same transaction with prepared statements and nothing around it. It runs with 1, 2
     and 8 threads and the best rate is the reference.
On PostgreSQL vidgen runs twice: its handlers on a pool of store threads (VIDGEN_STORE_THREADS=
auto, the default there: 8) and on the HTTP loops themselves (VIDGEN_STORE_THREADS=0, each
store call a round trip that holds its loop). The target (issue 13) is at least 0.5x the raw
rate on each database.

Environment: BENCH_SECONDS (10), BENCH_USERS (64), BENCH_CONNECTIONS (32), BENCH_STORE_THREADS
(auto: VIDGEN_STORE_THREADS of the store-pool run), VIDGEN_BIN.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
import backends  # noqa: E402  (the tests' private PostgreSQL)
from remote import stop  # noqa: E402  (SIGTERM, then SIGKILL after 30 s)

BIN = os.environ.get("VIDGEN_BIN", str(ROOT / "build" / "vidgen"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
USERS = int(os.environ.get("BENCH_USERS", "64"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
PREFIX = "/api/apps/video-generator"
RAW_THREADS = (1, 2, 8)
POOL = os.environ.get("BENCH_STORE_THREADS", "auto")  # VIDGEN_STORE_THREADS of the pool run


def build_raw(tmp):
    exe = tmp / "generate_raw"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "sqlite3", "libpq"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                    str(ROOT / "bench" / "generate_raw.c"), *flags, "-lpthread"], check=True)
    return exe


def env_for(data_dir, db_url, port, store_threads="auto"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGEN_") and k != "DATABASE_URL"}
    env.update(VIDGEN_DATA_DIR=str(data_dir), DATABASE_URL=db_url, VIDGEN_ADDR=f"127.0.0.1:{port}",
               VIDGEN_ACCESS_LOG="off", VIDGEN_STORE_THREADS=store_threads, VIDGEN_LOG_LEVEL="warn")
    return env


def call(port, token, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{PREFIX}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start_serve(env, port, log):
    p = subprocess.Popen([BIN, "serve", "--no-worker"], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(log, "ab"), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return p
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.1)
    p.kill()
    sys.exit(f"vidgen serve did not start:\n{pathlib.Path(log).read_text()[-2000:]}")


def prepare(tmp, db_url):
    """Users with credits and a project each: writes the wrk file ("token project") and the
    raw loop's ("user_id project_id"); returns their paths."""
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    port = backends.free_port()
    env = env_for(data, db_url, port)
    tokens = []
    for i in range(USERS):
        r = subprocess.run([BIN, "user", "add", f"bench{i}", "--credits", "1000000000"], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"user add failed: {r.stderr}")
        tokens.append(r.stdout.strip())
    p = start_serve(env, port, tmp / "prepare.log")
    wrk_lines, raw_lines = [], []
    try:
        for t in tokens:
            project = call(port, t, "POST", "/projects", {"name": "bench"})["project"]["id"]
            user_id = call(port, t, "GET", "/auth/session")["user"]["id"]
            wrk_lines.append(f"{t} {project}\n")
            raw_lines.append(f"{user_id} {project}\n")
    finally:
        stop(p)
    users, pairs = tmp / "wrk_users.txt", tmp / "raw_pairs.txt"
    users.write_text("".join(wrk_lines))
    pairs.write_text("".join(raw_lines))
    return users, pairs


def wrk(port, users):
    env = dict(os.environ, BENCH_USERS=str(users), BENCH_PATH=f"{PREFIX}/generate")
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s",
                          str(ROOT / "bench" / "generate.lua"), f"http://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BENCH (.*)", out)
    if m is None:
        sys.exit(f"wrk printed no result:\n{out}")
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def vidgen_rate(tmp, db_url, users, store_threads):
    port = backends.free_port()
    p = start_serve(env_for(tmp / "data", db_url, port, store_threads), port, tmp / "serve.log")
    try:
        r = wrk(port, users)
    finally:
        stop(p)
    if r["non2xx"] or r["timeout"] or r["read"]:
        sys.exit(f"POST /generate failed during the run: {r}\n{(tmp / 'serve.log').read_text()[-2000:]}")
    return r


def raw_rate(exe, db_url, pairs):
    best = None
    for threads in RAW_THREADS:
        out = subprocess.run([str(exe), db_url, str(threads), str(SECONDS), str(pairs)], capture_output=True,
                             text=True)
        if out.returncode != 0:
            sys.exit(f"generate_raw failed ({threads} threads):\n{out.stdout}{out.stderr}")
        rate = float(re.search(r"rate=([\d.]+)", out.stdout).group(1))
        if best is None or rate > best[0]:
            best = (rate, threads)
    return best


def row(name, rate, ref, extra=""):
    print(f"{name:<44}{rate:>10.1f}{rate / ref:>10.2f}  {extra}")


def main():
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: make bench-deps")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="vidgen-bench-generate-"))
    pg = None
    try:
        exe = build_raw(tmp)
        print(f"POST /generate: {USERS} users, wrk 2 threads x {CONNECTIONS} connections, {SECONDS} s per run, "
              f"nproc {os.cpu_count()}")
        print(f"{'':<44}{'per second':>10}{'x raw':>10}")
        sq = tmp / "sqlite"
        sq.mkdir()
        url = f"sqlite:{sq}/data/vidgen.db"
        users, pairs = prepare(sq, url)
        v = vidgen_rate(sq, url, users, "auto")
        raw, threads = raw_rate(exe, url, pairs)
        row("SQLite: vidgen (handlers on the loops)", v["rps"], raw, f"p99 {v['p99_us'] / 1000:.1f} ms")
        row(f"SQLite: raw transaction loop ({threads} thr)", raw, raw)
        sqlite_ratio = v["rps"] / raw

        pg = backends.Postgres().start()
        pgd = tmp / "postgres"
        pgd.mkdir()
        url = pg.create_database()
        users, pairs = prepare(pgd, url)
        pool = vidgen_rate(pgd, url, users, POOL)
        loop = vidgen_rate(pgd, url, users, "0")
        raw, threads = raw_rate(exe, url, pairs)
        row(f"PostgreSQL: vidgen, store pool ({8 if POOL == 'auto' else POOL} threads)", pool["rps"], raw,
            f"p99 {pool['p99_us'] / 1000:.1f} ms")
        row("PostgreSQL: vidgen, calls on the loops", loop["rps"], raw, f"p99 {loop['p99_us'] / 1000:.1f} ms")
        row(f"PostgreSQL: raw transaction loop ({threads} thr)", raw, raw)
        pg_ratio = pool["rps"] / raw
        for name, ratio in (("SQLite", sqlite_ratio), ("PostgreSQL", pg_ratio)):
            print(f"{name}: vidgen / raw = {ratio:.2f} (target >= 0.5): {'PASS' if ratio >= 0.5 else 'MISS'}")
        print(f"PostgreSQL: store pool / on the loops = {pool['rps'] / loop['rps']:.2f}")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
