"""HTTP behaviour: error statuses and bodies, limits, content types, methods, unknown paths,
/healthz, keep-alive, graceful stop and the access log."""

import http.client
import json
import signal
import socket
import time

import pytest

from conftest import PREFIX, assert_error, assert_ok, connect_ro


@pytest.fixture(scope="module")
def token(server):
    return server.add_user("httpuser", credits=10)


def post_raw(server, path, raw, token=None, content_type="application/json"):
    return server.request("POST", PREFIX + path, raw=raw, token=token, content_type=content_type)


# -- /healthz ---------------------------------------------------------------------------------

def test_healthz(server):
    r = server.request("GET", "/healthz")
    assert r.status == 200
    assert r.json == {"status": "ok"}
    assert r.headers.get("content-type", "").startswith("application/json")


# -- 400 --------------------------------------------------------------------------------------

MALFORMED = ["{", "{not json}", '{"name": "a",}', '{"name": "a"} trailing', "{'name': 'a'}",
             '{"name": "a"', b'{"name": "\xff\xfe"}']


@pytest.mark.parametrize("raw", MALFORMED, ids=lambda r: repr(r)[:25])
@pytest.mark.parametrize("path", ["/projects", "/estimate-credits"])
def test_malformed_json_is_400(server, token, path, raw):
    assert_error(post_raw(server, path, raw, token=token), 400, "bad_request")


@pytest.mark.parametrize("raw", ["[1]", "[]", '"x"', "42", "null", "true"])
@pytest.mark.parametrize("path", ["/projects", "/estimate-credits"])
def test_body_not_an_object_is_400(server, token, path, raw):
    assert_error(post_raw(server, path, raw, token=token), 400, "bad_request")


def test_patch_with_malformed_json_is_400(server, token):
    p = assert_ok(server.api("POST", "/projects", body={"name": "p"}, token=token), 201)["project"]
    r = server.request("PATCH", f"{PREFIX}/projects/{p['id']}", raw="{oops", token=token)
    assert_error(r, 400, "bad_request")
    assert assert_ok(server.api("GET", f"/projects/{p['id']}", token=token))["project"] == p


# -- 413 --------------------------------------------------------------------------------------

def test_json_body_over_64k_is_413(server, token):
    big = json.dumps({"name": "x", "description": "y" * (70 * 1024)})
    assert_error(post_raw(server, "/projects", big, token=token), 413, "payload_too_large")
    big = json.dumps({"modelId": "veo3", "prompt": "p" * (65 * 1024)})
    assert_error(post_raw(server, "/estimate-credits", big), 413, "payload_too_large")


def test_json_body_just_under_64k_is_accepted(server, token):
    # 60 KiB of insignificant whitespace around a small valid object
    raw = '{"modelId": "veo3"' + " " * (60 * 1024) + "}"
    assert assert_ok(post_raw(server, "/estimate-credits", raw))["estimate"]["total"] == 2500


