"""Several processes sharing one database through Redis (REDIS_URL): `vidgen serve
--no-worker` takes the requests, a separate `vidgen worker` does the work, a private
redis-server carries the wake-ups (a stream read by a consumer group) and the live events
(pub/sub).  What a user notices: an event stream on the server shows progress made by the
worker; jobs still complete while Redis is down; /readyz says whether Redis answers.

Every Redis here is a private redis-server on a free loopback port (redis_server.py)."""

import json
import subprocess
import time

import pytest

from conftest import PREFIX, assert_ok, tail
from redis_server import REDIS_CLI, RedisServer, redis, require_redis  # noqa: F401  (redis: a fixture)
from test_events import Stream, generation_events
from worker_process import Worker

GENERATION_TIMEOUT = 90   # seconds for a local-preview generation to complete
NOTICE_TIMEOUT = 20       # seconds for a process to notice Redis went away or came back
CLAIM_TIMEOUT = 30        # seconds for a wake-up left by a dead reader to be taken over
STREAM = "vidgen:queue"
GROUP = "workers"


@pytest.fixture(autouse=True)
def _redis_installed():
    require_redis()


@pytest.fixture
def workers():
    made = []
    yield made
    for w in made:
        w.kill()


@pytest.fixture
def streams():
    opened = []
    yield opened
    for s in opened:
        s.close()


def start_worker(server, redis_url, made):
    w = Worker(server, redis_url)
    made.append(w)
    return w.start()


def new_generation(server, token, prompt="a red fox"):
    project = assert_ok(server.api("POST", "/projects", body={"name": "p"}, token=token), 201)["project"]
    body = {"projectId": project["id"], "modelId": "local-preview", "prompt": prompt,
            "resolution": "720p", "duration": 1}
    return assert_ok(server.api("POST", "/generate", token=token, body=body), 201)["generation"]["id"]


def status(server, token, gen_id):
    return assert_ok(server.api("GET", f"/generations/{gen_id}/status", token=token))["status"]


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


def wait_completed(server, token, gen_id):
    return wait_until(lambda: status(server, token, gen_id)["status"] in ("completed", "failed"),
                      GENERATION_TIMEOUT, f"generation {gen_id} ending") and status(server, token, gen_id)


def readyz(server):
    r = server.request("GET", "/readyz")
    return r.status, json.loads(r.body)


def completed_event(gen_id):
    def pred(item):
        return (item[0] == "event" and item[1] == "generation"
                and json.loads(item[2]).get("id") == gen_id
                and json.loads(item[2]).get("status") in ("completed", "failed"))
    return pred


def reading_events(redis):
    """Whether some process reads the events stream now (its listener's XREAD waits)."""
    return any(c.get("cmd") == "xread" for c in redis.client().client_list())


def group_info(redis):
    """XINFO GROUPS of the queue's stream: the workers' group's fields ({} when none)."""
    try:
        groups = redis.client().xinfo_groups(STREAM)
    except Exception:  # no stream yet
        return {}
    return next((g for g in groups if g["name"] == GROUP), {})


def pending_count(redis):
    return redis.client().xpending(STREAM, GROUP)["pending"]


def stream_ids(redis):
    """The generation ids in the queue's stream, with their entry ids."""
    return {fields["g"]: entry for entry, fields in redis.client().xrange(STREAM)}


# -- live events across processes ---------------------------------------------------------

def run_one_generation_elsewhere(make_server, workers, streams, redis_url):
    """serve --no-worker (A) + vidgen worker on A's database; a stream on A; one generation
    created on A. Returns the events of that generation the stream saw, and its end."""
    extra = {"REDIS_URL": redis_url} if redis_url else {}
    a = make_server(extra_env=extra, args=["--no-worker"], drop_env=() if redis_url else ("REDIS_URL",))
    token = a.add_user("carol", credits=1000)
    start_worker(a, redis_url, workers)
    s = Stream(a, token)
    streams.append(s)
    s.ready()
    gen_id = new_generation(a, token)
    end = wait_completed(a, token, gen_id)
    if redis_url:
        s.wait_for(completed_event(gen_id), GENERATION_TIMEOUT)
    s.drain(1.0)  # anything still on its way
    return generation_events(s.seen, gen_id), end


