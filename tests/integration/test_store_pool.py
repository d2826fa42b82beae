"""A server on PostgreSQL, where every store call is a network round trip.

Handlers run off the HTTP loops (api/store_pool.h): a call that waits (here on a table
another session has locked) holds only its own request, never the loop that received it
nor other requests' store calls. And PostgreSQL being down, at the start or for a while
mid-run, is waited out, never a crash.

PostgreSQL only: on SQLite the handlers run on the loops (VIDGEN_STORE_THREADS=auto)."""

import threading
import time

import psycopg2
import pytest

import backends
from conftest import PG, assert_ok

pytestmark = pytest.mark.skipif(not PG, reason="store calls go off the loops with PostgreSQL")


def wait_for_lock_waiter(url, deadline_s=30):
    """Blocks until some session waits on a lock (pg_stat_activity, read outside any
    transaction: inside one, PostgreSQL shows the same snapshot of it every time)."""
    watch = psycopg2.connect(url)
    watch.autocommit = True
    try:
        cur = watch.cursor()
        for _ in range(int(deadline_s / 0.05)):
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cur.fetchone()[0] > 0:
                return
            threading.Event().wait(0.05)
    finally:
        watch.close()
    raise AssertionError("no request of the server ever waited on the lock")


def test_a_request_waiting_on_the_database_holds_neither_its_loop_nor_other_requests(make_server):
    # One HTTP loop: were the waiting call made on it, nothing else could be answered.
    server = make_server(extra_env={"VIDGEN_THREADS": "1"})
    token = server.add_user("waiter", credits=70)
    project = assert_ok(server.api("POST", "/projects", body={"name": "kept"}, token=token), 201)["project"]

    locker = psycopg2.connect(server.database_url)
    waiting = {}
    try:
        locker.cursor().execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
        t = threading.Thread(target=lambda: waiting.update(r=server.api("GET", "/projects", token=token,
                                                                        timeout=60)))
        t.start()
        wait_for_lock_waiter(server.database_url)

        # The loop answers, and other store calls go on, while GET /projects waits.
        assert server.request("GET", "/healthz").status == 200
        credits = assert_ok(server.api("GET", "/credits", token=token))
        assert credits["balance"] == 70
        assert t.is_alive() and "r" not in waiting, "GET /projects did not wait on the lock"
    finally:
        locker.rollback()
        locker.close()
    t.join(60)
    listed = assert_ok(waiting["r"])
    assert [p["id"] for p in listed["projects"]] == [project["id"]]


def test_a_server_waits_for_postgresql_and_rides_out_its_restart(make_server, tmp_path):
    """Started while PostgreSQL is down, a server says so and keeps trying; once it answers,
    the server serves. PostgreSQL stopping mid-run fails requests with 503 (never a crash),
    and the server recovers by itself when it is back."""
    pg = backends.Postgres(max_connections=50).start()
    try:
        url = pg.create_database()
        pg.pause()
        server = make_server(extra_env={"DATABASE_URL": url}, start=False)
        server.start(wait=False)
        wait_for_log(server, "trying again until it answers")
        assert server.alive(), "the server gave up on a database that is only down"

        pg.resume()
        server.wait_ready(timeout=60)
        assert "connected to the database" in server.stderr_text()
        token = server.add_user("patient", credits=30)
        assert assert_ok(server.api("GET", "/credits", token=token))["balance"] == 30

        pg.pause()
        down = server.api("GET", "/credits", token=token)
        assert down.status == 503, down
        assert server.request("GET", "/healthz").status == 200  # alive, not ready
        pg.resume()
        deadline = time.monotonic() + 60
        while (r := server.api("GET", "/credits", token=token)).status != 200:
            assert time.monotonic() < deadline, f"never recovered: {r}"
            time.sleep(0.2)
        assert r.json["balance"] == 30
        server.stop()
    finally:
        pg.stop()


def wait_for_log(server, text, timeout=30):
    deadline = time.monotonic() + timeout
    while text not in server.stderr_text():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{server.stderr_text()[-2000:]}"
        time.sleep(0.1)
