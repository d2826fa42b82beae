"""The Runway and Kling fakes against their contracts (shared/providers/runway.md, kling.md).

Run: /usr/bin/python3 -m pytest -q tests/fakes
"""

import json
import time

import pytest

import kling
import runway
from common import Delay, expired, html_page
from kling import KlingFake
from runway import RunwayFake
from test_fakes import call, post_json

RW_T2V = {"model": "gen4.5", "promptText": "a red fox", "ratio": "1280:720", "duration": 10}


def rw_headers(key=runway.KEY, version=runway.VERSION):
    headers = {"Authorization": f"Bearer {key}"}
    if version:
        headers["X-Runway-Version"] = version
    return headers


def kl_headers(token=None):
    return {"Authorization": f"Bearer {token or kling.make_token()}"}


@pytest.fixture
def rw():
    with RunwayFake(polls=3) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def kl():
    with KlingFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


# -- Runway --------------------------------------------------------------------------------------

def test_runway_task_goes_pending_throttled_running_succeeded_and_serves_its_video(rw):
    r = post_json(rw, runway.T2V, RW_T2V, rw_headers())
    assert r.status == 200 and set(r.json) == {"id"}, r
    seen = [call(rw, "GET", f"/v1/tasks/{r.json['id']}", headers=rw_headers()).json for _ in range(4)]
    assert [t["status"] for t in seen] == ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED"]
    assert seen[2]["progress"] == 0.2 and "progress" not in seen[0]
    video = call(seen[3]["output"][0], "GET")
    assert video.status == 200 and video.body[4:8] == b"ftyp"


def test_runway_checks_key_and_version(rw):
    assert post_json(rw, runway.T2V, RW_T2V, rw_headers(key="key_wrong")).status == 401
    for version in (None, "2024-09-13"):
        r = post_json(rw, runway.T2V, RW_T2V, rw_headers(version=version))
        assert r.status == 400 and r.json["error"] == runway.BAD_VERSION, r
    assert rw.jobs == {}


@pytest.mark.parametrize("path,change,field", [
    (runway.T2V, {"model": "gen4_turbo"}, "model"),          # gen4_turbo makes no video from text
    (runway.T2V, {"model": "gen3a_turbo"}, "model"),         # retired
    (runway.T2V, {"ratio": "960:960"}, "ratio"),             # not from text
    (runway.T2V, {"duration": "10"}, "duration"),            # an integer
    (runway.T2V, {"duration": 11}, "duration"),
    (runway.T2V, {"promptText": "x" * 1001}, "promptText"),
    (runway.T2V, {"promptText": "\U0001F98A" * 501}, "promptText"),   # 1002 UTF-16 units
    (runway.I2V, {"model": "gen4_turbo"}, "promptImage"),    # no image
    (runway.I2V, {"model": "gen4_turbo", "promptImage": "http://example.com/a.png"}, "promptImage"),
    (runway.I2V, {"model": "gen4_turbo", "promptImage": "https://10.0.0.1/a.png"}, "promptImage"),
])
def test_runway_refuses_bodies_outside_its_contract_with_zod_issues(rw, path, change, field):
    r = post_json(rw, path, {**RW_T2V, **change}, rw_headers())
    assert r.status == 400 and r.json["error"] == "Validation of body failed", r
    assert r.json["issues"][0]["path"] == [field]


def test_runway_fetches_a_loopback_image_and_refuses_one_it_cannot_fetch(rw):
    ok = rw.url("/cdn/none.mp4")  # any loopback URL: a 404 here
    r = post_json(rw, runway.I2V, {**RW_T2V, "model": "gen4_turbo", "promptImage": ok}, rw_headers())
    assert r.status == 400 and "Failed to fetch asset" in r.json["issues"][0]["message"]
    assert rw.image_fetches[0].status == 404


@pytest.mark.parametrize("end,code,want", [
    ("rejected", runway.DEFAULT, "SAFETY.INPUT.TEXT"), ("failed", runway.DEFAULT, "INTERNAL.BAD_OUTPUT.CODE01"),
    ("failed", None, None), ("failed", "", "absent")])
def test_runway_failures_carry_their_failure_code(rw, end, code, want):
    rw.plan(end=end, polls=0, failure_code=code)
    tid = post_json(rw, runway.T2V, RW_T2V, rw_headers()).json["id"]
    task = call(rw, "GET", f"/v1/tasks/{tid}", headers=rw_headers()).json
    assert task["status"] == "FAILED" and task["failure"]
    if want == "absent":
        assert "failureCode" not in task
    else:
        assert task["failureCode"] == want


def test_runway_delete_cancels_then_forgets_the_task(rw):
    tid = post_json(rw, runway.T2V, RW_T2V, rw_headers()).json["id"]
    r = call(rw, "DELETE", f"/v1/tasks/{tid}", headers=rw_headers())
    assert r.status == 204 and r.body == b""
    assert call(rw, "GET", f"/v1/tasks/{tid}", headers=rw_headers()).status == 404
    assert rw.job(tid).cancelled


def test_runway_scripted_faults(rw):
    rw.script("submit", runway.rate_limited(2), runway.rate_limited(header=False),
              runway.server_error(503, html=True), runway.no_credits(), Delay(0.3))
    statuses = [post_json(rw, runway.T2V, RW_T2V, rw_headers()) for _ in range(5)]
    assert statuses[0].status == 429 and statuses[0].headers["Retry-After"] == "2"
    assert statuses[1].status == 429 and statuses[1].headers["Retry-After"] is None
    assert statuses[2].status == 503 and b"<html>" in statuses[2].body
    assert statuses[3].status == 400 and "credits" in statuses[3].json["error"]
    assert statuses[4].status == 200 and len(rw.jobs) == 1
    rw.always("video", expired())
    assert call(rw, "GET", "/cdn/x.mp4").status == 403


