"""GET /metrics: Prometheus's own parser takes the page, only an admin sees it, and its
counters move as a scripted run of local-preview generations says they must (one completed,
one failed, one cancelled; the failed and the cancelled refunded), as do the HTTP, stream,
queue and credit figures."""

import pathlib
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import PREFIX, assert_ok
from pipeline import generate, make_project, wait_for

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


def scrape(server, token=None):
    r = server.request("GET", "/metrics", token=token if token is not None else server.admin_token)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return r.body.decode()


def samples(text):
    """{(name, frozenset of label pairs): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def promtool_check(text):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install Debian's prometheus package (make test-deps)"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"promtool check metrics:\n{r.stdout}{r.stderr}"


def wait_until(server, check, timeout=10.0):
    """Scrapes until check(page) holds (store figures are cached for a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        text = scrape(server)
        if check(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.3)


def test_only_an_admin_sees_it(server):
    user = server.add_user("metrics-user", credits=10)
    for token in (None, "", "not-a-token", user):
        r = server.request("GET", "/metrics", token=token)
        assert r.status == 404, (token, r)
        assert r.json["error"]["code"] == "not_found"
    assert server.api("GET", "/metrics", token=server.admin_token).status == 404  # not under the prefix
    promtool_check(scrape(server))


def test_http_requests_are_counted_by_route_and_status(server):
    before = scrape(server)
    for _ in range(3):
        assert_ok(server.api("GET", "/models"))
    assert server.api("GET", "/credits").status == 401
    assert server.api("GET", "/no-such-thing").status == 404
    after = scrape(server)
    promtool_check(after)
    moved = lambda name, **l: value(after, name, **l) - value(before, name, **l)
    assert moved("vidgen_http_requests_total", method="GET", route="/models", status="200") == 3
    assert moved("vidgen_http_requests_total", method="GET", route="/credits", status="401") == 1
    assert moved("vidgen_http_requests_total", method="", route="none", status="404") == 1
    # the scrape before this one is counted too, so at least 6 requests went into the histogram
    assert moved("vidgen_http_request_duration_seconds_count") >= 6
    info = [(dict(labels), v) for (name, labels), v in samples(after).items() if name == "vidgen_build_info"]
    assert len(info) == 1 and info[0][1] == 1, info
    assert info[0][0]["h2o"] == "2.2.5" and info[0][0]["version"] and info[0][0]["sqlite"].startswith("3."), info
    assert value(after, "vidgen_process_resident_memory_bytes") > 1e6
    assert value(after, "vidgen_process_open_fds") > 3


def test_generations_and_credits_move_as_the_run_says(make_server):
    s = make_server()
    token = s.admin_token
    before = scrape(s)
    pid = make_project(s, token)
    done = assert_ok(generate(s, token, pid), 201)["generation"]
    assert wait_for(s, token, done["id"])["status"] == "completed"
    # A render that cannot be moved into place fails (and is refunded): the videos
    # directory is a file for this one generation.
    videos = s.data_dir / "videos"
    videos.rename(s.data_dir / "videos.keep")
    videos.write_text("not a directory")
    try:
        failed = assert_ok(generate(s, token, pid, prompt="a fox that fails"), 201)["generation"]
        assert wait_for(s, token, failed["id"])["status"] == "failed"
    finally:
        videos.unlink()
        (s.data_dir / "videos.keep").rename(videos)
    cancelled = assert_ok(generate(s, token, pid, prompt="a fox never finished", duration=10), 201)["generation"]
    assert_ok(s.api("POST", f"/generations/{cancelled['id']}/cancel", token=token))
    assert wait_for(s, token, cancelled["id"])["status"] == "cancelled"
    assert s.cli("credits", "grant", "admin", "250").returncode == 0  # another process

    charged = done["creditUsed"] + failed["creditUsed"] + cancelled["creditUsed"]
    refunded = failed["creditUsed"] + cancelled["creditUsed"]
    moved = lambda text, name, **l: value(text, name, **l) - value(before, name, **l)
    after = wait_until(s, lambda t: moved(t, "vidgen_credits_granted_total") == 250
                       and moved(t, "vidgen_credits_refunded_total") == refunded)
    promtool_check(after)
    for status in ("completed", "failed", "cancelled"):
        assert moved(after, "vidgen_generations_total", model="local-preview", provider="local",
                     status=status) == 1, status
    assert moved(after, "vidgen_credits_charged_total") == charged
    assert moved(after, "vidgen_credits_refunded_total") == refunded
    assert moved(after, "vidgen_credits_granted_total") == 250
    # the ledger is what the counters sum: charges are its negative rows
    con = s.db()
    try:
        rows = dict(con.execute("SELECT kind, sum(amount) FROM credit_ledger GROUP BY kind").fetchall())
    finally:
        con.close()
    assert value(after, "vidgen_credits_charged_total") == -rows["charge"]
    assert value(after, "vidgen_credits_granted_total") == rows["grant"]
    assert value(after, "vidgen_queue_depth") == 0


def test_queue_depth_and_age_without_a_worker(make_server):
    s = make_server(args=["--no-worker"])
    token = s.admin_token
    pid = make_project(s, token)
    for _ in range(2):
        assert_ok(generate(s, token, pid), 201)
    time.sleep(1.0)
    text = wait_until(s, lambda t: value(t, "vidgen_queue_depth") == 2)
    assert value(text, "vidgen_queue_depth") == 2
    assert value(text, "vidgen_queue_oldest_age_seconds") >= 0.5
    promtool_check(text)


def test_open_event_streams_are_a_gauge(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"GET {PREFIX}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.admin_token}"
                 f"\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200"), "no stream"
    try:
        assert value(scrape(server), "vidgen_sse_streams_open") == 1
    finally:  # a reset, not a polite close: the server sees it at its next write (an event)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    pid = make_project(server, server.admin_token, name="wakes the stream")
    assert_ok(generate(server, server.admin_token, pid), 201)
    text = wait_until(server, lambda t: value(t, "vidgen_sse_streams_open") == 0, timeout=40)
    assert value(text, "vidgen_sse_streams_open") == 0


# -- remote providers (the fake ModelsLab of tests/fakes) ---------------------------------------

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import modelslab  # noqa: E402


@pytest.fixture
def ml():
    with modelslab.ModelsLabFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def remote(make_server, ml):
    s = make_server(extra_env={"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
                               "VIDGEN_ADMIN_CREDITS": 1000000})
    s.project = make_project(s, s.admin_token)
    return s


def test_provider_requests_failures_and_retries_are_counted(remote, ml):
    ml.script("submit", modelslab.rate_limited(retry_after=1))
    ml.script("poll", modelslab.server_error(500))
    before = scrape(remote)
    gen = assert_ok(generate(remote, remote.admin_token, remote.project, modelId="veo3", duration=8), 201)
    assert wait_for(remote, remote.admin_token, gen["generation"]["id"], timeout=60)["status"] == "completed"
    after = scrape(remote)
    promtool_check(after)
    moved = lambda name, **l: value(after, name, **l) - value(before, name, **l)
    assert moved("vidgen_provider_failures_total", provider="modelslab", kind="rate_limited") == 1
    assert moved("vidgen_provider_failures_total", provider="modelslab", kind="http_5xx") == 1
    assert moved("vidgen_provider_failures_total", provider="modelslab", kind="timeout") == 0
    submits = [r for r in ml.requests("submit")]
    polls = [r for r in ml.requests("poll")]
    assert moved("vidgen_provider_request_duration_seconds_count", provider="modelslab", step="submit") == len(submits)
    assert moved("vidgen_provider_request_duration_seconds_count", provider="modelslab", step="poll") == len(polls)
    assert moved("vidgen_provider_request_duration_seconds_count", provider="modelslab", step="download") == 1
    assert moved("vidgen_generations_total", model="veo3", provider="modelslab", status="completed") == 1
    # the 500 on a poll is tried again (an attempt spent); the 429 waits without spending one
    assert moved("vidgen_provider_retries_total", provider="modelslab") == 1
    assert moved("vidgen_provider_fallbacks_total", provider="modelslab") == 0


def test_an_open_circuit_is_a_gauge(remote, ml):
    ml.always("poll", modelslab.server_error(500))
    for i in range(5):
        assert_ok(generate(remote, remote.admin_token, remote.project, modelId="veo3", duration=8,
                           prompt=f"down {i}"), 201)
    text = wait_until(remote, lambda t: value(t, "vidgen_provider_circuit_open", provider="modelslab") == 1,
                      timeout=40)
    assert value(text, "vidgen_provider_circuit_open", provider="modelslab") == 1
    assert value(text, "vidgen_provider_circuit_open", provider="edenai") == 0
    assert value(text, "vidgen_provider_jobs_in_flight", provider="modelslab") == 5
    assert value(text, "vidgen_provider_retries_total", provider="modelslab") >= 5


# -- provider cost (the fake Eden AI reports v3's `cost`, "0" while processing) ---------------------

import edenai  # noqa: E402


@pytest.fixture
def eden():
    with edenai.EdenAIFake(polls=2) as fake:
        yield fake
    assert not fake.errors, fake.errors


def test_the_cost_eden_ai_reports_is_kept_with_the_attempt_and_counted(make_server, eden):
    s = make_server(extra_env={"EDENAI_API_KEY": edenai.KEY, "EDENAI_BASE_URL": eden.base_url})
    project = make_project(s, s.admin_token)
    before = scrape(s)
    gens = [assert_ok(generate(s, s.admin_token, project, modelId="nova-reel", duration=6, prompt=f"waves {i}"),
                      201)["generation"]["id"] for i in range(2)]
    for g in gens:
        assert wait_for(s, s.admin_token, g, timeout=60)["status"] == "completed"
        [attempt] = assert_ok(s.api("GET", f"/generations/{g}", token=s.admin_token))["generation"]["attempts"]
        # the fake's price: $0.08 a second of Nova Reel, 6 s; its polls said "0" before
        assert (attempt["provider"], attempt["cost"], attempt["costUnit"]) == ("edenai", "0.48", "usd"), attempt
    after = scrape(s)
    promtool_check(after)
    moved = value(after, "vidgen_provider_cost_total", provider="edenai", unit="usd") - \
        value(before, "vidgen_provider_cost_total", provider="edenai", unit="usd")
    assert moved == pytest.approx(0.96, abs=1e-9), after
    assert not [line for line in after.splitlines() if line.startswith("vidgen_provider_cost_total{provider=\"modelslab\"")]


def test_metrics_off_counts_nothing_and_answers_404(make_server):
    s = make_server(extra_env={"VIDGEN_METRICS": "off"})
    assert s.request("GET", "/healthz").status == 200
    r = s.request("GET", "/metrics", token=s.admin_token)
    assert r.status == 404, r
