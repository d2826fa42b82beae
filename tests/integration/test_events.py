"""Live status over Server-Sent Events: GET /events.

Each stream is read by a background thread that parses the SSE text into events, so a test
can wait for what it expects with a deadline and check what else arrived. The servers run
several event loops (VIDGEN_THREADS), so streams of one user land on different loops and
the fan-out between loops is exercised."""

import http.client
import json
import queue
import signal
import threading
import time

import pytest

from conftest import PREFIX, assert_error, assert_ok

LOOPS = 4               # HTTP event loops of the servers here
GENERATION_TIMEOUT = 90  # seconds for a local-preview generation to complete
STOP_PROMPTLY = 5.0     # seconds within which SIGTERM must end a server with open streams
REVOKE_NOTICED = 10.0   # seconds within which a revoked token's streams must end


class Stream:
    """One open GET /events. `items` receives ("retry", ms), ("comment", text) and
    ("event", name, data) in arrival order, then ("end", clean) when the stream ends:
    clean is True when the final chunk came, False on a broken stream."""

    def __init__(self, server, token, timeout=30.0):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request("GET", PREFIX + "/events", headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.items = queue.Queue()
        self.seen = []
        self.thread = None
        if self.status == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        else:
            self.body = self.resp.read()

    def _read(self):
        buf, name, data = b"", None, []
        try:
            while True:
                chunk = self.resp.read1(65536)
                if not chunk:
                    self.items.put(("end", True))
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.decode("utf-8")
                    if line == "":
                        if data:
                            self.items.put(("event", name or "message", "\n".join(data)))
                        name, data = None, []
                    elif line.startswith(":"):
                        self.items.put(("comment", line[1:].strip()))
                    elif line.startswith("retry:"):
                        self.items.put(("retry", int(line[6:].strip())))
                    elif line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
        except (OSError, http.client.HTTPException):
            self.items.put(("end", False))

    def next(self, timeout):
        """The next item, or None after `timeout` seconds."""
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(item)
        return item

    def wait_for(self, pred, timeout):
        """Items up to and including the first one that satisfies `pred` (AssertionError
        if none does within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            left = deadline - time.monotonic()
            item = self.next(max(left, 0)) if left > 0 else None
            if item is None:
                raise AssertionError(f"nothing expected within {timeout}s; got {got!r}")
            got.append(item)
            if pred(item):
                return got
            if item[0] == "end":
                raise AssertionError(f"stream ended before the expected item; got {got!r}")

    def drain(self, wait=0.0):
        """Whatever arrives within `wait` seconds."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            item = self.next(max(deadline - time.monotonic(), 0.01))
            if item is None:
                return out
            out.append(item)

    def ready(self):
        """Waits for the preamble: the server has registered the stream once it is sent."""
        return self.wait_for(lambda i: i[0] == "comment", 5.0)

    def close(self):
        self.conn.close()


@pytest.fixture
def streams():
    opened = []
    yield opened
    for s in opened:
        s.close()


def open_stream(server, token, opened):
    s = Stream(server, token)
    opened.append(s)
    return s


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from conftest import Server
    s = Server(tmp_path_factory.mktemp("events"), extra_env={"VIDGEN_THREADS": LOOPS})
    try:
        s.start()
        yield s
    finally:
        s.stop()
        s.kill()


@pytest.fixture(scope="module")
def tokens(srv):
    return {"alice": srv.add_user("ev_alice", credits=1000), "bob": srv.add_user("ev_bob", credits=1000)}


# -- connecting -------------------------------------------------------------------------------

def test_stream_headers_and_preamble(srv, tokens, streams):
    s = open_stream(srv, tokens["alice"], streams)
    assert s.status == 200
    assert s.headers.get("content-type", "").split(";")[0].strip() == "text/event-stream"
    assert s.headers.get("cache-control") == "no-store"
    assert s.headers.get("x-accel-buffering") == "no"
    assert "content-length" not in s.headers
    first = s.next(5.0)
    assert first == ("retry", 3000), first
    second = s.next(5.0)
    assert second is not None and second[0] == "comment", second
    # nothing else until something happens
    assert s.drain(0.5) == []


def test_no_token_is_401(srv):
    s = Stream(srv, None)
    assert s.status == 401
    assert s.headers.get("content-type", "").startswith("application/json")
    err = json.loads(s.body)
    assert err["success"] is False and err["error"]["code"] == "unauthorized"
    s.close()


def test_unknown_token_is_401(srv):
    assert_error(srv.api("GET", "/events", token="vg_not_a_real_token"), 401, "unauthorized")


def test_post_is_405(srv, tokens):
    r = srv.api("POST", "/events", token=tokens["alice"], body={})
    assert r.status == 405, r


def test_many_streams_and_clients_that_leave(srv, tokens, streams):
    """Streams opened and dropped by their clients leave the server serving the others."""
    many = [open_stream(srv, tokens["bob"], streams) for _ in range(20)]
    for s in many:
        s.ready()
    for s in many[:15]:
        s.close()
    assert assert_ok(srv.api("GET", "/credits", token=tokens["bob"]))["balance"] >= 0
    for s in many[15:]:
        assert s.drain(0.2) == []


def test_heartbeat_comment_arrives(srv, tokens, streams):
    """A comment every 15 s keeps proxies from closing an idle stream (the period itself
    is not asserted, only that one comes within a generous bound)."""
    s = open_stream(srv, tokens["alice"], streams)
    s.ready()
    got = s.wait_for(lambda i: i[0] == "comment", 25.0)
    assert [i for i in got if i[0] == "event"] == [], got


def test_revoking_a_token_ends_its_streams_only(srv, streams):
    """A stream is authorised when it opens; revoking its token (CLI, another process) must
    still end it within seconds, on every loop, while other tokens' streams go on."""
    token = srv.add_user("ev_erin", credits=10)
    r = srv.cli("token", "create", "ev_erin", "second")
    assert r.returncode == 0, r.stderr
    other = r.stdout.strip()
    doomed = [open_stream(srv, token, streams) for _ in range(LOOPS + 2)]
    kept = [open_stream(srv, other, streams) for _ in range(2)]
    for s in doomed + kept:
        s.ready()

    r = srv.cli("token", "revoke", token)
    assert r.returncode == 0, r.stderr
    t0 = time.monotonic()
    for s in doomed:
        end = s.wait_for(lambda i: i[0] == "end", REVOKE_NOTICED)[-1]
        assert end == ("end", True), s.seen
    took = time.monotonic() - t0
    assert took < REVOKE_NOTICED, took

    late = Stream(srv, token)
    assert late.status == 401, late.status
    late.close()
    for s in kept:
        assert [i for i in s.drain(0.5) if i[0] == "end"] == [], "another token's stream was ended"
    assert assert_ok(srv.api("GET", "/credits", token=other))["balance"] == 10


# -- events -----------------------------------------------------------------------------------

def generation_events(items, gen_id):
    out = []
    for i in items:
        if i[0] == "event" and i[1] == "generation":
            d = json.loads(i[2])
            if d.get("id") == gen_id:
                out.append(d)
    return out


def test_generation_events_reach_every_stream_of_the_owner_only(srv, tokens, streams):
    a1 = open_stream(srv, tokens["alice"], streams)
    a2 = open_stream(srv, tokens["alice"], streams)
    b = open_stream(srv, tokens["bob"], streams)
    for s in (a1, a2, b):
        s.ready()

    project = assert_ok(srv.api("POST", "/projects", body={"name": "live"}, token=tokens["alice"]), 201)["project"]
    r = srv.api("POST", "/generate", token=tokens["alice"], body={
        "projectId": project["id"], "modelId": "local-preview", "prompt": "a red fox",
        "resolution": "720p", "duration": 1})
    if r.status == 404 and r.error.get("message") == "no such endpoint":
        pytest.skip("POST /generate is not there yet")
    gen_id = assert_ok(r, 201)["generation"]["id"]

    def completed(item):
        return (item[0] == "event" and item[1] == "generation"
                and json.loads(item[2]).get("id") == gen_id
                and json.loads(item[2]).get("status") in ("completed", "failed", "cancelled"))

    for s in (a1, a2):
        evs = generation_events(s.wait_for(completed, GENERATION_TIMEOUT), gen_id)
        for d in evs:
            assert {"id", "status", "progress"} <= d.keys(), d
            assert d["status"] in ("pending", "processing", "completed"), d
        assert evs[-1]["status"] == "completed", evs[-1]
        assert evs[-1]["progress"] == 100, evs[-1]
        progress = [d["progress"] for d in evs]
        assert progress == sorted(progress), progress
        order = {"pending": 0, "processing": 1, "completed": 2}
        statuses = [order[d["status"]] for d in evs]
        assert statuses == sorted(statuses), [d["status"] for d in evs]
        assert len(evs) >= 2, f"expected progress before completion: {evs}"

    # both streams of alice saw the same sequence; bob saw none of it
    assert generation_events(a1.seen, gen_id) == generation_events(a2.seen, gen_id)
    extra = b.drain(0.5)
    assert generation_events(b.seen, gen_id) == [], b.seen + extra
    assert [i for i in b.seen if i[0] == "event"] == [], b.seen


# -- cancel -----------------------------------------------------------------------------------

def new_generation(server, token, **fields):
    project = assert_ok(server.api("POST", "/projects", body={"name": "c"}, token=token), 201)["project"]
    body = {"projectId": project["id"], "modelId": "local-preview", "prompt": "a slow fox",
            "resolution": "720p", "duration": 1}
    body.update(fields)
    return assert_ok(server.api("POST", "/generate", token=token, body=body), 201)["generation"]["id"]


def assert_cancel_delivered_once(evs):
    """One "cancelled" event, the last one; no status or cancelRequested ever goes back."""
    assert [d["status"] for d in evs].count("cancelled") == 1, evs
    assert evs[-1]["status"] == "cancelled", evs
    order = {"pending": 0, "processing": 1, "cancelled": 2}
    statuses = [order[d["status"]] for d in evs]
    assert statuses == sorted(statuses), [d["status"] for d in evs]
    flags = [d["cancelRequested"] for d in evs]
    assert flags == sorted(flags), f"cancelRequested went back: {evs}"


def test_a_running_cancel_is_delivered_once_by_its_worker(srv, streams):
    token = srv.add_user("ev_carol", credits=1000)
    s = open_stream(srv, token, streams)
    s.ready()
    gen_id = new_generation(srv, token, resolution="4K", duration=20)

    def rendering(item):
        evs = generation_events([item], gen_id)
        return bool(evs) and evs[0]["status"] == "processing" and evs[0]["progress"] > 0

    s.wait_for(rendering, GENERATION_TIMEOUT)
    r = assert_ok(srv.api("POST", f"/generations/{gen_id}/cancel", token=token))
    assert r["generation"]["cancelRequested"] is True and r["generation"]["status"] == "processing"
    s.wait_for(lambda i: any(d["status"] == "cancelled" for d in generation_events([i], gen_id)), 30.0)
    s.drain(1.0)
    assert_cancel_delivered_once(generation_events(s.seen, gen_id))


def test_a_pending_cancel_is_delivered_once(make_server, streams):
    """No worker runs here: the cancel itself ends the generation, and says so once."""
    server = make_server(args=["--no-worker"], extra_env={"VIDGEN_THREADS": LOOPS})
    token = server.admin_token
    s = open_stream(server, token, streams)
    s.ready()
    gen_id = new_generation(server, token)
    assert generation_events(s.drain(0.5), gen_id) == [], "nothing is announced for pending"
    r = assert_ok(server.api("POST", f"/generations/{gen_id}/cancel", token=token))
    assert r["generation"]["status"] == "cancelled"
    s.wait_for(lambda i: bool(generation_events([i], gen_id)), 5.0)
    s.drain(1.0)
    evs = generation_events(s.seen, gen_id)
    assert_cancel_delivered_once(evs)
    assert len(evs) == 1, evs


# -- stopping ---------------------------------------------------------------------------------

def test_sigterm_with_open_streams_exits_promptly_and_cleanly(make_server, streams):
    s = make_server(extra_env={"VIDGEN_THREADS": LOOPS})
    token = s.add_user("stopper", credits=10)
    open_ = [open_stream(s, token, streams) for _ in range(6)]
    for st in open_:
        st.ready()
    open_[0].close()  # a client that left before the stop
    t0 = time.monotonic()
    s.send_signal(signal.SIGTERM)
    rc = s.wait_exit(timeout=STOP_PROMPTLY)
    took = time.monotonic() - t0
    assert rc == 0, f"exit code {rc} after {took:.1f}s\n{s.stderr_tail()}"
    for st in open_[1:]:
        end = st.wait_for(lambda i: i[0] == "end", 2.0)[-1]
        assert end == ("end", True), f"stream not ended with the final chunk: {st.seen}"
