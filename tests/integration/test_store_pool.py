"""Handlers off the HTTP loops (api/store_pool.h): on PostgreSQL a store call is a network
round trip, and one that waits (here on a table another session has locked) must hold only
its own request, never the loop that received it nor other requests' store calls.

PostgreSQL only: on SQLite the handlers run on the loops (VIDGEN_STORE_THREADS=auto)."""

import threading

import psycopg2
import pytest

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
