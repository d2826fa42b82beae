"""Provider callbacks (webhooks) end to end: the real server against the fake ModelsLab and
Eden AI (tests/fakes), with VIDGEN_PUBLIC_URL pointing at the server itself, so that the
fakes' callbacks reach POST /webhooks/:provider/:token.

A callback never carries trust: with the right token it makes the worker poll the provider at
once, and that poll is what the job goes by. So a callback completes a job long before
polling would have; a duplicate completes it once; a forged "success" does not complete a job
the provider has not finished; an Eden AI callback without a good signature changes nothing;
and every other callback — wrong token, another generation's token, garbage, a replay after
completion, the wrong provider — gets the very same answer as an accepted one and changes
nothing in the database."""

import json
import pathlib
import secrets
import sys
import time
from urllib.parse import urlsplit

import pytest

from conftest import PREFIX, assert_ok, free_port
from pipeline import generate, ledger_rows, make_project, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import edenai  # noqa: E402
import modelslab  # noqa: E402

ML_MODEL = "wan2.2-t2v"  # ModelsLab v6: its callbacks are documented (the fake sends v6 ones)
ETA = 25                 # seconds ModelsLab's "processing" asks to wait: polls are 20-30 s apart
QUICK = 12               # seconds within which a callback must have finished a job


@pytest.fixture
def ml():
    # Every job stays "processing" until its plan ends it (after=…), however often polled.
    with modelslab.ModelsLabFake(polls=None, eta=ETA) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def eden():
    with edenai.EdenAIFake(polls=None) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def hooked(make_server, ml, eden):
    """A server that gives providers callback URLs on itself, and checks Eden AI's
    signatures with the fake's key."""
    port = free_port()
    s = make_server(port=port, extra_env={
        "VIDGEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
        "EDENAI_API_KEY": edenai.KEY, "EDENAI_BASE_URL": eden.base_url,
        "EDENAI_WEBHOOK_PUBLIC_KEY": eden.webhook_public_key_path,
        "VIDGEN_LOG_LEVEL": "debug"})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    s.public_url = f"http://127.0.0.1:{port}"
    return s


# -- helpers -------------------------------------------------------------------------------------

def submit(s, model=ML_MODEL, **fields):
    fields.setdefault("duration", 6 if model == "nova-reel" else 5)
    return assert_ok(generate(s, s.token, s.project, modelId=model, **fields), 201)["generation"]


def row(s, gen_id):
    """Every column of the generation's row: what "changes nothing" compares."""
    con = s.db()
    try:
        cur = con.execute("SELECT * FROM generations WHERE id = ?", (gen_id,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))
    finally:
        con.close()


def rows(s):
    con = s.db()
    try:
        return con.execute("SELECT * FROM generations ORDER BY id").fetchall()
    finally:
        con.close()


