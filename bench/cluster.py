#!/usr/bin/python3
"""bench/cluster.py: remote-provider generations per second through the whole pipeline with
1, 2 and 4 `vidgen worker` processes sharing PostgreSQL and Redis.

    /usr/bin/python3 bench/cluster.py          (from the repository root; `make bench` runs it)

A private PostgreSQL 15 and redis-server (tests/integration/backends.py), the fast fake
ModelsLab of bench/remote_fake.c answering every submit with success at once (ModelsLab's
instant plan) and serving a tiny MP4, and one `vidgen serve --no-worker` for the API. For
each worker count: a fresh database, BENCH_GENERATIONS generations made with POST /generate
(before any worker runs, so the API's share is not in the figure), then that many workers
started at once; the clock runs from their start until the last generation is completed in
the database. Each generation is claimed, submitted, downloaded, probed, thumbnailed and
completed, with its charge, lease and events (through Redis) as in production.

The reference is the 1-worker run of the same pipeline in the same run: the table shows
each count's rate and its ratio to 1 worker (ideal: the count itself, until the 2 cores of
this machine, shared by PostgreSQL, Redis, the fake and this script, are full).

Environment: BENCH_GENERATIONS (1500), BENCH_WORKERS ("1 2 4"), BENCH_TIMEOUT (300 s per
run), VIDGEN_BIN.
"""

import concurrent.futures
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
import backends  # noqa: E402  (the tests' private PostgreSQL and Redis)
import psycopg2  # noqa: E402
import remote  # noqa: E402  (the fast fake, and how to build and start it)

BIN = os.environ.get("VIDGEN_BIN", str(ROOT / "build" / "vidgen"))
GENERATIONS = int(os.environ.get("BENCH_GENERATIONS", "1500"))
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1 2 4").split()]
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
PREFIX = "/api/apps/video-generator"


def env_for(data, db_url, redis_url, fake, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGEN_") and k not in ("DATABASE_URL",
                                                                                          "REDIS_URL")}
    env.update(VIDGEN_DATA_DIR=str(data), DATABASE_URL=db_url, REDIS_URL=redis_url, VIDGEN_ACCESS_LOG="off",
               VIDGEN_ADDR=f"127.0.0.1:{port}", VIDGEN_ADMIN_CREDITS="1000000000", VIDGEN_LOG_LEVEL="warn",
               MODELSLAB_API_KEY=remote.KEY, MODELSLAB_BASE_URL=fake.base_url,
               # the bench measures the pipeline, not the per-provider limits: open them wide
               MODELSLAB_MAX_IN_FLIGHT="100000", MODELSLAB_REQUESTS_PER_MINUTE="600000")
    return env


def call(port, token, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{PREFIX}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def make_generations(port, token):
    project = call(port, token, "POST", "/projects", {"name": "bench"})["project"]["id"]
    body = {"projectId": project, "modelId": "veo3", "prompt": "bench cluster", "duration": 8,
            "resolution": "720p", "aspectRatio": "16:9"}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: call(port, token, "POST", "/generate", body), range(GENERATIONS)))


def completed(db):
    with db.cursor() as cur:
        cur.execute("SELECT status, count(*) FROM generations GROUP BY status")
        return dict(cur.fetchall())


def run(tmp, pg, redis_url, fake, workers):
    data = tmp / f"data{workers}"
    data.mkdir()
    db_url = pg.create_database()
    port = backends.free_port()
    env = env_for(data, db_url, redis_url, fake, port)
    serve = remote.start_serve(str(tmp), env, ["--no-worker"])
    procs = []
    db = psycopg2.connect(db_url)
    db.autocommit = True
    try:
        token = (data / "admin-token").read_text().strip()
        make_generations(port, token)
        start = time.monotonic()
        with open(tmp / "workers.log", "a") as log:
            procs = [subprocess.Popen([BIN, "worker"], env=env, cwd=str(tmp), stdout=subprocess.DEVNULL, stderr=log)
                     for _ in range(workers)]
        while (done := completed(db)).get("completed", 0) < GENERATIONS:
            if time.monotonic() - start > TIMEOUT or done.get("failed"):
                raise remote.Failed(f"{workers} workers: {done} after {time.monotonic() - start:.0f} s; "
                                    f"see {tmp}/workers.log")
            if any(p.poll() is not None for p in procs):
                raise remote.Failed(f"a worker exited; see {tmp}/workers.log")
            time.sleep(0.05)
        return GENERATIONS / (time.monotonic() - start)
    finally:
        for p in procs:
            remote.stop(p)
        remote.stop(serve)
        db.close()


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="vidgen-bench-cluster-"))
    pg = redis = fake = None
    try:
        exe = remote.build(tmp)["remote_fake"]
        pg = backends.Postgres().start()
        redis = backends.Redis().start()
        fake = remote.Fake(exe, 0, 0.0, instant=True)
        print(f"remote generations through the pipeline: {GENERATIONS} per run, ModelsLab instant fake, "
              f"PostgreSQL + Redis, nproc {os.cpu_count()}")
        print(f"{'workers':>8}{'per second':>12}{'x 1 worker':>12}")
        base = None
        for n in WORKERS:
            rate = run(tmp, pg, redis.url, fake, n)
            base = base or rate
            print(f"{n:>8}{rate:>12.1f}{rate / base:>12.2f}", flush=True)
    except remote.Failed as e:
        for log in ("vidgen.log", "workers.log"):
            if (tmp / log).exists():
                print(f"--- {log}\n{(tmp / log).read_text()[-2000:]}", file=sys.stderr)
        sys.exit(f"bench/cluster.py: {e}")
    finally:
        for s in (fake, redis, pg):
            if s is not None:
                s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
