"""The fakes against the providers' contracts (shared/providers/modelslab.md, edenai.md), so
that vidgen's tests stand on known-good ground.  Plain http.client; a few seconds in all.

Run: /usr/bin/python3 -m pytest -q tests/fakes
"""

import base64
import hashlib
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import common
import edenai
import modelslab
from common import PASS, Delay, Reset, Truncated, expired, garbage, html_page, sample_mp4
from edenai import EdenAIFake
from modelslab import ModelsLabFake

HERE = Path(__file__).resolve().parent
NOVA = "video/generation_async/amazon/amazon.nova-reel-v1:1"
T2V_ULTRA = "/api/v6/video/text2video_ultra"
V7_T2V = "/api/v7/video-fusion/text-to-video"


# -- a small client --------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def call(url_or_fake, method, path="", body=None, headers=None):
    """One request on a new connection; `path` is appended to the fake's origin."""
    url = urlsplit(url_or_fake if isinstance(url_or_fake, str) else url_or_fake.url(path))
    conn = http.client.HTTPConnection(url.netloc, timeout=5)
    try:
        conn.request(method, url.path + (f"?{url.query}" if url.query else ""), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def post_json(fake, path, obj, headers=None):
    return call(fake, "POST", path, json.dumps(obj).encode(),
                {"Content-Type": "application/json", **(headers or {})})


def ml_submit(fake, path=T2V_ULTRA, **fields):
    defaults = {"model_id": "veo3", "duration": "8"} if "/v7/" in path else {"model_id": "wan2.2"}
    return post_json(fake, path, {"key": fake.key, "prompt": "a red fox", **defaults, **fields})


def ml_fetch(fake, job_id, family="v6", key=None):
    return post_json(fake, f"{modelslab.FETCH[family]}{job_id}", {"key": key or fake.key})


def bearer(fake, key=None):
    return {"Authorization": f"Bearer {key or fake.key}"}


def eden_submit(fake, key=None, **fields):
    body = {"model": NOVA, "input": {"text": "a red fox"}, **fields}
    return post_json(fake, edenai.ASYNC, body, bearer(fake, key))


def eden_poll(fake, public_id, key=None):
    return call(fake, "GET", f"{edenai.ASYNC}/{public_id}", headers=bearer(fake, key))


def is_mp4(data):
    return data[4:8] == b"ftyp" and data == sample_mp4()


def verify_signature(public_key, body, signature_hex, tmp_path):
    """Eden AI's check (§4), done with the openssl command: canonical JSON, its SHA-256 hex
    digest, then RSA PKCS#1 v1.5 / SHA-256 over that digest."""
    canonical = json.dumps(json.loads(body), sort_keys=True, indent=2, ensure_ascii=False)
    digest_hex = hashlib.sha256(canonical.encode()).hexdigest().encode()
    signature = tmp_path / f"sig-{uuid.uuid4()}"
    signature.write_bytes(bytes.fromhex(signature_hex))
    return subprocess.run(["openssl", "dgst", "-sha256", "-verify", public_key, "-signature",
                           str(signature)], input=digest_hex, capture_output=True).returncode == 0


class Receiver:
    """A webhook receiver: records each POST (path, headers, body) and answers with the next
    of `statuses`, then 200."""

    def __init__(self):
        self.posts, self.statuses = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, self.headers, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(common.POLL_SECONDS,),
                         daemon=True).start()

    def url(self, path="/hook/t0ken"):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- fixtures ------------------------------------------------------------------------------

def _running(fake):
    fake.start()
    yield fake
    fake.stop()
    assert fake.errors == [], "the fake's own code raised"


@pytest.fixture
def ml():
    yield from _running(ModelsLabFake(polls=2))


@pytest.fixture
def eden():
    yield from _running(EdenAIFake(polls=2, webhook_backoff=0.01))


@pytest.fixture(params=["modelslab", "edenai"])
def any_fake(request):
    """Either fake, with `submit()` and `poll(id)` in its own dialect."""
    if request.param == "modelslab":
        fake = ModelsLabFake(polls=1)
        fake.submit = lambda: ml_submit(fake)
        fake.poll = lambda job_id: ml_fetch(fake, job_id)
    else:
        fake = EdenAIFake(polls=1)
        fake.submit = lambda: eden_submit(fake)
        fake.poll = lambda job_id: eden_poll(fake, job_id)
    yield from _running(fake)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