def _status_of_huge_upload(server, path, length, send_bytes):
    """Announces a body of `length` bytes, sends `send_bytes` of it, returns the status line
    the server answers with (or raises if it answers nothing)."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n")
        s.sendall(head.encode())
        chunk = b" " * 65536
        sent = 0
        try:
            while sent < send_bytes:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading the whole body
        data = b""
        try:
            while b"\r\n" not in data:
                more = s.recv(4096)
                if not more:
                    break
                data += more
        except ConnectionResetError:
            pass
        return data.split(b"\r\n", 1)[0].decode("latin-1")
    finally:
        s.close()


def test_body_over_16m_is_refused_with_413(server):
    line = _status_of_huge_upload(server, PREFIX + "/estimate-credits",
                                  length=17 * 1024 * 1024, send_bytes=1024 * 1024)
    assert line.startswith("HTTP/1.1 413"), f"status line: {line!r}"
    # and the server is still fine afterwards
    assert server.request("GET", "/healthz").status == 200


# -- 415 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_post_with_a_body_that_is_not_json_is_415(server, token, ctype):
    body = '{"name": "typed"}'
    r = server.request("POST", PREFIX + "/projects", raw=body, token=token, content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")
    r = server.request("POST", PREFIX + "/estimate-credits", raw='{"modelId": "veo3"}',
                       content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                   "Application/JSON"])
def test_json_content_type_variants_are_accepted(server, token, ctype):
    r = server.request("POST", PREFIX + "/projects", raw='{"name": "ctype"}', token=token,
                       content_type=ctype)
    assert assert_ok(r, 201)["project"]["name"] == "ctype"


# -- 405 / 404 --------------------------------------------------------------------------------

NOT_ALLOWED = [("PUT", "/projects"), ("DELETE", "/projects"), ("PATCH", "/projects"),
               ("DELETE", "/models"), ("POST", "/models"), ("GET", "/estimate-credits"),
               ("POST", "/credits"), ("PUT", "/projects/{pid}"), ("POST", "/projects/{pid}")]


@pytest.mark.parametrize("method,path", NOT_ALLOWED, ids=[f"{m} {p}" for m, p in NOT_ALLOWED])
def test_wrong_method_is_405(server, token, method, path):
    r = server.request(method, PREFIX + path.format(pid="some-id"), token=token)
    assert_error(r, 405, "method_not_allowed")


def test_405_says_which_methods_are_allowed(server, token):
    # RFC 9110 §15.5.6: a 405 response MUST carry an Allow header
    r = server.request("PUT", PREFIX + "/projects", token=token)
    assert r.status == 405, r
    allow = {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}
    assert {"GET", "POST"} <= allow, f"Allow header: {r.headers.get('allow')!r}"


@pytest.mark.parametrize("path", [PREFIX + "/nope", PREFIX + "/projects/a/b", PREFIX + "/",
                                  PREFIX, "/nope", "/api/apps/other/projects",
                                  PREFIX + "/modelsx"])
def test_unknown_path_is_404_json(server, token, path):
    r = server.request("GET", path, token=token)
    assert_error(r, 404, "not_found")
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers


def test_error_bodies_are_json(server):
    r = server.api("GET", "/projects")
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert set(r.json) == {"success", "error"}
    assert set(r.json["error"]) <= {"code", "message", "field"}


# -- connections ------------------------------------------------------------------------------

def test_keep_alive_serves_several_requests_on_one_connection(server, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", PREFIX + "/credits", headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            assert resp.status == 200
            assert json.loads(resp.read())["balance"] == 10
        conn.request("POST", PREFIX + "/estimate-credits", body=b'{"modelId":"veo3"}',
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["estimate"]["total"] == 2500
    finally:
        conn.close()


# -- access log -------------------------------------------------------------------------------

def test_access_log_records_each_request(server, token):
    marker = f"/api/apps/video-generator/nope-{time.monotonic_ns()}"
    server.request("GET", marker)
    server.api("POST", "/projects", body={"name": "logged"}, token=token)
    server.request("GET", "/healthz?probe=accesslog")
    path = server.access_log
    wanted = [("GET", marker), ("POST", PREFIX + "/projects"), ("GET", "/healthz")]
    deadline = time.monotonic() + 5  # the log may be written a moment after the reply
    while True:
        text = path.read_text() if path.exists() else ""
        lines = text.splitlines()
        missing = [w for w in wanted
                   if not any(w[0] in line and w[1] in line for line in lines)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, f"not in the access log: {missing}\n--- log tail ---\n" + \
        "\n".join(lines[-10:])


def test_access_log_off_writes_no_file(make_server):
    s = make_server(access_log="off")
    s.request("GET", "/healthz")
    s.stop()
    assert not (s.workdir / "off").exists()
    assert not (s.workdir / "access.log").exists()


# -- graceful stop ----------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_keeps_the_data(make_server, sig):
    s = make_server()
    tok = s.add_user("keeper", credits=42)
    made = [assert_ok(s.api("POST", "/projects", body={"name": f"kept {i}"}, token=tok),
                      201)["project"] for i in range(3)]
    s.send_signal(sig)
    rc = s.wait_exit(timeout=10)
    assert rc == 0, f"exit code {rc} after {sig.name}\n{s.stderr_tail()}"

    if s.database_url is None:  # SQLite: the file is whole
        con = connect_ro(s.db_path)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
    s.check_ledger()

    s.start()
    listed = assert_ok(s.api("GET", "/projects", token=tok))["projects"]
    assert [p["id"] for p in listed] == [p["id"] for p in made[::-1]]
    assert [p["name"] for p in listed] == ["kept 2", "kept 1", "kept 0"]
    assert assert_ok(s.api("GET", "/credits", token=tok))["balance"] == 42
    assert assert_ok(s.api("GET", "/credits", token=s.admin_token))["balance"] == 10000
    s.check_ledger()


def test_graceful_stop_with_an_idle_keep_alive_connection(make_server):
    s = make_server()
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        # the connection stays open and idle (a browser tab, a pooled client) while the
        # server is asked to stop: it must still exit within a few seconds, not wait for
        # the client (a container runtime SIGKILLs after 10 s)
        s.send_signal(signal.SIGTERM)
        rc = s.wait_exit(timeout=5)
        assert rc == 0, f"exit code {rc} (None = still running 5 s after SIGTERM)\n" \
                        f"{s.stderr_tail()}"
    finally:
        conn.close()


def _burst(server, n):
    """n short requests, each on its own connection that the client then closes."""
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            c.recv(4096)
        finally:
            c.close()


def test_stop_right_after_requests_exits_cleanly(make_server):
    # SIGTERM arriving while the clients of the last requests are hanging up (the normal
    # case on a busy server) must still end in a clean exit. A race, so it is repeated:
    # rounds of 5 servers at once, each given a burst of requests and then SIGTERM.
    codes = []
    for rnd in range(6):
        servers = [make_server(start=False) for _ in range(5)]
        for s in servers:
            s.start(wait=False)
        for s in servers:
            s.wait_ready()
        for s in servers:
            _burst(s, 30)
            s.send_signal(signal.SIGTERM)
        for s in servers:
            rc = s.wait_exit(timeout=15)
            codes.append(rc)
            if rc != 0:
                pytest.fail(f"stop #{len(codes)}: exit code {rc} (negative = killed by that "
                            f"signal; None = still running 15 s later); codes so far {codes}\n"
                            f"{s.stderr_tail(5)}")


def test_zz_ledger_invariant_after_http_module(server):
    server.check_ledger()
