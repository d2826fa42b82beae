"""The direct Runway and Kling providers end to end: the real server against the fakes of
tests/fakes (runway.py, kling.py, which follow shared/providers/runway.md and kling.md).

`runway-gen3` and `kling-2.5` complete from text and from uploaded images (reaching the
provider as signed links to this server); the exact JSON each provider received is checked,
with Runway's version header and Kling's signed token; each provider's faults end as the
lifecycle says (DESIGN §6): permanent ones failed and refunded once, passing ones retried."""

import json
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import assert_ok, free_port
from pipeline import balance, generate, ledger_rows, make_project, probe, status, wait_for
from test_uploads import upload

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import kling  # noqa: E402
import runway  # noqa: E402
from common import html_page  # noqa: E402

DONE = 90  # seconds: Runway is polled no faster than every 5 s
LINK = "/api/apps/video-generator/public/images/"


def frame(tmp_path_factory, source):
    path = tmp_path_factory.mktemp("pic") / "frame.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size=1280x720",
                    "-frames:v", "1", str(path)], check=True, timeout=60)
    return path.read_bytes()


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    return frame(tmp_path_factory, "testsrc2")


@pytest.fixture(scope="module")
def last_frame(tmp_path_factory):
    return frame(tmp_path_factory, "testsrc")


@pytest.fixture
def rw():
    with runway.RunwayFake(polls=0) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def kl():
    with kling.KlingFake(polls=0, after=0.3) as fake:
        yield fake
    assert not fake.errors, fake.errors


def keys(rw, kl):
    return {"RUNWAY_API_KEY": runway.KEY, "RUNWAY_BASE_URL": rw.base_url,
            "KLING_ACCESS_KEY": kling.ACCESS_KEY, "KLING_SECRET_KEY": kling.SECRET_KEY,
            "KLING_BASE_URL": kl.base_url}


@pytest.fixture
def srv(make_server, rw, kl):
    port = free_port()
    s = make_server(port=port, extra_env={**keys(rw, kl), "VIDGEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
                                          "VIDGEN_ADMIN_CREDITS": 1000000})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    s.public_url = f"http://127.0.0.1:{port}"
    return s


def submit(s, model, **fields):
    fields.setdefault("duration", 10 if model == "runway-gen3" else 5)
    return assert_ok(generate(s, s.token, s.project, modelId=model, **fields), 201)["generation"]


def submit_in_order(s, fake, model, **fields):
    """Submits and waits until the fake has the request, so that plans apply in order."""
    n = len(fake.requests("submit"))
    gen = submit(s, model, **fields)
    deadline = time.monotonic() + 10
    while len(fake.requests("submit")) == n and time.monotonic() < deadline:
        time.sleep(0.02)
    return gen


def ends(s, gen):
    return wait_for(s, s.token, gen["id"], timeout=DONE)


def refunded_once(s, gen):
    rows = ledger_rows(s, gen["id"])
    return [k for k, _ in rows] == ["charge", "refund"] and sum(a for _, a in rows) == 0


def completed_with_video(s, gen):
    done = ends(s, gen)
    assert done["status"] == "completed", done
    codec, w, h, secs = probe(s.data_dir / "videos" / f"{gen['id']}.mp4")
    assert codec == "h264" and w > 0 and secs > 0


def is_link(s, url, upload_reply):
    tail = upload_reply["filePath"][len("/uploads/video-generator/"):]
    return url.startswith(f"{s.public_url}{LINK}{tail}?exp=")


# -- completing ----------------------------------------------------------------------------------

def test_runway_gen3_completes_from_text_and_from_a_start_image_with_the_exact_requests(srv, rw, picture):
    u = assert_ok(upload(srv, srv.token, picture), 201)
    text = submit_in_order(srv, rw, "runway-gen3", prompt="a red fox in the snow")
    image = submit_in_order(srv, rw, "runway-gen3", prompt="it turns its head", startImageId=u["uploadId"],
                            aspectRatio="9:16", duration=5)
    completed_with_video(srv, text)
    completed_with_video(srv, image)
    t2v, i2v = rw.requests("submit")
    for sent in (t2v, i2v):
        assert sent.headers.get("Authorization") == f"Bearer {runway.KEY}"
        assert sent.headers.get("X-Runway-Version") == "2024-11-06"
    assert t2v.path == "/v1/text_to_video"
    assert t2v.json == {"model": "gen4.5", "promptText": "a red fox in the snow", "ratio": "1280:720",
                        "duration": 10}
    assert i2v.path == "/v1/image_to_video"
    link = i2v.json.pop("promptImage")
    assert i2v.json == {"model": "gen4_turbo", "promptText": "it turns its head", "ratio": "720:1280",
                        "duration": 5}
    assert is_link(srv, link, u)
    assert [f.data for f in rw.image_fetches] == [picture]
    assert len(rw.jobs) == 2
    for job in rw.jobs.values():  # Runway's tasks change at most every 5 s: never polled faster
        times = [r.time for r in rw.requests("submit") + rw.requests("poll")
                 if (r.json or {}).get("promptText") == job.request["promptText"] or r.path.endswith(job.id)]
        assert all(b - a >= 4.9 for a, b in zip(times, times[1:])), times
    srv.check_ledger()


