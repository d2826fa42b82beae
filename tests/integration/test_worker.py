"""The worker's own faults and stops: what a restart or a failing store does to a job.

An attempt is spent only when a run fails or an expired lease is taken over, never when a
worker hands a job back at a graceful stop; and once a job's work is done, a store that
cannot take the final write gets it again later instead of the job being run again."""

import signal
import sqlite3
import threading
import time

from conftest import assert_ok, sqlite_only
from pipeline import generate, make_project, status, wait_for

LONG = {"resolution": "720p", "duration": 20}  # a render of a few seconds on 2 cores


def claims(server, gen_id):
    """How many times a worker of this server took the generation up (its log)."""
    return server.stderr_path.read_text(errors="replace").count(f"generation {gen_id} (")


def wait_rendering(server, token, gen_id, at_least=1, timeout=60):
    """Waits until the render is under way and has reached `at_least` percent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = status(server, token, gen_id)
        if st["status"] == "processing" and st["progress"] >= at_least:
            assert st["progress"] < 90, "the render got too far to be interrupted mid-way"
            return st
        assert st["status"] in ("pending", "processing"), st
        time.sleep(0.05)
    raise AssertionError(f"generation {gen_id} did not start rendering")


def attempts(server, gen_id):
    con = server.db()
    try:
        return con.execute("SELECT attempts FROM generations WHERE id = ?", (gen_id,)).fetchone()[0]
    finally:
        con.close()


def test_five_graceful_restarts_during_one_long_render_still_complete_it(make_server):
    s = make_server()
    tok = s.admin_token
    gen = assert_ok(generate(s, tok, make_project(s, tok), **LONG), 201)["generation"]["id"]
    for _ in range(5):
        wait_rendering(s, tok, gen)
        assert s.stop(signal.SIGTERM) == 0
        s.start()
    done = wait_for(s, tok, gen, timeout=120)
    assert done["status"] == "completed", done
    assert claims(s, gen) == 6, "each restart takes the job up again"
    assert attempts(s, gen) == 0, "a hand-back at a graceful stop spends no attempt"
    s.check_ledger()


@sqlite_only  # an exclusive lock on the database file
def test_a_store_write_failure_at_completion_does_not_render_again(make_server):
    """The database is locked by another writer (longer than the store's 5 s busy wait)
    while the render finishes: the completion write fails, is written again once the lock
    is gone, and the video is not rendered a second time."""
    s = make_server()
    tok = s.admin_token
    gen = assert_ok(generate(s, tok, make_project(s, tok), **LONG), 201)["generation"]["id"]
    wait_rendering(s, tok, gen, at_least=60)
    lock = sqlite3.connect(str(s.db_path), timeout=10, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN EXCLUSIVE")
    released = threading.Timer(12.0, lambda: lock.execute("ROLLBACK"))
    released.start()
    try:
        done = wait_for(s, tok, gen, timeout=120)
    finally:
        released.join()
        lock.close()
    assert done["status"] == "completed", done
    assert claims(s, gen) == 1, "the job was run again"
    assert "database is busy" in s.stderr_path.read_text(errors="replace") or "locked" in \
        s.stderr_path.read_text(errors="replace"), "the lock did not reach the worker's writes"
    s.check_ledger()
