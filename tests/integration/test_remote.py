"""Remote generations end to end: the real server against the fake ModelsLab and Eden AI
(tests/fakes, which follow the contracts in shared/providers/).

Every offered model goes pending → processing → completed with a video that probes; the
recorded requests prove what was sent; each fault ends as the lifecycle says (DESIGN §6),
refunded once when it fails; and no generation is ever submitted twice."""

import pathlib
import signal
import sys
import time

import pytest

from conftest import assert_ok
from pipeline import balance, generate, ledger_rows, make_project, probe, status, wait_for
from worker_process import Worker

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import edenai  # noqa: E402
import modelslab  # noqa: E402
from common import Delay, Reset, Truncated, expired, garbage, html_page  # noqa: E402

MODELSLAB_MODELS = {  # ours → (endpoint, model_id, family)
    "veo3": ("/api/v7/video-fusion/text-to-video", "veo3", "v7"),
    "veo2": ("/api/v7/video-fusion/text-to-video", "veo2", "v7"),
    "seedance-t2v": ("/api/v7/video-fusion/text-to-video", "seedance-t2v", "v7"),
    "text-to-video-ultra": ("/api/v6/video/text2video_ultra", "wan2.2", "v6"),
    "wan2.2-t2v": ("/api/v6/video/text2video_ultra", "wan2.2", "v6"),
}
DONE = 60  # seconds for a remote generation against a fake to end


@pytest.fixture
def ml():
    with modelslab.ModelsLabFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def eden():
    with edenai.EdenAIFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def remote(make_server, ml, eden):
    s = make_server(extra_env={"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
                               "EDENAI_API_KEY": edenai.KEY, "EDENAI_BASE_URL": eden.base_url,
                               "VIDGEN_ADMIN_CREDITS": 1000000})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    return s


def submit(s, model, **fields):
    fields.setdefault("duration", 8 if model.startswith("veo") else 5)
    r = generate(s, s.token, s.project, modelId=model, **fields)
    return assert_ok(r, 201)["generation"]


def ends(s, gen):
    return wait_for(s, s.token, gen["id"], timeout=DONE)


def refunded_once(s, gen):
    rows = ledger_rows(s, gen["id"])
    return [k for k, _ in rows] == ["charge", "refund"] and sum(a for _, a in rows) == 0


def video_of(s, gen):
    return probe(s.data_dir / "videos" / f"{gen['id']}.mp4")


# -- every model -------------------------------------------------------------------------------

@pytest.mark.parametrize("model", sorted(MODELSLAB_MODELS))
def test_every_modelslab_model_completes_with_the_exact_request(remote, ml, model):
    gen = submit(remote, model, prompt="a red fox in the snow")
    done = ends(remote, gen)
    assert done["status"] == "completed", done
    codec, w, h, secs = video_of(remote, gen)
    assert codec == "h264" and w > 0 and h > 0 and secs > 0
    [sent] = ml.requests("submit", method="POST")
    endpoint, model_id, family = MODELSLAB_MODELS[model]
    assert sent.path == endpoint
    assert sent.json["key"] == modelslab.KEY and "authorization" not in {k.lower() for k in sent.headers.keys()}
    assert sent.json["model_id"] == model_id and sent.json["prompt"] == "a red fox in the snow"
    if family == "v7":
        assert sent.json["duration"] == str(gen["duration"]), "v7 takes the duration as a string"
        assert sent.json["aspect_ratio"] == "16:9"
    polls = ml.requests("poll", method="POST")
    assert polls and all(p.json == {"key": modelslab.KEY} for p in polls)
    assert len(ml.jobs) == 1, "submitted once"