# == ModelsLab ==================================================================================

def test_modelslab_submit_answers_processing_in_the_documented_shape(ml):
    r = ml_submit(ml, negative_prompt="blur", resolution=480, num_frames=81, fps=16, portrait=False)
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    j = r.json
    assert set(j) == {"status", "eta", "message", "fetch_result", "id", "output", "meta",
                      "future_links"}
    assert j["status"] == "processing" and j["output"] == []
    assert type(j["id"]) is int and type(j["eta"]) is float and b'"eta":0.5' in r.body
    assert j["fetch_result"] == f"{ml.base_url}/v6/video/fetch/{j['id']}"
    assert j["future_links"][0].startswith(ml.origin + "/generations/")
    assert j["meta"]["prompt"] == "a red fox" and "key" not in j["meta"]


def test_modelslab_polls_processing_then_success_with_a_real_mp4(ml):
    submitted = ml_submit(ml).json
    future = submitted["future_links"][0]
    assert call(future, "GET").status == 404, "a future link is not downloadable yet"
    fetch_path = urlsplit(submitted["fetch_result"]).path
    for _ in range(2):
        assert post_json(ml, fetch_path, {"key": ml.key}).json["status"] == "processing"
    j = post_json(ml, fetch_path, {"key": ml.key}).json
    assert j["status"] == "success" and j["id"] == submitted["id"]
    assert j["output"] == [future] and isinstance(j["generationTime"], float)
    video = call(j["output"][0], "GET")
    assert video.status == 200 and video.headers["Content-Type"] == "video/mp4"
    assert is_mp4(video.body) and is_mp4(call(j["proxy_links"][0], "GET").body)
    head = call(j["output"][0], "HEAD")
    assert head.body == b"" and int(head.headers["Content-Length"]) == len(video.body)


@pytest.mark.parametrize("path", list(modelslab.SUBMITS))
def test_modelslab_every_submit_endpoint(ml, path):
    fields = {"init_image": "https://example.com/a.png"} if modelslab.SUBMITS[path][1] else {}
    j = ml_submit(ml, path, **fields).json
    family = modelslab.SUBMITS[path][0]
    assert j["status"] == "processing"
    assert j["fetch_result"] == ml.url(f"{modelslab.FETCH[family]}{j['id']}")


def test_modelslab_v7_jobs_are_fetched_on_v7_only(ml):
    job_id = ml_submit(ml, V7_T2V, aspect_ratio="16:9", generate_audio=True).json["id"]
    assert ml_fetch(ml, job_id, "v6").json == modelslab.REQUEST_NOT_FOUND
    assert ml_fetch(ml, job_id, "v7").json["status"] == "processing"


def test_modelslab_instant_success(ml):
    ml.plan(instant=True)
    j = ml_submit(ml).json
    assert j["status"] == "success" and is_mp4(call(j["output"][0], "GET").body)


@pytest.mark.parametrize("auth_http", [401, 200])
def test_modelslab_key_in_the_body_is_checked(auth_http):
    with ModelsLabFake(auth_error_http=auth_http) as fake:
        body = {"model_id": "wan2.2", "prompt": "p"}
        missing = post_json(fake, T2V_ULTRA, body, {"Authorization": f"Bearer {fake.key}"})
        wrong = post_json(fake, T2V_ULTRA, {**body, "key": "nope"})
        assert (missing.status, missing.json) == (auth_http, {"status": "error",
                                                              "message": "API key required"})
        assert (wrong.status, wrong.json) == (auth_http, {"status": "error",
                                                          "message": "Invalid API key"})
        assert fake.jobs == {}


def test_modelslab_fetch_checks_the_key_and_the_owner():
    with ModelsLabFake(keys=("a", "b")) as fake:
        job_id = ml_submit(fake).json["id"]
        assert ml_fetch(fake, job_id, key="nope").status == 401
        assert ml_fetch(fake, job_id, key="b").json == modelslab.REQUEST_NOT_FOUND