def test_kling_completes_from_text_and_from_start_and_end_frames_with_the_exact_requests(srv, kl, picture,
                                                                                         last_frame):
    start = assert_ok(upload(srv, srv.token, picture), 201)
    end = assert_ok(upload(srv, srv.token, last_frame, type_="end"), 201)
    text = submit_in_order(srv, kl, "kling-2.5", prompt="a red fox", negativePrompt="blur", aspectRatio="1:1")
    frames = submit_in_order(srv, kl, "kling-2.5", prompt="turns", resolution="1080p", duration=10,
                             startImageId=start["uploadId"], endImageId=end["uploadId"])
    completed_with_video(srv, text)
    completed_with_video(srv, frames)
    t2v, i2v = kl.requests("submit")
    for sent in (t2v, i2v):
        head, claims = kling.decode_token(sent.headers.get("Authorization").partition(" ")[2])
        assert head == {"alg": "HS256", "typ": "JWT"} and claims["iss"] == kling.ACCESS_KEY
        assert claims["exp"] - claims["nbf"] == 1805 and abs(claims["nbf"] + 5 - sent_wall(sent)) <= 5
        assert sent.json.pop("callback_url").startswith(f"{srv.public_url}/api/apps/video-generator/webhooks/kling/")
    assert t2v.path == "/v1/videos/text2video"
    assert t2v.json == {"model_name": "kling-v2-5-turbo", "prompt": "a red fox", "negative_prompt": "blur",
                        "mode": "std", "aspect_ratio": "1:1", "duration": "5", "external_task_id": text["id"]}
    assert i2v.path == "/v1/videos/image2video"
    links = i2v.json.pop("image"), i2v.json.pop("image_tail")
    assert i2v.json == {"model_name": "kling-v2-5-turbo", "prompt": "turns", "mode": "pro", "duration": "10",
                        "external_task_id": frames["id"]}
    assert is_link(srv, links[0], start) and is_link(srv, links[1], end)
    polls = kl.requests("poll")
    assert polls and all(p.path.startswith(("/v1/videos/text2video/", "/v1/videos/image2video/")) for p in polls)
    assert kl.deliveries and all(d.status == 200 for d in kl.deliveries), kl.deliveries
    for gen in (text, frames):  # the fake's final_unit_deduction "1", kept with the attempt in Kling's unit
        [attempt] = assert_ok(srv.api("GET", f"/generations/{gen['id']}", token=srv.token))["generation"]["attempts"]
        assert (attempt["provider"], attempt["cost"], attempt["costUnit"]) == ("kling", "1", "units"), attempt
    srv.check_ledger()


def sent_wall(req):
    """The wall-clock time a recorded request arrived (the record keeps monotonic time)."""
    return time.time() - (time.monotonic() - req.time)


def test_kling_end_frame_at_720p_is_refused_before_any_charge(srv, kl, picture):
    end = assert_ok(upload(srv, srv.token, picture, type_="end"), 201)
    before = balance(srv, srv.token)
    r = generate(srv, srv.token, srv.project, modelId="kling-2.5", resolution="720p", duration=5,
                 endImageId=end["uploadId"])
    assert r.status == 422 and json.loads(r.body)["error"]["field"] in ("endImageId", "endImagePath"), r
    assert balance(srv, srv.token) == before and kl.requests("submit") == []


# -- faults ----------------------------------------------------------------------------------------

def test_runway_failure_codes_end_as_the_lifecycle_says(srv, rw):
    before = balance(srv, srv.token)
    rw.plan(end="rejected")                                   # SAFETY.INPUT.TEXT: never retried
    unsafe = submit_in_order(srv, rw, "runway-gen3", prompt="unsafe")
    rw.plan(end="failed", failure_code=None)                  # no code: a final provider failure
    no_code = submit_in_order(srv, rw, "runway-gen3", prompt="no code")
    rw.script("submit", runway.no_credits())
    broke = submit_in_order(srv, rw, "runway-gen3", prompt="no credits")
    rw.script("poll", runway.server_error(502), html_page(504))
    busy = submit_in_order(srv, rw, "runway-gen3", prompt="busy")
    for gen, words in ((unsafe, "moderation"), (no_code, "failed"), (broke, "credits")):
        done = ends(srv, gen)
        assert done["status"] == "failed" and "Runway" in done["errorMessage"], done
        assert words in done["errorMessage"], done
        assert refunded_once(srv, gen)
    completed_with_video(srv, busy)
    assert len(rw.jobs) == 3, "a submit was sent twice"
    assert balance(srv, srv.token) == before - ledger_total(srv, busy)
    srv.check_ledger()


def ledger_total(s, gen):
    return -sum(a for _, a in ledger_rows(s, gen["id"]))