def test_nova_reel_on_eden_ai_completes_with_the_exact_request(remote, eden):
    gen = submit(remote, "nova-reel", prompt="waves at dusk", duration=6)
    done = ends(remote, gen)
    assert done["status"] == "completed", done
    assert video_of(remote, gen)[0] == "h264"
    [sent] = eden.requests("submit", method="POST")
    assert sent.headers.get("Authorization") == f"Bearer {edenai.KEY}"
    assert sent.json["model"] == "video/generation_async/amazon/amazon.nova-reel-v1:1"
    assert sent.json["input"]["text"] == "waves at dusk" and sent.json["input"]["duration"] == 6
    assert len(eden.jobs) == 1


# -- faults --------------------------------------------------------------------------------------

@pytest.mark.parametrize("end_as", ["failed", "error", "rejected"])
def test_a_job_the_provider_fails_is_failed_and_refunded_once(remote, ml, end_as):
    before = balance(remote, remote.token)
    ml.plan(end=end_as, polls=1)
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "failed", done
    assert "ModelsLab" in done["errorMessage"]
    assert refunded_once(remote, gen)
    assert balance(remote, remote.token) == before
    remote.check_ledger()


def test_success_without_a_video_fails_and_refunds(remote, ml):
    ml.plan(end="no_video", polls=1)
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "failed" and refunded_once(remote, gen), done


def test_a_result_url_that_is_refused_fails_and_refunds(remote, ml):
    ml.always("video", expired())
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "failed" and "403" in done["errorMessage"], done
    assert refunded_once(remote, gen)


def test_a_rate_limited_submit_is_sent_again_later_and_completes(remote, ml):
    ml.script("submit", modelslab.rate_limited(retry_after=1))
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "completed", done
    assert [r.status for r in ml.requests("submit")] == [429, 200]
    assert len(ml.jobs) == 1


@pytest.mark.parametrize("fault", ["500", "html", "garbage", "truncated", "reset", "slow"])
def test_passing_faults_while_polling_are_retried(remote, ml, fault):
    action = {"500": modelslab.server_error(500), "html": html_page(502), "garbage": garbage(),
              "truncated": Truncated(), "reset": Reset(), "slow": Delay(1.0)}[fault]
    ml.script("poll", action)
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "completed", done
    assert len(ml.jobs) == 1


@pytest.mark.parametrize("fault", ["500", "reset-after-processing"])
def test_a_submit_whose_outcome_is_unknown_is_not_sent_again(remote, ml, fault):
    """A 500 or a reply lost after the provider took the job: sending it again could make
    the provider bill twice, so the generation fails, refunded, saying why."""
    ml.script("submit", modelslab.server_error(500) if fault == "500" else Reset(processed=True))
    gen = submit(remote, "veo3")
    done = ends(remote, gen)
    assert done["status"] == "failed", done
    assert "not sent again" in done["errorMessage"]
    assert refunded_once(remote, gen)
    assert len(ml.requests("submit")) == 1


def test_a_bad_key_fails_with_a_message_the_admin_can_act_on(make_server, ml):
    s = make_server(extra_env={"MODELSLAB_API_KEY": "wrong", "MODELSLAB_BASE_URL": ml.base_url})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    gen = submit(s, "veo3")
    done = ends(s, gen)
    assert done["status"] == "failed", done
    assert "key" in done["errorMessage"].lower(), done
    assert refunded_once(s, gen)


# -- crashes ---------------------------------------------------------------------------------------

def test_a_kill_at_the_moment_of_submit_never_submits_twice(remote, ml):
    ml.script("submit", Delay(3.0))
    gen = submit(remote, "veo3")
    deadline = time.monotonic() + 10
    while not ml.requests("submit") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ml.requests("submit"), "the submit was never sent"
    remote.kill()  # the provider has the request; its reply never reaches anyone
    remote.start()
    done = ends(remote, gen)
    assert done["status"] == "failed" and "not sent again" in done["errorMessage"], done
    assert refunded_once(remote, gen)
    assert len(ml.requests("submit")) == 1
    remote.check_ledger()