def test_a_stream_on_the_server_sees_the_workers_progress_through_redis(make_server, workers, streams, redis):
    evs, end = run_one_generation_elsewhere(make_server, workers, streams, redis.url)
    assert end["status"] == "completed", end
    assert evs, "no generation event reached the stream"
    assert evs[-1]["status"] == "completed" and evs[-1]["progress"] == 100, evs[-1]
    assert evs[-1]["videoUrl"] == f"{PREFIX}/generations/{evs[-1]['id']}/video", evs[-1]
    progress = [d["progress"] for d in evs]
    assert progress == sorted(progress), progress
    assert any(d["status"] == "processing" for d in evs), f"no progress before completion: {evs}"
    assert workers[0].stop() == 0, tail(workers[0].stderr_path)


def test_without_redis_the_same_stream_stays_silent(make_server, workers, streams):
    """What REDIS_URL fixes: the worker completes the job, yet no event reaches the server."""
    evs, end = run_one_generation_elsewhere(make_server, workers, streams, None)
    assert end["status"] == "completed", end
    assert evs == [], evs


# -- wake-ups through the stream ----------------------------------------------------------

def test_a_generation_created_on_the_server_wakes_the_worker_through_redis(make_server, workers, redis):
    a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
    token = a.add_user("dave", credits=1000)
    w = start_worker(a, redis.url, workers)
    # the worker's reader has joined the group before anything is pushed
    wait_until(lambda: group_info(redis).get("consumers", 0) >= 1, NOTICE_TIMEOUT, "the worker joining the group")
    gen_id = new_generation(a, token)
    entry_id = wait_until(lambda: stream_ids(redis).get(gen_id), NOTICE_TIMEOUT, "the wake-up in the stream")
    # the entry was handed to the group's only reader, the worker's (named host:pid:…), and
    # acknowledged once the worker was woken
    wait_until(lambda: group_info(redis).get("last-delivered-id") == entry_id and pending_count(redis) == 0,
               NOTICE_TIMEOUT, "the wake-up delivered and acknowledged")
    readers = redis.client().xinfo_consumers(STREAM, GROUP)
    assert [c["name"].split(":")[1] for c in readers] == [str(w.proc.pid)], readers
    assert wait_completed(a, token, gen_id)["status"] == "completed"
    assert f"generation {gen_id}" in w.log()
    assert w.stop() == 0


def test_a_wake_up_left_by_a_dead_reader_reaches_another_worker(make_server, workers, redis):
    a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
    token = a.add_user("erin", credits=1000)
    wait_until(lambda: readyz(a)[0] == 200, NOTICE_TIMEOUT, "the server's queue connected")
    gen_id = new_generation(a, token)
    wait_until(lambda: gen_id in stream_ids(redis), NOTICE_TIMEOUT, "the wake-up in the stream")
    # a reader that takes the wake-up and dies before acknowledging it
    got = redis.client().xreadgroup(GROUP, "ghost", {STREAM: ">"}, count=10)
    assert [f["g"] for _, entries in got for _, f in entries] == [gen_id], got
    assert pending_count(redis) == 1
    w = start_worker(a, redis.url, workers)
    wait_until(lambda: pending_count(redis) == 0, CLAIM_TIMEOUT, "the abandoned wake-up taken over")
    assert "taken over" in w.log(), w.log()
    assert wait_completed(a, token, gen_id)["status"] == "completed"
    assert w.stop() == 0


# -- a graceful stop ----------------------------------------------------------------------