@pytest.mark.parametrize("path, fields, message", [
    (T2V_ULTRA, {"prompt": None}, "prompt is required"),
    (T2V_ULTRA, {"prompt": ""}, "prompt is required"),
    (T2V_ULTRA, {"model_id": None}, "model_id is required"),
    ("/api/v6/video/img2video_ultra", {}, "init_image is required"),
    ("/api/v7/video-fusion/image-to-video", {}, "init_image is required"),
    (T2V_ULTRA, {"resolution": "480"}, "resolution must be of type integer"),
    (T2V_ULTRA, {"portrait": 1}, "portrait must be of type boolean"),
    (V7_T2V, {"duration": 8}, "duration must be of type string"),
    (V7_T2V, {"duration": "8s"}, 'duration must be a number of seconds as a string, such as "8"'),
    (V7_T2V, {"model_id": "veo9"}, "Model not found: veo9"),
])
def test_modelslab_refuses_a_bad_submit_with_400(ml, path, fields, message):
    body = {"key": ml.key, "prompt": "p", "model_id": "veo3", **fields}
    r = post_json(ml, path, {k: v for k, v in body.items() if v is not None})
    assert (r.status, r.json) == (400, {"status": "error", "message": message})
    assert ml.jobs == {}


def test_modelslab_refuses_what_is_not_a_json_object(ml):
    assert call(ml, "POST", T2V_ULTRA, b"key=x", {"Content-Type": "text/plain"}).status == 400
    assert post_json(ml, T2V_ULTRA, ["key"]).status == 400
    assert call(ml, "GET", T2V_ULTRA).status == 405
    assert call(ml, "POST", "/api/v6/video/nothing").json == {"status": "error",
                                                              "message": "Not Found"}


def test_modelslab_unknown_id_is_request_not_found(ml):
    r = ml_fetch(ml, 12345)
    assert r.status == 200 and r.json["output"] == "" and r.json["id"] == ""
    assert r.json["status"] == "failed" and r.json["message"] == "Request not found"


def test_modelslab_queue_limit_is_five_unfinished_jobs_per_key():
    with ModelsLabFake(keys=("a", "b"), polls=0) as fake:
        ids = [ml_submit(fake).json["id"] for _ in range(5)]
        refused = ml_submit(fake)
        assert (refused.status, refused.json) == (429, {
            "status": "error", "retry_after": 30,
            "message": "Rate limit exceeded. Maximum 5 queued requests allowed."})
        other_key = {"key": "b", "model_id": "wan2.2", "prompt": "p"}
        assert post_json(fake, T2V_ULTRA, other_key).status == 200
        assert ml_fetch(fake, ids[0]).json["status"] == "success"      # frees one place
        assert ml_submit(fake).status == 200
        assert len(fake.jobs) == 7


@pytest.mark.parametrize("end, status, message", [
    ("error", "error", modelslab.MESSAGES["error"]),
    ("failed", "failed", modelslab.MESSAGES["failed"]),
    ("rejected", "error", modelslab.MESSAGES["rejected"]),
])
def test_modelslab_job_fails_after_its_polls(ml, end, status, message):
    ml.plan(end=end, polls=1)
    j = ml_submit(ml).json
    assert ml_fetch(ml, j["id"]).json["status"] == "processing"
    assert ml_fetch(ml, j["id"]).json == {"status": status, "id": j["id"], "message": message,
                                          "output": []}
    assert call(j["future_links"][0], "GET").status == 404


def test_modelslab_success_without_video_and_never_finishing(ml):
    ml.plan(end="no_video", polls=0)
    ml.plan(end="never")
    empty, stuck = ml_submit(ml).json, ml_submit(ml).json
    j = ml_fetch(ml, empty["id"]).json
    assert (j["status"], j["output"], j["proxy_links"]) == ("success", [], [])
    assert all(ml_fetch(ml, stuck["id"]).json["status"] == "processing" for _ in range(6))


def test_modelslab_string_id_messege_and_eta_on_demand(ml):
    ml.plan(string_id=True, messege=True, end="failed", polls=0, eta=3, message="boom")
    j = ml_submit(ml).json
    assert j["id"] == str(ml.last_job.id) and j["eta"] == 3.0
    failed = ml_fetch(ml, j["id"]).json
    assert failed == {"status": "failed", "id": j["id"], "messege": "boom", "output": []}


def test_modelslab_job_ends_after_seconds_without_polls(ml):
    ml.plan(polls=None, after=0.2)
    job_id = ml_submit(ml).json["id"]
    assert ml_fetch(ml, job_id).json["status"] == "processing"
    time.sleep(0.3)
    assert ml_fetch(ml, job_id).json["status"] == "success"