def test_a_kill_while_jobs_poll_loses_none_and_submits_none_twice(make_server):
    with modelslab.ModelsLabFake(polls=4, queue_limit=100) as ml:
        s = remote_server(make_server, ml, MODELSLAB_MAX_IN_FLIGHT=100, MODELSLAB_REQUESTS_PER_MINUTE=60000)
        crash_while_polling(s, ml, 50)


def crash_while_polling(remote, ml, n):
    gens = [submit(remote, "veo3", prompt=f"crash {i}") for i in range(n)]
    deadline = time.monotonic() + 20
    while len(ml.requests("poll")) < n // 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    remote.kill()
    remote.start()
    for gen in gens:
        done = ends(remote, gen)
        assert done["status"] in ("completed", "failed"), done
        if done["status"] == "failed":
            assert refunded_once(remote, gen)
    assert len(ml.jobs) == len(ml.requests("submit", method="POST")) <= len(gens), "a generation was submitted twice"
    remote.check_ledger()


def test_a_kill_while_jobs_are_held_between_polls_loses_none_and_submits_none_twice(make_server):
    # eta 0.5 s and a lease of 2 s: each job stays claimed between its polls (within half a
    # lease), so the kill leaves leases that must run out before the jobs come back.
    with modelslab.ModelsLabFake(polls=4, queue_limit=100) as ml:
        s = remote_server(make_server, ml, VIDGEN_LEASE_SECONDS=2, MODELSLAB_MAX_IN_FLIGHT=100,
                          MODELSLAB_REQUESTS_PER_MINUTE=60000)
        crash_while_polling(s, ml, 30)
        con = s.db()
        try:
            taken_over = con.execute("SELECT count(*) FROM generations WHERE attempts > 0").fetchone()[0]
        finally:
            con.close()
        assert taken_over > 0, "no job was held by the killed worker"


def test_a_frozen_worker_lets_its_held_jobs_go_to_another_and_takes_none_back(make_server):
    # Worker A holds four jobs between polls under its heartbeat (lease 2 s), then freezes
    # (SIGSTOP) past its lease. Worker B, started meanwhile, reaps A's lapsed beat and finishes
    # the jobs. A, woken, finds its beat refused and lets every job go: each generation ends
    # once, was submitted once, and was taken over once. The jobs run 15 s at the provider, so
    # that B, started 3.5 s after the freeze, finds them still running even under the sanitizers.
    env = {"MODELSLAB_API_KEY": modelslab.KEY, "VIDGEN_LEASE_SECONDS": 2, "VIDGEN_ADMIN_CREDITS": 1000000,
           "MODELSLAB_MAX_IN_FLIGHT": 100, "MODELSLAB_REQUESTS_PER_MINUTE": 60000}
    with modelslab.ModelsLabFake(polls=None, after=15.0, eta=0.5, queue_limit=100) as ml:
        env["MODELSLAB_BASE_URL"] = ml.base_url
        s = make_server(extra_env=env, args=["--no-worker"])
        s.token = s.admin_token
        s.project = make_project(s, s.token)
        a = Worker(s, extra=env, name="a").start()
        b = Worker(s, extra=env, name="b")
        try:
            gens = [submit(s, "veo3", prompt=f"held {i}") for i in range(4)]
            deadline = time.monotonic() + DONE
            while not all(held_row(s, g["id"]) for g in gens) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all(held_row(s, g["id"]) for g in gens), "worker A did not hold the jobs"
            a.proc.send_signal(signal.SIGSTOP)
            time.sleep(3.5)  # past A's beat
            b.start()
            deadline = time.monotonic() + DONE
            while not all(held_by(s, g["id"], b) for g in gens) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all(held_by(s, g["id"], b) for g in gens), "worker B did not take the jobs over\n" + b.log()
            a.proc.send_signal(signal.SIGCONT)
            for g in gens:
                assert ends(s, g)["status"] == "completed", b.log()
            assert len(ml.jobs) == len(ml.requests("submit", method="POST")) == 4, "a generation was submitted twice"
            assert "lapsed" in a.log(), a.log()
            con = s.db()
            try:
                for g in gens:
                    assert con.execute("SELECT attempts FROM generations WHERE id = ?",
                                       (g["id"],)).fetchone()[0] == 1, "not taken over exactly once"
            finally:
                con.close()
            s.check_ledger()
        finally:
            assert a.stop() == 0, a.log()
            assert b.stop() == 0, b.log()