def wait_until(what, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not {what} after {timeout}s")


def waiting_between_polls(s, gen_id):
    """Waits until the generation is at its provider and no worker holds it."""
    return wait_until(f"{gen_id} waiting between polls", lambda: (
        (r := row(s, gen_id))["provider_job_id"] and r["lease_owner"] is None
        and r["phase"] == "polling" and r))


def ml_job(fake, gen):
    """The fake ModelsLab's job of a generation, once the worker has submitted it (v6 submits
    carry our generation id as track_id)."""
    def find():
        with fake.lock:
            return next((j for j in fake.jobs.values() if j.request.get("track_id") == gen["id"]), None)
    return wait_until(f"the submit of {gen['id']}", find)


def callback_url(s, fake, job):
    """The callback URL the submit of `job` gave the fake: ours, with a 43-character token."""
    url = job.webhook
    prefix = f"{s.public_url}{PREFIX}/webhooks/{'edenai' if fake.server_header == 'fake-edenai' else 'modelslab'}/"
    assert url and url.startswith(prefix), url
    token = url[len(prefix):]
    assert len(token) == 43 and all(c.isalnum() or c in "-_" for c in token), token
    return url


def post(s, url, body, headers=None):
    """POSTs to one of the server's callback URLs, as a provider would."""
    path = urlsplit(url).path
    return s.request("POST", path, raw=body, headers=headers or {}, content_type="application/json")


def answer(r):
    """What a caller sees of a reply, but the Date header."""
    return r.status, r.body, sorted((k, v) for k, v in r.headers.items() if k != "date")


def ml_success(fake, job, url=None):
    """ModelsLab's success callback for `job` (as §4 records it), with a video URL."""
    return json.dumps({"status": "success", "id": str(job.id), "track_id": job.request.get("track_id"),
                       "output": [url or fake.url(f"/generations/made-up-{job.id}.mp4")],
                       "generationTime": 1.0}).encode()


# -- a callback speeds a job up ------------------------------------------------------------------

def test_a_modelslab_callback_completes_the_job_long_before_polling_would(hooked, ml):
    ml.plan(after=2.0)  # ends 2 s after the submit; the next poll would be 20-30 s after it
    started = time.monotonic()
    gen = submit(hooked)
    done = wait_for(hooked, hooked.token, gen["id"], timeout=QUICK)
    took = time.monotonic() - started
    assert done["status"] == "completed", done
    assert took < 10, f"{took:.1f}s: the callback did not speed it up"
    job = ml.last_job
    url = callback_url(hooked, ml, job)
    [submitted] = ml.requests("submit")
    assert submitted.json["webhook"] == url and submitted.json["track_id"] == gen["id"]
    [delivery] = ml.deliveries
    assert delivery.status == 200 and delivery.url == url
    assert len(ml.requests("poll")) == 1, "the callback is confirmed by one poll"
    assert len(ml.requests("video")) == 1
    # Only a hash of the token is kept: nowhere in the database is the token itself.
    token = url.rsplit("/", 1)[1].encode()
    for f in hooked.data_dir.glob("vidgen.db*"):
        assert token not in f.read_bytes(), f"{f.name} holds the callback token"
    assert token.decode() not in repr(rows(hooked)), "a generation row holds the callback token"
    assert row(hooked, gen["id"])["webhook_hash"]
    hooked.check_ledger()


def test_a_callback_for_a_job_held_between_polls_completes_it_at_once(make_server, ml, eden):
    # With a lease of two minutes the worker keeps the job claimed between its polls (20-30 s
    # apart, within half a lease): the callback must reach a job no release will look at.
    port = free_port()
    s = make_server(port=port, extra_env={
        "VIDGEN_PUBLIC_URL": f"http://127.0.0.1:{port}", "VIDGEN_LEASE_SECONDS": 120,
        "MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    ml.plan(after=2.0)
    gen = submit(s)
    wait_until("held between polls", lambda: (r := row(s, gen["id"]))["provider_job_id"] and r["lease_owner"])
    done = wait_for(s, s.token, gen["id"], timeout=QUICK)
    assert done["status"] == "completed", done
    assert len(ml.requests("poll")) == 1, "the callback is confirmed by one poll"
    s.check_ledger()


def test_an_eden_ai_callback_signed_with_its_key_completes_the_job(hooked, eden):
    eden.plan(after=2.0)
    gen = submit(hooked, "nova-reel")
    done = wait_for(hooked, hooked.token, gen["id"], timeout=QUICK)
    assert done["status"] == "completed", done
    job = eden.last_job
    url = callback_url(hooked, eden, job)
    [submitted] = eden.requests("submit")
    assert submitted.json["webhook_receiver"] == url
    [delivery] = eden.deliveries
    assert delivery.status == 200 and delivery.headers.get("X-Edenai-Signature")
    assert len(eden.requests("video")) == 1



def test_an_eden_ai_callback_far_past_64_kb_is_read_whole_and_taken(hooked, eden):
    # Eden AI's callbacks carry the video in base64: a real one is megabytes, past h2o's
    # 64 KB. This one is 3 MB, signed over all of it; the signature only verifies if vidgen
    # read every byte, and only then does it make the job due (the log line).
    eden.plan(after=3.0, webhooks=0)
    eden.script("poll", edenai.rate_limited(15))
    gen = submit(hooked, "nova-reel")
    wait_until("the first poll", lambda: [r.status for r in eden.requests("poll")] == [429])
    wait_until("the job's end at Eden AI", lambda: eden.last_job.ended)
    waiting_between_polls(hooked, gen["id"])
    job = eden.last_job
    payload = eden._payload(job)
    payload["original_response"] = {"frames": "A" * (3 << 20)}
    body, headers = edenai._webhook_message(payload, edenai.sign(payload))
    r = post(hooked, callback_url(hooked, eden, job), body, headers)
    assert r.status == 200 and json.loads(r.body) == {"success": True}
    wait_until("the callback taken", lambda: f"generation {gen['id']}: Eden AI called back" in hooked.stderr_text())
    done = wait_for(hooked, hooked.token, gen["id"], timeout=30)
    assert done["status"] == "completed", done
    assert len(eden.requests("video")) == 1


def test_a_large_callback_to_an_unknown_token_is_read_and_answered_alike(hooked):
    # A stranger's megabytes are read and dropped (no live token): the same reply as any callback.
    body = b'{"job_id":"x","status":"success","pad":"' + b"x" * (5 << 20) + b'"}'
    for token in ["A" * 43, "not-a-token"]:
        r = post(hooked, f"{hooked.public_url}{PREFIX}/webhooks/edenai/{token}", body)
        assert r.status == 200 and json.loads(r.body) == {"success": True}

# -- duplicates and forgeries ------------------------------------------------------------------------

def test_a_callback_delivered_twice_completes_the_job_once(hooked, ml):
    ml.plan(after=1.5, webhooks=2)
    gen = submit(hooked)
    done = wait_for(hooked, hooked.token, gen["id"], timeout=QUICK)
    assert done["status"] == "completed", done
    deliveries = ml.wait_deliveries(2)
    assert [d.status for d in deliveries] == [200, 200]
    final = row(hooked, gen["id"])
    time.sleep(1.0)
    assert row(hooked, gen["id"]) == final, "the second callback changed a finished generation"
    assert len(ml.requests("video")) == 1, "downloaded twice"
    assert [k for k, _ in ledger_rows(hooked, gen["id"])] == ["charge"], "charged or refunded again"
    assert len(ml.requests("poll")) <= 2
    hooked.check_ledger()


def test_a_forged_modelslab_success_does_not_complete_a_job_the_provider_has_not_finished(hooked, ml):
    ml.plan(end="never")
    gen = submit(hooked)
    waiting_between_polls(hooked, gen["id"])
    polls = len(ml.requests("poll"))
    job = ml_job(ml, gen)
    ml.forge_webhook(job.id)  # to our callback URL, with the job's id and track_id
    [delivery] = ml.wait_deliveries(1)
    assert delivery.forged and delivery.status == 200
    # The callback is only a hint: one poll confirms it, and the provider says "processing".
    wait_until("the confirming poll", lambda: len(ml.requests("poll")) == polls + 1)
    after = waiting_between_polls(hooked, gen["id"])
    assert after["status"] == "processing" and after["output_path"] is None, after
    assert after["error_message"] is None
    assert ml.requests("video") == [], "the forged video was fetched"
    time.sleep(1.0)
    assert len(ml.requests("poll")) == polls + 1, "a forged callback made more than one poll"
    assert assert_ok(hooked.api("GET", f"/generations/{gen['id']}", token=hooked.token))[
        "generation"]["status"] == "processing"


@pytest.mark.parametrize("how", ["bad_signature", "unsigned", "tampered"])
def test_an_eden_ai_callback_without_a_good_signature_changes_nothing(hooked, eden, how):
    # The job ends 3 s in, with no callback of its own; its first poll is told to come back
    # in 15 s, so that nothing but a callback could move it before then.
    eden.plan(after=3.0, webhooks=0)
    eden.script("poll", edenai.rate_limited(15))
    gen = submit(hooked, "nova-reel")
    wait_until("the first poll", lambda: [r.status for r in eden.requests("poll")] == [429])
    wait_until("the job's end at Eden AI", lambda: eden.last_job.ended)
    before = waiting_between_polls(hooked, gen["id"])
    job = eden.last_job
    eden.forge_webhook(job.id, how=how)  # claims success with a video the job never made
    [delivery] = eden.wait_deliveries(1)
    assert delivery.status == 200 and delivery.forged
    time.sleep(1.0)
    assert row(hooked, gen["id"]) == before, "a callback without a good signature changed the job"
    assert len(eden.requests("poll")) == 1 and eden.requests("video") == []
    # The genuine, signed callback of the same job is taken: the job is made due at once (the
    # worker then holds its poll until the pause Eden AI's 429 asked for is over: the row
    # changes, and the job completes).
    eden.send_webhook(job.id)
    eden.wait_deliveries(2)
    wait_until("the job taken up", lambda: row(hooked, gen["id"]) != before)
    done = wait_for(hooked, hooked.token, gen["id"], timeout=30)
    assert done["status"] == "completed", done
    assert len(eden.requests("video")) == 1


# -- every miss looks the same -------------------------------------------------------------------------

def test_wrong_tokens_garbage_replays_and_other_providers_get_the_same_answer_and_change_nothing(hooked, ml):
    # A: completed by its callback. B and C: at the provider, next poll 20-30 s away.
    ml.plan(after=1.0)
    a = submit(hooked)
    assert wait_for(hooked, hooked.token, a["id"], timeout=QUICK)["status"] == "completed"
    job_a = ml_job(ml, a)
    [genuine_a] = ml.wait_deliveries(1)
    ml.plan(end="never")
    b = submit(hooked)
    job_b = ml_job(ml, b)
    ml.plan(end="never")
    c = submit(hooked)
    job_c = ml_job(ml, c)
    for g in (b, c):
        waiting_between_polls(hooked, g["id"])
    url_a, url_b, url_c = (callback_url(hooked, ml, j) for j in (job_a, job_b, job_c))
    token_b = url_b.rsplit("/", 1)[1]
    base = url_b.rsplit("/", 1)[0]  # ".../webhooks/modelslab"
    body_b = ml_success(ml, job_b)

    before, polls, videos = rows(hooked), len(ml.requests("poll")), len(ml.requests("video"))
    ledger = [ledger_rows(hooked, g["id"]) for g in (a, b, c)]
    misses = {
        "wrong token": post(hooked, f"{base}/{secrets.token_urlsafe(32)}", body_b),
        "another generation's token": post(hooked, url_c, body_b),
        "garbage": post(hooked, url_b, b"\x00{not json"),
        "empty": post(hooked, url_b, b""),
        "a JSON array": post(hooked, url_b, b"[1,2,3]"),
        "unknown job id": post(hooked, url_b, ml_success(ml, job_b).replace(
            f'"id": "{job_b.id}"'.encode(), b'"id": "999999"')),
        "replay after completion": post(hooked, url_a, genuine_a.body, genuine_a.headers),
        "wrong provider": post(hooked, f"{hooked.public_url}{PREFIX}/webhooks/edenai/{token_b}", body_b),
        "unknown provider": post(hooked, f"{hooked.public_url}{PREFIX}/webhooks/runway/{token_b}", body_b),
        "local provider": post(hooked, f"{hooked.public_url}{PREFIX}/webhooks/local/{token_b}", body_b),
        "not a token": post(hooked, f"{base}/{token_b[:20]}", body_b),
        "a token with padding": post(hooked, f"{base}/{token_b[:42]}=", body_b),
        "an Eden AI body": post(hooked, url_b, json.dumps({
            "event": "async_job_completed", "job_id": str(job_b.id), "status": "success"}).encode()),
    }
    ml.send_webhook(job_a.id)  # the provider itself replaying A's callback
    ml.wait_deliveries(2)
    time.sleep(1.0)
    assert rows(hooked) == before, "a rejected callback changed a generation"
    assert len(ml.requests("poll")) == polls and len(ml.requests("video")) == videos
    assert [ledger_rows(hooked, g["id"]) for g in (a, b, c)] == ledger
    assert ml.deliveries[-1].status == 200

    # And an accepted one (B's own token and job: a forgery the poll will see through)
    # answers exactly alike.
    accepted = post(hooked, url_b, body_b)
    wait_until("the confirming poll", lambda: len(ml.requests("poll")) == polls + 1)
    assert accepted.status == 200 and accepted.json == {"success": True}
    for what, r in misses.items():
        assert answer(r) == answer(accepted), f"{what}: {r!r} differs from {accepted!r}"
    after_b = waiting_between_polls(hooked, b["id"])
    assert after_b["status"] == "processing" and after_b["output_path"] is None
    hooked.check_ledger()


def test_callback_urls_are_given_only_with_a_public_url(make_server, ml):
    s = make_server(extra_env={"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    gen = submit(s)
    [submitted] = wait_until("the submit", lambda: ml.requests("submit"))
    waiting_between_polls(s, gen["id"])
    assert "webhook" not in submitted.json, submitted.json
    assert row(s, gen["id"])["webhook_hash"] is None


def test_a_webhook_key_that_is_not_a_pem_rsa_public_key_stops_the_start(make_server, tmp_path):
    key = tmp_path / "not-a-key.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    s = make_server(extra_env={"EDENAI_WEBHOOK_PUBLIC_KEY": str(key)}, start=False)
    s.expect_exit(1)
    s.start(wait=False)
    assert s.wait_exit(10) == 1
    assert "EDENAI_WEBHOOK_PUBLIC_KEY" in s.stderr_text() and str(key) in s.stderr_text()