def test_modelslab_scripted_replies_in_its_shapes(ml):
    ml.script("submit", modelslab.rate_limited(None), modelslab.rate_limited(12, header=True),
              modelslab.server_error(500), modelslab.server_error(503), modelslab.no_credits(),
              modelslab.error(400, "bad", messege=True))
    replies = [ml_submit(ml) for _ in range(7)]
    assert [r.status for r in replies] == [429, 429, 500, 503, 402, 400, 200]
    assert "retry_after" not in replies[0].json and "Retry-After" not in replies[0].headers
    assert replies[1].json["retry_after"] == 12 and replies[1].headers["Retry-After"] == "12"
    assert replies[2].json == {"status": "error", "message": "Internal Server Error"}
    assert replies[5].json == {"status": "error", "messege": "bad"}
    assert len(ml.jobs) == 1, "a scripted reply replaces the endpoint"


# -- ModelsLab webhooks (§4) -------------------------------------------------------------------

def test_modelslab_webhook_on_success_with_track_id(ml, receiver):
    ml.plan(polls=0)
    j = ml_submit(ml, webhook=receiver.url(), track_id="gen-42").json
    ml_fetch(ml, j["id"])
    [delivery] = ml.wait_deliveries(1)
    assert delivery.status == 200 and not delivery.forged
    body = json.loads(receiver.posts[0][2])
    assert receiver.posts[0][0] == "/hook/t0ken"
    assert body == {"status": "success", "id": str(j["id"]), "output": j["future_links"],
                    "generationTime": body["generationTime"], "track_id": "gen-42",
                    "meta": j["meta"]}


def test_modelslab_webhook_twice_on_failure_and_none_on_v7(ml, receiver):
    ml.plan(polls=0, end="failed", webhooks=2)
    j = ml_submit(ml, webhook=receiver.url(), track_id="t").json
    v7 = ml_submit(ml, V7_T2V, webhook=receiver.url()).json
    ml_fetch(ml, j["id"])
    for _ in range(4):
        ml_fetch(ml, v7["id"], "v7")
    first, second = ml.wait_deliveries(2)
    assert first.json == second.json == {"status": "failed", "id": str(j["id"]),
                                         "message": modelslab.MESSAGES["failed"], "track_id": "t"}
    time.sleep(0.1)
    assert len(ml.deliveries) == 2, "v7 webhooks are not documented, so not sent"


def test_modelslab_webhook_without_polling(ml, receiver):
    ml.plan(polls=None, after=0.1)
    ml_submit(ml, webhook=receiver.url())
    assert ml.wait_deliveries(1)[0].json["status"] == "success"
    assert ml.requests("poll") == []


def test_modelslab_forged_and_replayed_webhooks(ml, receiver):
    j = ml_submit(ml, webhook=receiver.url(), track_id="t").json
    with pytest.raises(ValueError):
        ml.send_webhook(j["id"])
    ml.forge_webhook(j["id"])
    [forged] = ml.wait_deliveries(1)
    assert forged.forged and forged.json["status"] == "success" and forged.json["track_id"] == "t"
    assert "/generations/forged-" in forged.json["output"][0]
    assert call(forged.json["output"][0], "GET").status == 404
    assert ml_fetch(ml, j["id"]).json["status"] == "processing", "the fetch tells the truth"
    ml.plan(polls=0)
    done = ml_submit(ml, webhook=receiver.url()).json
    ml_fetch(ml, done["id"])
    ml.wait_deliveries(2)
    ml.send_webhook(done["id"])
    assert ml.wait_deliveries(3)[2].json == ml.deliveries[1].json


# == Eden AI ==================================================================================

def test_edenai_submit_answers_202_processing(eden):
    r = eden_submit(eden, input={"text": "a fox", "duration": 6, "dimension": "1280x720",
                                 "seed": 7})
    assert r.status == 202
    j = r.json
    assert uuid.UUID(j["public_id"]) and j["status"] == "processing" and j["cost"] == "0"
    assert (j["provider"], j["model"], j["feature"], j["subfeature"]) == (
        "amazon", "amazon.nova-reel-v1:1", "video", "generation_async")
    assert j["output"] is None and "error" not in j
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", j["created_at"])