def held_by(s, gen_id, worker):
    """Whether `worker` (a worker_process.Worker) holds the generation at its provider: its
    name, as its start-up line logs it ("started as HOST:PID:TAG"), begins the lease's token."""
    names = [line.split("worker: started as ", 1)[1].split(" ", 1)[0]
             for line in worker.log().splitlines() if "worker: started as " in line]
    row = held_row(s, gen_id)
    return bool(names and row and row[1].startswith(names[0] + ":"))


def test_a_job_held_between_polls_is_cancelled_at_once(make_server):
    # A lease of an hour: the worker's beat that also reads cancels comes every 20 minutes and the
    # job is held between its polls, so only the cancel's own wake-up can end it in time.
    with modelslab.ModelsLabFake(polls=1000, eta=10, queue_limit=100) as ml:
        s = remote_server(make_server, ml, VIDGEN_LEASE_SECONDS=3600)
        gen = submit(s, "veo3")
        deadline = time.monotonic() + DONE
        while not (held := held_row(s, gen["id"])) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held, "the job was not held between polls"
        assert_ok(s.api("POST", f"/generations/{gen['id']}/cancel", token=s.token))
        done = ends(s, gen)
        assert done["status"] == "cancelled", done
        assert [k for k, _ in ledger_rows(s, gen["id"])] == ["charge"], "submitted: not refunded"
        assert len(ml.requests("submit", method="POST")) == 1
        s.check_ledger()


def held_row(s, gen_id):
    """The generation's row while a worker holds it at its provider, else None."""
    con = s.db()
    try:
        r = con.execute("SELECT provider_job_id, lease_owner, phase FROM generations WHERE id = ?",
                        (gen_id,)).fetchone()
    finally:
        con.close()
    return r if r and r[0] and r[1] and r[2] == "polling" else None


# -- limits ----------------------------------------------------------------------------------------

def remote_server(make_server, ml, **env):
    s = make_server(extra_env={"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
                               "VIDGEN_ADMIN_CREDITS": 1000000, **env})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    return s


def test_jobs_over_the_providers_cap_wait_at_vidgen(make_server):
    with modelslab.ModelsLabFake(polls=3, queue_limit=100) as ml:
        s = remote_server(make_server, ml, MODELSLAB_MAX_IN_FLIGHT=2)
        gens = [submit(s, "veo3", prompt=f"cap {i}") for i in range(6)]
        seen_queued = False
        deadline = time.monotonic() + DONE
        while time.monotonic() < deadline:
            states = [status(s, s.token, g["id"]) for g in gens]
            seen_queued |= any(st["phase"] == "queued" and st["status"] == "processing" for st in states)
            if all(st["status"] == "completed" for st in states):
                break
            time.sleep(0.2)
        assert all(st["status"] == "completed" for st in states), states
        assert seen_queued, "no job was shown as queued at vidgen"
        jobs = list(ml.jobs.values())
        assert len(jobs) == 6
        for job in jobs:  # at each submit, the jobs the provider held (this one included)
            held = [o for o in jobs if o.created_wall <= job.created_wall < (o.ended_wall or float("inf"))]
            assert len(held) <= 2, f"{len(held)} jobs at the provider at once"