def test_kling_codes_end_as_the_lifecycle_says(srv, kl):
    before = balance(srv, srv.token)
    kl.script("submit", kling.error(1301))                   # content safety: final
    unsafe = submit_in_order(srv, kl, "kling-2.5", prompt="unsafe")
    kl.script("submit", kling.error(1102))                   # billing, a 429 all the same: final
    broke = submit_in_order(srv, kl, "kling-2.5", prompt="no pack")
    kl.plan(end="failed")                                    # the task itself fails
    failed = submit_in_order(srv, kl, "kling-2.5", prompt="fails")
    kl.script("submit", kling.error(1302, headers={"Retry-After": "1"}))  # rate limit: later
    limited = submit_in_order(srv, kl, "kling-2.5", prompt="limited")
    for gen, words in ((unsafe, "content"), (broke, "pay"), (failed, "task failed")):
        done = ends(srv, gen)
        assert done["status"] == "failed" and "Kling" in done["errorMessage"], done
        assert words in done["errorMessage"], done
        assert refunded_once(srv, gen)
    completed_with_video(srv, limited)
    assert [r.json["prompt"] for r in kl.requests("submit")].count("limited") == 2
    assert len(kl.jobs) == 2
    assert balance(srv, srv.token) == before - ledger_total(srv, limited)
    srv.check_ledger()


def test_kling_server_errors_while_polling_are_retried(srv, kl):
    kl.always("poll", kling.error(5001))
    kl.plan(after=None, polls=0, webhooks=0)
    gen = submit_in_order(srv, kl, "kling-2.5", prompt="retry me")
    deadline = time.monotonic() + 30
    while len(kl.requests("poll")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    kl.clear_script()
    completed_with_video(srv, gen)
    assert [r.status for r in kl.requests("poll")][:2] == [503, 503]
    assert len(kl.jobs) == 1


# -- listing ---------------------------------------------------------------------------------------

def by_id(s):
    return {m["id"]: m for m in assert_ok(s.api("GET", "/models"))["models"]}


def test_models_and_providers_show_both_with_keys_and_the_reason_without(make_server, rw, kl):
    s = make_server(extra_env=keys(rw, kl))
    m = by_id(s)
    for mid in ("runway-gen3", "kling-2.5"):
        assert m[mid]["available"] is True and m[mid]["unavailableReason"] is None, m[mid]
    listed = {p["name"]: p for p in assert_ok(s.api("GET", "/providers", token=s.admin_token))["providers"]}
    assert listed["runway"]["available"] is True and listed["runway"]["displayName"] == "Runway"
    assert listed["kling"]["available"] is True and listed["kling"]["displayName"] == "Kling AI"
    assert listed["runway"]["limits"] == {"maxInFlight": 2, "requestsPerMinute": 60}
    assert listed["kling"]["limits"] == {"maxInFlight": 5, "requestsPerMinute": 60}
    reply = s.api("GET", "/providers", token=s.admin_token).body.decode()
    assert runway.KEY not in reply and kling.SECRET_KEY not in reply

    bare = make_server(extra_env={"KLING_ACCESS_KEY": kling.ACCESS_KEY, "KLING_SECRET_KEY": kling.SECRET_KEY,
                                  "RUNWAY_MAX_IN_FLIGHT": 7})
    m = by_id(bare)
    assert m["runway-gen3"]["available"] is False and "RUNWAY_API_KEY" in m["runway-gen3"]["unavailableReason"]
    assert m["kling-2.5"]["available"] is True
    listed = {p["name"]: p for p in assert_ok(bare.api("GET", "/providers", token=bare.admin_token))["providers"]}
    assert listed["runway"]["available"] is False and "RUNWAY_API_KEY" in listed["runway"]["unavailableReason"]
    assert listed["runway"]["limits"]["maxInFlight"] == 7


# -- each provider its own limits --------------------------------------------------------------------

def providers(s):
    return {p["name"]: p for p in assert_ok(s.api("GET", "/providers", token=s.token))["providers"]}


def test_a_failing_provider_holds_back_no_other(srv, rw, kl):
    # Every Runway poll fails: its circuit opens. Kling, with limits of its own, goes on: its
    # generation is submitted and completes while Runway's circuit is still open.
    rw.always("poll", runway.server_error(503))
    gens = [submit(srv, "runway-gen3", prompt=f"down {i}") for i in range(5)]
    deadline = time.monotonic() + 60
    while providers(srv)["runway"]["health"]["circuit"] != "open":
        assert time.monotonic() < deadline, providers(srv)["runway"]
        time.sleep(0.2)
    assert providers(srv)["kling"]["health"]["circuit"] == "closed"
    gen = submit(srv, "kling-2.5")
    assert ends(srv, gen)["status"] == "completed"
    assert providers(srv)["runway"]["health"]["circuit"] == "open", "the test needs Runway's circuit open throughout"
    assert providers(srv)["kling"]["health"]["lastSuccessAt"] is not None
    for g in gens:  # Runway's jobs wait, not fail
        assert status(srv, srv.token, g["id"])["status"] == "processing"
    srv.check_ledger()