def test_edenai_polls_processing_then_success_with_a_real_mp4(eden):
    public_id = eden_submit(eden).json["public_id"]
    for _ in range(2):
        assert eden_poll(eden, public_id).json["status"] == "processing"
    j = eden_poll(eden, public_id).json
    assert j["status"] == "success" and j["cost"] == "0.48" and "error" not in j
    assert set(j["output"]) == {"video", "video_resource_url"}
    video = call(j["output"]["video_resource_url"], "GET")
    assert video.status == 200 and is_mp4(video.body)
    assert base64.b64decode(j["output"]["video"]) == video.body
    assert "Expires=" in j["output"]["video_resource_url"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": f"Token {edenai.KEY}"},
                                     {"Authorization": edenai.KEY}])
def test_edenai_bearer_is_checked(eden, headers):
    body = json.dumps({"model": NOVA, "input": {"text": "p"}}).encode()
    for method, path in (("POST", edenai.ASYNC), ("GET", edenai.ASYNC),
                         ("GET", f"{edenai.ASYNC}/{uuid.uuid4()}")):
        r = call(eden, method, path, body if method == "POST" else None,
                 {"Content-Type": "application/json", **headers})
        assert (r.status, r.json) == (401, {"detail": "Invalid or missing authentication token",
                                            "error_code": "UNAUTHORIZED"})
    assert eden.jobs == {}


@pytest.mark.parametrize("model", ["video/generation_async/runwayml",
                                   "video/generation_async/kling",
                                   "video/generation_async/amazon/amazon.nova-reel-v9",
                                   "image/generation/amazon", "amazon", "video/generation_async/"])
def test_edenai_refuses_a_model_it_does_not_offer(eden, model):
    r = eden_submit(eden, model=model)
    assert r.status == 400 and r.json["error_code"] == "INVALID_MODEL"


@pytest.mark.parametrize("fields, loc, kind", [
    ({"input": {}}, ["body", "input", "text"], "missing"),
    ({"input": {"text": 5}}, ["body", "input", "text"], "string_type"),
    ({"input": {"text": "p", "duration": "6"}}, ["body", "input", "duration"], "int_type"),
    ({"input": {"text": "p", "duration": 0}}, ["body", "input", "duration"], "greater_than_equal"),
    ({"input": {"text": "p", "dimension": "big"}}, ["body", "input", "dimension"],
     "string_pattern_mismatch"),
    ({"input": {"text": "p", "seed": -1}}, ["body", "input", "seed"], "less_than_equal"),
    ({"model": None}, ["body", "model"], "missing"),
    ({"input": "a fox"}, ["body", "input"], "dict_type"),
    ({"webhook_receiver": "ftp://x"}, ["body", "webhook_receiver"], "url_parsing"),
    ({"fallbacks": ["a", "b", "c", "d"]}, ["body", "fallbacks"], "too_long"),
])
def test_edenai_refuses_a_bad_body_with_422(eden, fields, loc, kind):
    body = {"model": NOVA, "input": {"text": "p"}, **fields}
    body = {k: v for k, v in body.items() if v is not None}
    r = post_json(eden, edenai.ASYNC, body, bearer(eden))
    assert r.status == 422
    assert [(e["loc"], e["type"]) for e in r.json["detail"]] == [(loc, kind)]
    assert eden.jobs == {}


def test_edenai_refuses_what_is_not_json(eden):
    r = call(eden, "POST", edenai.ASYNC, b"{not json", {"Content-Type": "application/json",
                                                        **bearer(eden)})
    assert r.status == 422 and r.json["detail"][0]["type"] == "json_invalid"
    assert call(eden, "PUT", edenai.ASYNC, b"", bearer(eden)).status == 405
    assert call(eden, "GET", "/v2/video/generation_async").json == {"detail": "Not Found"}


def test_edenai_unknown_ids_other_keys_delete_and_list():
    with EdenAIFake(keys=("a", "b")) as fake:
        first = eden_submit(fake).json["public_id"]
        second = eden_submit(fake).json["public_id"]
        assert eden_poll(fake, str(uuid.uuid4())).json == {"detail": "Async job not found",
                                                           "error_code": "NOT_FOUND"}
        assert eden_poll(fake, first, key="b").status == 404
        bad = eden_poll(fake, "123")
        assert bad.status == 422 and bad.json["detail"][0]["loc"] == ["path", "job_id"]
        listed = call(fake, "GET", f"{edenai.ASYNC}?status=processing", headers=bearer(fake)).json
        assert [i["public_id"] for i in listed["items"]] == [second, first]
        assert [listed[k] for k in ("total", "page", "limit", "total_pages")] == [2, 1, 100, 1]
        deleted = call(fake, "DELETE", f"{edenai.ASYNC}/{first}", headers=bearer(fake))
        assert deleted.status == 200 and eden_poll(fake, first).status == 404