def test_sigterm_stops_the_worker_and_hands_its_job_to_another(make_server, workers, streams, redis):
    """vidgen worker on SIGTERM mid-render: stops claiming, hands the lease back (no attempt
    spent) and exits 0; a second worker takes the job up and the stream on the server sees
    it complete."""
    a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
    token = a.add_user("hank", credits=1000)
    first = start_worker(a, redis.url, workers)
    s = Stream(a, token)
    streams.append(s)
    s.ready()
    project = assert_ok(a.api("POST", "/projects", body={"name": "p"}, token=token), 201)["project"]
    gen_id = assert_ok(a.api("POST", "/generate", token=token, body={
        "projectId": project["id"], "modelId": "local-preview", "prompt": "a long fox",
        "resolution": "720p", "duration": 20}), 201)["generation"]["id"]
    wait_until(lambda: status(a, token, gen_id)["status"] == "processing" and status(a, token, gen_id)["progress"] > 0,
               GENERATION_TIMEOUT, "the render under way")
    assert first.stop() == 0, first.log()[-2000:]
    assert status(a, token, gen_id)["status"] != "completed", "the render ended before the stop"
    con = a.db()
    try:
        owner, attempts = con.execute("SELECT lease_owner, attempts FROM generations WHERE id = ?",
                                      (gen_id,)).fetchone()
    finally:
        con.close()
    assert not owner, f"the stopped worker still holds the lease ({owner})"
    assert attempts == 0, "a hand-back at a graceful stop spends no attempt"
    second = start_worker(a, redis.url, workers)
    evs = generation_events(s.wait_for(completed_event(gen_id), GENERATION_TIMEOUT * 2), gen_id)
    assert evs[-1]["status"] == "completed", evs
    assert f"generation {gen_id}" in second.log()
    assert second.stop() == 0


def test_an_event_published_while_a_server_cannot_read_reaches_its_streams_afterwards(make_server, workers,
                                                                                       streams, redis):
    """The events are a stream each server reads from where it last was: one that comes
    while a server is cut off from Redis is read when it is back (pub/sub would drop it)."""
    a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
    token = a.add_user("hana", credits=1000)
    s = Stream(a, token)
    streams.append(s)
    s.ready()
    wait_until(lambda: reading_events(redis), NOTICE_TIMEOUT, "the server reading the events")
    w = start_worker(a, redis.url, workers)
    wait_until(lambda: "events: connected" in w.log(), NOTICE_TIMEOUT, "the worker's publisher connected")

    # Cut the server's reader off: its connection dropped, and a password, which the
    # connections already open (the worker's, this client's) need not give, keeps it out.
    admin = redis.client()
    admin.config_set("requirepass", "locked-out")
    try:
        for c in admin.client_list():
            if c.get("cmd") == "xread":
                admin.client_kill_filter(_id=c["id"])
        gen_id = new_generation(a, token, "finished while the server cannot read")
        assert wait_completed(a, token, gen_id)["status"] == "completed"
        assert not [i for i in s.drain(1.0) if completed_event(gen_id)(i)], "read while locked out?"
    finally:
        admin.config_set("requirepass", "")
    evs = generation_events(s.wait_for(completed_event(gen_id), GENERATION_TIMEOUT), gen_id)
    assert evs[-1]["status"] == "completed", evs


# -- Redis down and back ------------------------------------------------------------------

def test_redis_stopped_mid_run_then_started_again(make_server, workers, streams, redis):
    a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
    token = a.add_user("frank", credits=1000)
    w = start_worker(a, redis.url, workers)
    wait_until(lambda: readyz(a) == (200, {"ready": True, "database": "ok", "redis": "ok"}), NOTICE_TIMEOUT,
               "ready with Redis")

    redis.stop()
    code, body = wait_until(lambda: readyz(a)[0] == 503 and readyz(a), NOTICE_TIMEOUT, "/readyz noticing")
    assert body == {"ready": False, "database": "ok", "redis": "unavailable"}, body
    assert a.request("GET", "/healthz").status == 200  # alive all the same
    # the job is still done: the worker finds it by sweeping the database
    gen_id = new_generation(a, token, "made while Redis is down")
    assert wait_completed(a, token, gen_id)["status"] == "completed"
    assert w.proc.poll() is None and a.alive()

    redis.start()  # empty, on the same port
    wait_until(lambda: readyz(a) == (200, {"ready": True, "database": "ok", "redis": "ok"}), NOTICE_TIMEOUT,
               "ready again")
    s = Stream(a, token)
    streams.append(s)
    s.ready()
    # live events resume once the server's listener has subscribed again
    wait_until(lambda: reading_events(redis), NOTICE_TIMEOUT,
               "the server reading the events again")
    gen_id = new_generation(a, token, "made after Redis is back")
    evs = generation_events(s.wait_for(completed_event(gen_id), GENERATION_TIMEOUT), gen_id)
    assert evs[-1]["status"] == "completed", evs

    for log in (a.stderr_text(), w.log()):
        assert "cannot use Redis" in log and "answers again" in log, log[-3000:]
    # said once per change, not once per retry
    assert a.stderr_text().count("redis: queue: cannot use Redis") == 1, a.stderr_text()[-3000:]
    assert w.stop() == 0


