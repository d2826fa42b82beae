"""A cluster on one machine (issue 13): PostgreSQL and Redis shared by two API servers
(`vidgen serve --no-worker`, A and B) and three `vidgen worker` processes, all on one data
directory (the shared mount of a multi-host install).

300 generations, local renders and ModelsLab jobs against the fake with faults turned on
(429s, 5xx, resets, garbage, jobs that fail), created through both servers; meanwhile one
worker is killed with SIGKILL and another started, and Redis is restarted. Then: every
generation ended completed, or failed and refunded exactly once; no generation was made
twice at the provider; every user's balance is the sum of their ledger; and an event
stream on A told of the jobs created through B and finished by the workers.

Runs in the PostgreSQL + Redis pass of `make test` (VIDGEN_TEST_BACKEND=postgres)."""

import collections
import itertools
import json
import pathlib
import sys
import threading
import time

import pytest

from conftest import PG, assert_ledger_invariant, assert_ok
from pipeline import generate, make_project
from redis_server import RedisServer, require_redis
from test_events import Stream
from worker_process import Worker

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import modelslab  # noqa: E402
from common import Reset, garbage  # noqa: E402

pytestmark = pytest.mark.skipif(not PG, reason="a cluster shares PostgreSQL (VIDGEN_TEST_BACKEND=postgres)")

TOTAL = 300
LOCAL = 60                # of them local renders; the rest ModelsLab jobs
FAILING = 20              # ModelsLab jobs planned to end "failed" (refunded)
USERS = 4
END_TIMEOUT = 300         # seconds for all of them to end
MODEL = "wan2.2-t2v"      # ModelsLab v6 text2video_ultra


def cluster_env(ml, redis, database_url, data_dir):
    return {"DATABASE_URL": database_url, "REDIS_URL": redis.url, "VIDGEN_DATA_DIR": str(data_dir),
            "MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
            "MODELSLAB_MAX_IN_FLIGHT": "1000", "MODELSLAB_REQUESTS_PER_MINUTE": "100000",
            "VIDGEN_RENDER_THREADS": "1", "VIDGEN_ADMIN_CREDITS": "1000000"}


def create(server, token, project, i):
    body = {"prompt": f"cluster job {i}", "resolution": "720p"}
    if i % (TOTAL // LOCAL) == 0:
        body.update(modelId="local-preview", duration=1, aspectRatio="1:1")
    else:
        body.update(modelId=MODEL, duration=5, aspectRatio="16:9")
    return assert_ok(generate(server, token, project, **body), 201)["generation"]["id"]


def ended(db, ids):
    rows = db.execute("SELECT id, status FROM generations").fetchall()
    return {i: s for i, s in rows if i in ids and s in ("completed", "failed", "cancelled")}


def test_a_cluster_loses_nothing_through_a_killed_worker_and_a_redis_restart(make_server, tmp_path):
    require_redis()
    redis = RedisServer(tmp_path / "redis").start()
    workers = []
    with modelslab.ModelsLabFake(polls=1, queue_limit=None) as ml:
        try:
            a = make_server(args=["--no-worker"], start=False)
            env = cluster_env(ml, redis, a.database_url, a.data_dir)
            a.env.update(env)
            a.start()
            b = make_server(args=["--no-worker"], extra_env=env)
            workers = [Worker(a, extra=env).start() for _ in range(3)]

            tokens = [a.add_user(f"u{n}", credits=100000) for n in range(USERS)]
            projects = [make_project(a, t) for t in tokens]
            # The first user watches on A everything made through B.
            stream = Stream(a, tokens[0], timeout=END_TIMEOUT)
            assert stream.status == 200

            # Faults at the provider, met by whichever worker sends the request.
            ml.script("submit", modelslab.rate_limited(1), modelslab.server_error(503), Reset(),
                      modelslab.server_error(500), garbage())
            ml.script("poll", garbage(), Reset(), modelslab.server_error(502), modelslab.rate_limited(1))
            for _ in range(FAILING):
                ml.plan(end="failed")

            ids, via_b, counter = [], collections.defaultdict(list), itertools.count()
            lock = threading.Lock()

            def make(n):
                i = next(counter)
                u = i % USERS
                server = b if (i // USERS) % 2 else a
                gid = create(server, tokens[u], projects[u], i)
                with lock:
                    ids.append(gid)
                    if server is b:
                        via_b[u].append(gid)

            db = a.db()
            for step in range(TOTAL):
                make(step)
                if step == TOTAL // 3:
                    workers[0].kill()                                  # SIGKILL mid-run
                    workers.append(Worker(a, extra=env).start())       # and a fresh one
                if step == 2 * TOTAL // 3:
                    redis.stop()
                    redis.start()                                      # same port, empty
            want = set(ids)
            deadline = time.monotonic() + END_TIMEOUT
            while len(done := ended(db, want)) < TOTAL:
                assert time.monotonic() < deadline, (
                    f"{TOTAL - len(done)} generations never ended: "
                    f"{collections.Counter(s for _, s in db.execute('SELECT id, status FROM generations').fetchall())}")
                time.sleep(0.5)

            # Every one completed, or failed and refunded exactly once.
            outcome = collections.Counter(done.values())
            assert set(outcome) <= {"completed", "failed"}, outcome
            assert outcome["failed"] >= FAILING, outcome
            ledger = collections.defaultdict(list)
            for gid, kind in db.execute("SELECT generation_id, kind FROM credit_ledger "
                                        "WHERE generation_id IS NOT NULL ORDER BY id").fetchall():
                ledger[gid].append(kind)
            for gid, status in done.items():
                want_kinds = ["charge"] if status == "completed" else ["charge", "refund"]
                assert ledger[gid] == want_kinds, (gid, status, ledger[gid])
            assert_ledger_invariant(a)

            # No generation made twice at the provider (each prompt is one generation's).
            made = collections.Counter(job.request.get("prompt") for job in ml.jobs.values())
            assert max(made.values()) == 1, [p for p, n in made.items() if n > 1]
            assert sum(made.values()) <= TOTAL - TOTAL // (TOTAL // LOCAL)
            assert not ml.errors, ml.errors

            # A's stream told the end of each job of user 0 created through B.
            last = {}
            for item in stream.drain(2.0) + stream.seen:
                if item[0] == "event" and item[1] == "generation":
                    d = json.loads(item[2])
                    if d["id"] in via_b[0] and d["status"] in ("completed", "failed"):
                        last[d["id"]] = d["status"]
            assert via_b[0] and set(last) == set(via_b[0]), (
                f"{len(set(via_b[0]) - set(last))} of {len(via_b[0])} jobs created through B "
                f"never reported ended on A's stream")
            assert all(last[g] == done[g] for g in last)
            db.close()
        finally:
            for w in workers:
                w.stop()
            redis.stop()