@pytest.mark.parametrize("end, status, message", [
    ("fail", "fail", edenai.MESSAGES["fail"].format(provider="amazon")),
    ("failed", "failed", edenai.MESSAGES["failed"].format(provider="amazon")),
    ("rejected", "fail", edenai.MESSAGES["rejected"].format(provider="amazon")),
])
def test_edenai_job_fails_after_its_polls(eden, end, status, message):
    eden.plan(end=end, polls=1)
    public_id = eden_submit(eden).json["public_id"]
    assert eden_poll(eden, public_id).json["status"] == "processing"
    j = eden_poll(eden, public_id).json
    assert (j["status"], j["error"], j["output"], j["cost"]) == (status, {"message": message},
                                                                 None, "0")


def test_edenai_success_without_video_and_never_finishing(eden):
    eden.plan(end="no_video", polls=0)
    eden.plan(end="never")
    empty, stuck = eden_submit(eden).json["public_id"], eden_submit(eden).json["public_id"]
    j = eden_poll(eden, empty).json
    assert j["status"] == "success" and j["output"] == {"video": None, "video_resource_url": None}
    assert all(eden_poll(eden, stuck).json["status"] == "processing" for _ in range(6))


@pytest.mark.parametrize("job_input, why", [
    ({"text": "p", "dimension": "1920x1080"}, "1280x720"),
    ({"text": "p", "duration": 10}, "6 s"),
    ({"text": "p" * 513}, "512"),
])
def test_edenai_nova_reel_refuses_what_amazon_cannot_make(eden, job_input, why):
    eden.plan(polls=0)
    public_id = eden_submit(eden, input=job_input).json["public_id"]
    j = eden_poll(eden, public_id).json
    assert j["status"] == "fail" and why in j["error"]["message"]


def test_edenai_scripted_replies_in_its_shapes(eden):
    eden.script("submit", edenai.no_credits(), edenai.rate_limited(), edenai.rate_limited(None),
                edenai.rate_limited(2.5, header=True), edenai.server_error(),
                edenai.provider_error())
    replies = [eden_submit(eden) for _ in range(7)]
    assert [r.status for r in replies] == [402, 429, 429, 429, 500, 502, 202]
    assert replies[0].json == {"detail": "User does not have sufficient credits",
                               "error_code": "INSUFFICIENT_CREDIT", "required_credits": 0.48,
                               "available_credits": 0.0}
    assert replies[1].json == {"detail": "Rate limit exceeded", "error_code": "RATE_LIMITED",
                               "retry_after": 1.5}
    assert "Retry-After" not in replies[1].headers and "retry_after" not in replies[2].json
    assert replies[3].headers["Retry-After"] == "3"
    assert replies[4].body == b"Internal Server Error" and replies[4].json is None
    assert replies[5].json["error_code"] == "PROVIDER_ERROR"


# -- Eden AI webhooks (§4) ---------------------------------------------------------------------

def test_edenai_webhook_is_signed_as_documented(eden, receiver, tmp_path):
    eden.plan(polls=0)
    public_id = eden_submit(eden, webhook_receiver=receiver.url(),
                            user_webhook_parameters={"generation": "g1"}).json["public_id"]
    eden_poll(eden, public_id)
    eden.wait_deliveries(1)
    path, headers, body = receiver.posts[0]
    assert headers["User-Agent"] == "EdenAI/Ai-Features" and headers["X-Edenai-Webhook"] == "true"
    assert headers["X-Edenai-Hash-Algorithm"] == "SHA256"
    assert headers["Content-Type"] == "application/json"
    assert verify_signature(eden.webhook_public_key_path, body, headers["X-Edenai-Signature"],
                            tmp_path)
    payload = json.loads(body)
    assert payload == {"event": "async_job_completed", "job_id": public_id, "status": "success",
                       "feature": "video", "subfeature": "generation_async", "provider": "amazon",
                       "model": "amazon.nova-reel-v1:1", "created_at": payload["created_at"],
                       "finished_at": payload["finished_at"],
                       "user_parameters": {"generation": "g1"},
                       "output": eden_poll(eden, public_id).json["output"]}
    assert body != edenai.canonical_json(payload), "sent as plain JSON, signed canonical"
    assert eden.webhook_public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_edenai_webhook_retries_5xx_and_no_answer_but_not_4xx(receiver):
    with EdenAIFake(polls=0, webhook_backoff=0.01) as fake:
        receiver.statuses = [500, 503, 200, 404]
        first = eden_submit(fake, webhook_receiver=receiver.url()).json["public_id"]
        eden_poll(fake, first)
        assert [d.status for d in fake.wait_deliveries(3)] == [500, 503, 200]
        second = eden_submit(fake, webhook_receiver=receiver.url()).json["public_id"]
        eden_poll(fake, second)
        assert fake.wait_deliveries(4)[3].status == 404
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            nobody = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
            third = eden_submit(fake, webhook_receiver=nobody).json["public_id"]
            eden_poll(fake, third)
            tries = fake.wait_deliveries(8)[4:]
        assert all(d.status is None and d.error for d in tries), "1 try + 3 retries"
        time.sleep(0.1)
        assert len(fake.deliveries) == 8