def responsive(redis):
    """Whether Redis answers a PING within 0.3 s."""
    import redis as redis_py
    try:
        return redis_py.Redis(host="127.0.0.1", port=redis.port, socket_timeout=0.3).ping()
    except redis_py.exceptions.TimeoutError:
        return False


def test_a_redis_that_stops_answering_holds_up_no_request(make_server, tmp_path):
    """Redis hangs (DEBUG SLEEP: it takes connections and answers nothing): requests that
    push wake-ups and publish events are answered all the same, while it still sleeps."""
    redis = RedisServer(tmp_path / "sleepy-redis", ["--enable-debug-command", "yes"]).start()
    try:
        a = make_server(extra_env={"REDIS_URL": redis.url}, args=["--no-worker"])
        token = a.add_user("ivan", credits=1000)
        wait_until(lambda: readyz(a)[0] == 200, NOTICE_TIMEOUT, "ready with Redis")
        sleeper = subprocess.Popen([REDIS_CLI, "-p", str(redis.port), "DEBUG", "SLEEP", "6"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: not responsive(redis), NOTICE_TIMEOUT, "Redis asleep")
            ids = [new_generation(a, token, f"asleep {i}") for i in range(3)]
            assert a.request("GET", "/healthz").status == 200
            assert a.request("GET", "/readyz").status in (200, 503)  # answered from what the threads last saw
            assert sleeper.poll() is None, "Redis woke up before the requests were answered"
        finally:
            sleeper.wait(30)
        for gen_id in ids:  # and the jobs are there (no worker here: still pending)
            assert status(a, token, gen_id)["status"] == "pending"
    finally:
        redis.stop()


def test_a_server_started_while_redis_is_down_becomes_ready_when_it_starts(make_server, streams, tmp_path):
    redis = RedisServer(tmp_path / "late-redis")  # not started yet
    try:
        a = make_server(extra_env={"REDIS_URL": redis.url})
        code, body = readyz(a)
        assert (code, body) == (503, {"ready": False, "database": "ok", "redis": "unavailable"}), body
        wait_until(lambda: "cannot use Redis" in a.stderr_text(), NOTICE_TIMEOUT, "the log saying so")
        redis.start()
        wait_until(lambda: readyz(a)[0] == 200, NOTICE_TIMEOUT, "ready once Redis runs")
        assert "answers again" in a.stderr_text()
        # and it works: the embedded worker takes a generation pushed through Redis, and its
        # events reach the stream once each (delivered here directly; the copy that comes
        # back through Redis is recognised as this process's own and skipped)
        token = a.add_user("gina", credits=1000)
        s = Stream(a, token)
        streams.append(s)
        s.ready()
        wait_until(lambda: reading_events(redis), NOTICE_TIMEOUT,
                   "the server reading the events")
        gen_id = new_generation(a, token)
        s.wait_for(completed_event(gen_id), GENERATION_TIMEOUT)
        s.drain(1.0)
        evs = generation_events(s.seen, gen_id)
        assert [d["status"] for d in evs].count("completed") == 1, evs
        assert len(evs) == len({json.dumps(d, sort_keys=True) for d in evs}), f"an event came twice: {evs}"
    finally:
        redis.stop()


def test_readyz_without_redis(make_server):
    a = make_server(drop_env=("REDIS_URL",))
    assert readyz(a) == (200, {"ready": True, "database": "ok", "redis": "not configured"})