# -- Kling -----------------------------------------------------------------------------------------

KL_T2V = {"model_name": "kling-v2-5-turbo", "prompt": "a red fox", "mode": "std", "aspect_ratio": "16:9",
          "duration": "5", "external_task_id": "gen-1"}


def test_kling_task_goes_submitted_processing_succeed_with_its_envelope(kl):
    r = post_json(kl, kling.T2V, KL_T2V, kl_headers())
    assert r.status == 200 and r.json["code"] == 0 and r.json["message"] == "SUCCEED", r
    data = r.json["data"]
    assert data["task_id"].isdigit() and data["task_status"] == "submitted"
    assert data["task_info"] == {"external_task_id": "gen-1"} and data["created_at"] > 10 ** 12
    tasks = [call(kl, "GET", f"{kling.T2V}/{data['task_id']}", headers=kl_headers()).json["data"]
             for _ in range(2)]
    assert [t["task_status"] for t in tasks] == ["processing", "succeed"]
    video = tasks[1]["task_result"]["videos"][0]
    assert video["duration"] == "5" and call(video["url"], "GET").status == 200
    wrong_family = call(kl, "GET", f"{kling.I2V}/{data['task_id']}", headers=kl_headers())
    assert wrong_family.status == 404 and wrong_family.json["code"] == 1203
    listed = call(kl, "GET", f"{kling.T2V}?pageNum=1&pageSize=500", headers=kl_headers()).json["data"]
    assert [t["task_info"]["external_task_id"] for t in listed] == ["gen-1"]


@pytest.mark.parametrize("headers,code", [
    ({}, 1001),
    ({"Authorization": "Bearer not-a-jwt"}, 1002),
    ({"Authorization": "Basic a.b.c"}, 1002),
    (kl_headers(kling.make_token(secret="wrong")), 1000),
    (kl_headers(kling.make_token(access="someone-else")), 1000),
    (kl_headers(kling.make_token(nbf=60)), 1003),
    (kl_headers(kling.make_token(exp=-1)), 1004),
])
def test_kling_verifies_the_token(kl, headers, code):
    r = post_json(kl, kling.T2V, KL_T2V, headers)
    assert r.status == 401 and r.json["code"] == code and "data" not in r.json, r
    assert kl.jobs == {}


@pytest.mark.parametrize("path,change", [
    (kling.T2V, {"duration": 5}), (kling.T2V, {"duration": "7"}), (kling.T2V, {"mode": "standard"}),
    (kling.T2V, {"prompt": ""}), (kling.T2V, {"prompt": "x" * 2501}), (kling.T2V, {"aspect_ratio": "4:3"}),
    (kling.T2V, {"model_name": "kling-v9"}),
    (kling.I2V, {"image": "data:image/png;base64,AAAA"}),
    (kling.I2V, {}),
    (kling.I2V, {"image": "AAAA", "image_tail": "AAAA", "mode": "std"}),
    (kling.I2V, {"image": "AAAA", "image_tail": "AAAA", "mode": "pro", "camera_control": {}}),
])
def test_kling_refuses_bodies_outside_its_contract_with_1201(kl, path, change):
    body = {**KL_T2V, **change}
    if path == kling.I2V:
        body.pop("aspect_ratio")
    r = post_json(kl, path, body, kl_headers())
    assert r.status == 400 and r.json["code"] in (1200, 1201), r


def test_kling_refuses_a_repeated_external_task_id(kl):
    body = {"model_name": "kling-v2-5-turbo", "image": "AAAA", "mode": "pro", "duration": "5",
            "external_task_id": "gen-9"}
    assert post_json(kl, kling.I2V, body, kl_headers()).json["code"] == 0
    r = post_json(kl, kling.I2V, body, kl_headers())
    assert r.status == 400 and r.json["code"] == 1201 and "external_task_id" in r.json["message"]


def test_kling_failed_task_says_why_and_calls_back_the_bare_task(kl):
    kl.plan(end="failed", polls=0)
    got = []
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        body = {**KL_T2V, "callback_url": f"http://127.0.0.1:{hook.server_address[1]}/cb"}
        tid = post_json(kl, kling.T2V, body, kl_headers()).json["data"]["task_id"]
        task = call(kl, "GET", f"{kling.T2V}/{tid}", headers=kl_headers()).json
        assert task["code"] == 0 and task["data"]["task_status"] == "failed"
        assert task["data"]["task_status_msg"]
        kl.wait_deliveries(1)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got[0]["task_id"] == tid and got[0]["task_status"] == "failed" and "code" not in got[0]
    finally:
        hook.shutdown()


def test_kling_scripted_faults_use_its_codes(kl):
    kl.script("submit", kling.error(1302), kling.error(1303), kling.error(1102), kling.error(1301),
              kling.error(5001), html_page(502))
    replies = [post_json(kl, kling.T2V, KL_T2V, kl_headers()) for _ in range(6)]
    assert [(r.status, r.json and r.json["code"]) for r in replies[:5]] == [
        (429, 1302), (429, 1303), (429, 1102), (400, 1301), (503, 5001)]
    assert replies[5].status == 502 and replies[5].json is None