def test_edenai_webhook_twice_on_failure(eden, receiver, tmp_path):
    eden.plan(polls=0, end="fail", webhooks=2)
    public_id = eden_submit(eden, webhook_receiver=receiver.url()).json["public_id"]
    eden_poll(eden, public_id)
    first, second = eden.wait_deliveries(2)
    assert first.json == second.json and first.json["status"] == "fail"
    assert first.json["error"] == {"message": edenai.MESSAGES["fail"].format(provider="amazon")}
    assert "output" not in first.json
    assert verify_signature(eden.webhook_public_key_path, second.body,
                            second.headers["X-Edenai-Signature"], tmp_path)


@pytest.mark.parametrize("how", ["bad_signature", "unsigned", "tampered"])
def test_edenai_forged_webhooks_do_not_verify(eden, receiver, tmp_path, how):
    public_id = eden_submit(eden, webhook_receiver=receiver.url()).json["public_id"]
    eden.forge_webhook(public_id, how)
    [forged] = eden.wait_deliveries(1)
    assert forged.forged and forged.json["status"] == "success"
    assert "/cdn/forged-" in forged.json["output"]["video_resource_url"]
    signature = forged.headers.get("X-Edenai-Signature")
    assert (signature is None) == (how == "unsigned")
    assert signature is None or not verify_signature(eden.webhook_public_key_path, forged.body,
                                                     signature, tmp_path)
    assert eden_poll(eden, public_id).json["status"] == "processing"


def test_edenai_replayed_webhook_is_the_genuine_one(eden, receiver, tmp_path):
    eden.plan(polls=0)
    public_id = eden_submit(eden, webhook_receiver=receiver.url()).json["public_id"]
    eden_poll(eden, public_id)
    eden.wait_deliveries(1)
    eden.send_webhook(public_id)
    first, replay = eden.wait_deliveries(2)
    assert replay.json == first.json and not replay.forged
    assert verify_signature(eden.webhook_public_key_path, replay.body,
                            replay.headers["X-Edenai-Signature"], tmp_path)


# == Both: scripting, recording, the connection, stopping, the command =====================

def test_faults_on_the_wire(any_fake):
    any_fake.script("submit", Truncated(), Reset(), Reset(processed=True), garbage(),
                    html_page(503), Delay(0.3))
    with pytest.raises(http.client.IncompleteRead):
        any_fake.submit()
    for _ in range(2):
        with pytest.raises(ConnectionResetError):
            any_fake.submit()
    assert len(any_fake.jobs) == 2, "a truncated reply and a processed reset still made jobs"
    junk = any_fake.submit()
    assert junk.status == 200 and junk.json is None
    page = any_fake.submit()
    assert page.status == 503 and page.headers["Content-Type"] == "text/html"
    assert b"503 Service Unavailable" in page.body
    started = time.monotonic()
    assert any_fake.submit().json["status"] == "processing"
    assert time.monotonic() - started >= 0.3
    accepted = 200 if isinstance(any_fake, ModelsLabFake) else 202
    assert [r.status for r in any_fake.requests("submit")] == [accepted, None, None, 200, 503,
                                                               accepted]