def test_requests_to_a_provider_keep_to_its_rate(make_server):
    rate, burst = 120, 10  # per minute; the bucket holds 5 seconds of it
    with modelslab.ModelsLabFake(polls=3, queue_limit=100) as ml:
        s = remote_server(make_server, ml, MODELSLAB_REQUESTS_PER_MINUTE=rate)
        gens = [submit(s, "veo3", prompt=f"rate {i}") for i in range(5)]
        for g in gens:
            assert ends(s, g)["status"] == "completed"
        times = sorted(r.time for r in ml.requests() if r.kind in ("submit", "poll"))
    assert len(times) >= 20
    per_s = rate / 60
    for i in range(len(times)):
        for k in range(i + burst, len(times)):
            allowed = burst + per_s * (times[k] - times[i]) + 1
            assert k - i + 1 <= allowed, f"{k - i + 1} requests in {times[k] - times[i]:.2f} s"


def test_one_users_queue_does_not_hold_back_another_users_first_job(make_server):
    s = make_server(extra_env={"VIDGEN_RENDER_THREADS": 1, "VIDGEN_ADMIN_CREDITS": 1000000})
    alice = s.admin_token
    bob = s.add_user("bob", credits=1000)
    a_project, b_project = make_project(s, alice), make_project(s, bob)
    mine = [assert_ok(generate(s, alice, a_project, duration=2, prompt=f"a{i}"), 201)["generation"]["id"]
            for i in range(5)]
    theirs = assert_ok(generate(s, bob, b_project, duration=2), 201)["generation"]["id"]
    def finished(token, g):
        assert wait_for(s, token, g, timeout=120)["status"] == "completed"
        return assert_ok(s.api("GET", f"/generations/{g}", token=token))["generation"]["completedAt"]

    done = {g: finished(alice, g) for g in mine}
    bob_done = finished(bob, theirs)
    finished_before = sum(1 for g in mine if done[g] < bob_done)
    assert finished_before <= 2, f"bob's first job waited for {finished_before} of alice's"


# -- providers and their health ----------------------------------------------------------------------

def providers(s):
    return {p["name"]: p for p in assert_ok(s.api("GET", "/providers", token=s.token))["providers"]}


def test_providers_lists_each_with_its_limits_jobs_and_health(remote, ml):
    listed = providers(remote)
    assert listed["local"]["kind"] == "local" and listed["local"]["available"] is True
    assert listed["modelslab"]["available"] is True and listed["modelslab"]["limits"] == {
        "maxInFlight": 5, "requestsPerMinute": 60}
    assert listed["modelslab"]["health"]["circuit"] == "closed"
    assert listed["modelslab"]["health"]["lastSuccessAt"] is None
    gen = submit(remote, "veo3")
    assert ends(remote, gen)["status"] == "completed"
    after = providers(remote)["modelslab"]
    assert after["health"]["lastSuccessAt"] is not None and after["inFlight"] == 0 and after["queued"] == 0
    reply = remote.api("GET", "/providers", token=remote.token).body.decode()
    assert modelslab.KEY not in reply and edenai.KEY not in reply, "an API key is shown"


def test_a_failing_provider_opens_its_circuit_and_generate_answers_503(remote, ml):
    ml.always("poll", modelslab.server_error(500))
    gens = [submit(remote, "veo3", prompt=f"down {i}") for i in range(5)]
    deadline = time.monotonic() + 30
    while providers(remote)["modelslab"]["health"]["circuit"] != "open":
        assert time.monotonic() < deadline, providers(remote)["modelslab"]
        time.sleep(0.2)
    health = providers(remote)["modelslab"]["health"]
    assert health["failuresInARow"] >= 5 and health["openUntil"] is not None and health["lastFailure"]
    r = generate(remote, remote.token, remote.project, modelId="veo3", prompt="now?", duration=8)
    assert r.status == 503 and r.error["code"] == "unavailable", r
    assert 0 < int(r.headers["retry-after"]) <= 30
    polls = len(ml.requests("poll"))
    time.sleep(2)
    assert len(ml.requests("poll")) == polls, "requests went to a provider whose circuit is open"
    for g in gens:  # the jobs wait, not fail
        assert status(remote, remote.token, g["id"])["status"] == "processing"
    local = generate(remote, remote.token, remote.project, modelId="local-preview", duration=1)
    assert local.status == 201, "another provider's models are not held back"