def test_scripts_are_consumed_in_order_and_always_persists(any_fake):
    any_fake.submit()
    job_id = any_fake.last_job.id
    any_fake.script("poll", PASS, html_page(500))
    any_fake.script("/nowhere/*", html_page(502))
    assert [any_fake.poll(job_id).status for _ in range(3)] == [200, 500, 200]
    any_fake.always("poll", Delay(0.01, html_page(504)))
    assert [any_fake.poll(job_id).status for _ in range(3)] == [504] * 3
    any_fake.clear_script()
    assert any_fake.poll(job_id).status == 200
    assert [type(r.action).__name__ for r in any_fake.requests("poll")] == [
        "Pass", "Reply", "Pass", "Delay", "Delay", "Delay", "Pass"]


def test_a_result_url_that_403s(any_fake):
    any_fake.plan(polls=0)
    any_fake.submit()
    polled = any_fake.poll(any_fake.last_job.id).json
    output = polled["output"]
    url = output[0] if isinstance(output, list) else output["video_resource_url"]
    any_fake.script("video", expired())
    denied = call(url, "GET")
    assert denied.status == 403 and b"AccessDenied" in denied.body
    assert call(url, "GET").status == 200


def test_requests_are_recorded_with_their_json(any_fake):
    any_fake.submit()
    call(any_fake, "GET", "/somewhere")
    [submit] = any_fake.requests("submit")
    assert submit.method == "POST" and submit.json == json.loads(submit.body)
    assert submit.headers.get("content-type") == "application/json"
    assert any_fake.requests(submit.path) == [submit] and any_fake.requests("submit", "GET") == []
    assert any_fake.requests("unknown")[0].path == "/somewhere"
    assert [r.kind for r in any_fake.requests()] == ["submit", "unknown"]
    assert any_fake.requests()[0].time <= any_fake.requests()[1].time


def test_keep_alive_and_chunked_bodies(ml):
    conn = http.client.HTTPConnection("127.0.0.1", ml.port, timeout=5)
    body = json.dumps({"key": ml.key, "model_id": "wan2.2", "prompt": "p"}).encode()
    sockets = []
    for _ in range(2):
        conn.request("POST", T2V_ULTRA, body=iter([body[:10], body[10:]]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["status"] == "processing"
        sockets.append(conn.sock)
    conn.close()
    assert sockets[0] is sockets[1], "one connection for both"
    assert [r.json["prompt"] for r in ml.requests("submit")] == ["p", "p"]


def test_stop_is_bounded_with_a_slow_reply_and_an_idle_connection():
    fake = ModelsLabFake().start()
    fake.script("submit", Delay(30))
    idle = socket.create_connection(("127.0.0.1", fake.port), timeout=3)
    outcome = []
    slow = threading.Thread(target=lambda: outcome.append(_outcome(ml_submit, fake)), daemon=True)
    slow.start()
    while not fake.requests("submit"):
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 3
    slow.join(3)
    assert isinstance(outcome[0], (http.client.HTTPException, OSError)), "no late reply"
    closed = _outcome(idle.recv, 1)
    assert closed == b"" or isinstance(closed, ConnectionResetError), "the idle one is closed"
    idle.close()
    fake.stop()


def _outcome(function, *args):
    """What function(*args) returns, or the exception it raises."""
    try:
        return function(*args)
    except Exception as exc:
        return exc


@pytest.mark.parametrize("module", ["modelslab", "edenai"])
def test_the_command(module):
    proc = subprocess.Popen([sys.executable, str(HERE / f"{module}.py"), "--port", "0",
                             "--polls", "0", "--key", "k"], stdout=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+(/api)?", base_url)
        if module == "modelslab":
            body = json.dumps({"key": "k", "model_id": "wan2.2", "prompt": "p"}).encode()
            r = call(base_url + "/v6/video/text2video_ultra", "POST", body=body,
                     headers={"Content-Type": "application/json"})
        else:
            body = json.dumps({"model": NOVA, "input": {"text": "p"}}).encode()
            r = call(base_url + edenai.ASYNC, "POST", body=body,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer k"})
        assert r.json["status"] == "processing"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_the_sample_video_is_a_real_h264_mp4():
    path = common.cached_file("sample.mp4", common._make_mp4)
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,width,height", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["streams"][0] == {"codec_name": "h264", "width": 320, "height": 240}


def test_a_stopped_fake_refuses_connections_then_restarts_with_its_jobs():
    with ModelsLabFake(polls=0) as fake:
        job_id = ml_submit(fake).json["id"]
        fake.stop()
        with pytest.raises(ConnectionRefusedError):
            ml_fetch(fake, job_id)
        fake.start()
        assert ml_fetch(fake, job_id).json["status"] == "success"
