"""Model routes with fallback (DESIGN §3, issue 10), end to end against the Runway and Kling
fakes: a model served by two providers tries them in order and is charged once; every try is
in the generation's attempt history (GET /generations/:id); a moderation refusal is never sent
on to the next provider, and a job that may still run at a provider is never sent to another.
Also here: a Runway cancel deletes the remote task, Kling's cut-off submit is looked up by its
external_task_id instead of being paid twice, and GET /models with every key set."""

import json
import pathlib
import sys
import time

import pytest

from conftest import assert_error, assert_ok, free_port
from pipeline import balance, generate, ledger_rows, make_project, wait_for
from test_runway_kling import frame, keys, kl, rw  # noqa: F401 (kl, rw: the fakes' fixtures)
from test_uploads import upload

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import edenai  # noqa: E402
import kling  # noqa: E402
import modelslab  # noqa: E402
import runway  # noqa: E402
from common import Reset  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
DONE = 90  # seconds: Runway is polled no faster than every 5 s


def two_route_catalog(tmp_path):
    """The shipped catalog, with runway-gen3 served by Runway first and Kling second."""
    catalog = json.loads((ROOT / "config" / "catalog.json").read_text())
    model = next(m for m in catalog["models"] if m["id"] == "runway-gen3")
    model["route"].append({"provider": "kling", "model": "kling-v2-5-turbo", "endpoint": "/v1/videos/text2video",
                           "imageEndpoint": "/v1/videos/image2video"})
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


@pytest.fixture
def srv(make_server, tmp_path, rw, kl):
    port = free_port()
    s = make_server(port=port, extra_env={**keys(rw, kl), "VIDGEN_CATALOG": str(two_route_catalog(tmp_path)),
                                          "VIDGEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
                                          "VIDGEN_ADMIN_CREDITS": 1000000})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    return s


def submit(s, model="runway-gen3", **fields):
    fields.setdefault("duration", 5)
    return assert_ok(generate(s, s.token, s.project, modelId=model, **fields), 201)["generation"]


def full(s, gen):
    return assert_ok(s.api("GET", f"/generations/{gen['id']}", token=s.token))["generation"]


def ended(s, gen):
    wait_for(s, s.token, gen["id"], timeout=DONE)
    return full(s, gen)


def kinds(s, gen):
    return [k for k, _ in ledger_rows(s, gen["id"])]


def attempts(g):
    return [(a["provider"], a["outcome"], a["httpStatus"]) for a in g["attempts"]]


def test_a_model_whose_first_provider_refuses_every_submit_completes_through_the_second(srv, rw, kl):
    before = balance(srv, srv.token)
    rw.always("submit", runway.server_error(503))
    gen = submit(srv, prompt="a lighthouse at dawn")
    done = ended(srv, gen)
    assert done["status"] == "completed", done
    assert done["provider"] == "kling"
    assert kinds(srv, gen) == ["charge"], "charged once, never refunded"
    assert balance(srv, srv.token) == before - done["creditUsed"]
    assert attempts(done) == [("runway", "fell_back", 503), ("kling", "completed", 200)], done["attempts"]
    first, second = done["attempts"]
    assert "503" in first["error"] and first["providerJobId"] is None
    assert first["startedAt"] <= first["endedAt"] <= second["startedAt"] <= second["endedAt"]
    [task] = kl.jobs.values()
    assert second["providerJobId"] == task.id and second["model"] == "kling-v2-5-turbo"
    [sent] = kl.requests("submit")
    assert sent.json["prompt"] == "a lighthouse at dawn" and sent.json["external_task_id"] == gen["id"]
    assert len(rw.requests("submit")) == 1, "a route that refused at the door is not asked again"
    srv.check_ledger()


def test_a_moderation_refusal_on_the_first_route_fails_without_trying_the_second(srv, rw, kl):
    before = balance(srv, srv.token)
    rw.plan(end="rejected")  # the task ends FAILED with SAFETY.INPUT.TEXT
    gen = submit(srv, prompt="something unsafe")
    done = ended(srv, gen)
    assert done["status"] == "failed" and "moderation" in done["errorMessage"], done
    assert done["provider"] == "runway"
    assert kinds(srv, gen) == ["charge", "refund"], "refunded once"
    assert balance(srv, srv.token) == before
    assert attempts(done) == [("runway", "failed", 200)]
    assert done["attempts"][0]["providerJobId"] == next(iter(rw.jobs.values())).id
    assert kl.requests("submit") == [], "a refused prompt is never sent to another provider"
    srv.check_ledger()


def test_a_task_lost_to_the_providers_own_fault_is_made_again_by_the_next_route(srv, rw, kl):
    rw.plan(end="failed", failure_code="INTERNAL.BAD_OUTPUT.CODE01")
    gen = submit(srv, prompt="a paper boat")
    done = ended(srv, gen)
    assert done["status"] == "completed", done
    assert attempts(done) == [("runway", "fell_back", 200), ("kling", "completed", 200)]
    assert "INTERNAL.BAD_OUTPUT" in done["attempts"][0]["error"]
    assert done["attempts"][0]["providerJobId"] is not None, "Runway's task was made and is on record"
    assert kinds(srv, gen) == ["charge"]
    srv.check_ledger()


def test_when_no_route_is_left_the_job_fails_and_is_refunded_once(srv, rw, kl):
    before = balance(srv, srv.token)
    rw.always("submit", runway.server_error(503))
    kl.always("submit", kling.error(1102))  # Kling's account cannot pay: final
    gen = submit(srv, prompt="nobody can")
    done = ended(srv, gen)
    assert done["status"] == "failed" and "Kling" in done["errorMessage"], done
    assert attempts(done) == [("runway", "fell_back", 503), ("kling", "failed", 429)]
    assert kinds(srv, gen) == ["charge", "refund"]
    assert balance(srv, srv.token) == before
    srv.check_ledger()


def test_a_submit_in_doubt_at_runway_is_never_sent_to_another_provider(srv, rw, kl):
    rw.script("submit", Reset(processed=True))  # Runway made the task; its reply was lost
    gen = submit(srv, prompt="maybe made")
    done = ended(srv, gen)
    assert done["status"] == "failed" and "not sent again" in done["errorMessage"], done
    assert kl.requests("submit") == [], "the job may run at Runway: no second provider"
    assert kinds(srv, gen) == ["charge", "refund"]


def test_a_route_that_cannot_fetch_the_images_is_refused_before_any_charge(make_server, rw, kl, tmp_path_factory):
    # Runway fetches images only over https from a domain name (runway.md §2): with an http
    # public address it cannot take an image-to-video job, and Kling is the only other route.
    env = {**keys(rw, kl), "VIDGEN_PUBLIC_URL": "http://video.example.net", "VIDGEN_ADMIN_CREDITS": 100000}
    s = make_server(extra_env=env)
    project = make_project(s, s.admin_token)
    up = assert_ok(upload(s, s.admin_token, frame(tmp_path_factory, "testsrc2")), 201)
    before = balance(s, s.admin_token)
    r = generate(s, s.admin_token, project, modelId="runway-gen3", duration=5, prompt="it moves",
                 startImageId=up["uploadId"])
    err = assert_error(r, 422, "invalid_request", "startImageId")
    assert "https" in err["message"]
    assert balance(s, s.admin_token) == before
    assert rw.requests("submit") == []


# -- Runway's cancel, Kling's lookup --------------------------------------------------------------

def test_a_runway_cancel_deletes_the_remote_task(srv, rw, kl):
    rw.plan(polls=1000)  # PENDING, THROTTLED, then RUNNING with progress, for 1000 polls
    gen = submit(srv, prompt="cancel me")
    # Waiting in Runway's queue is its own phase ("queued" is vidgen's, before any submit) ...
    wait_for(srv, srv.token, gen["id"], predicate=lambda st: st["phase"] == "provider_queue", timeout=DONE)
    # ... and RUNNING's progress moves the bar
    wait_for(srv, srv.token, gen["id"], predicate=lambda st: st["phase"] == "polling" and st["progress"] > 5,
             timeout=DONE)
    [task] = rw.jobs.values()
    assert_ok(srv.api("POST", f"/generations/{gen['id']}/cancel", token=srv.token))
    done = ended(srv, gen)
    assert done["status"] == "cancelled" and "Runway stopped its job" in done["errorMessage"], done
    [delete] = rw.requests("delete")
    assert delete.path == f"/v1/tasks/{task.id}" and delete.status == 204
    assert task.deleted and task.cancelled
    assert attempts(done) == [("runway", "cancelled", 204)]
    assert kinds(srv, gen) == ["charge"], "submitted to Runway: not refunded"
    assert kl.requests("submit") == []


def kling_srv(make_server, rw, kl):
    s = make_server(extra_env={**keys(rw, kl), "VIDGEN_ADMIN_CREDITS": 100000})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    return s


def test_a_kling_submit_whose_reply_was_lost_is_found_by_its_external_task_id(make_server, rw, kl):
    s = kling_srv(make_server, rw, kl)
    kl.script("submit", Reset(processed=True))  # Kling made the task; the reply never came
    gen = submit(s, model="kling-2.5", prompt="found again")
    done = ended(s, gen)
    assert done["status"] == "completed", done
    assert len(kl.jobs) == 1 and len(kl.requests("submit")) == 1, "not submitted twice"
    [task] = kl.jobs.values()
    assert task.external_task_id == gen["id"]
    [listed] = kl.requests("list")
    assert listed.path == "/v1/videos/text2video" and listed.status == 200, "the lookup lists the tasks"
    assert done["attempts"][-1]["providerJobId"] == task.id
    assert kinds(s, gen) == ["charge"]


def test_a_kling_submit_that_never_arrived_is_sent_once_more(make_server, rw, kl):
    s = kling_srv(make_server, rw, kl)
    kl.script("submit", Reset(processed=False))  # cut before Kling made anything
    gen = submit(s, model="kling-2.5", prompt="sent again")
    done = ended(s, gen)
    assert done["status"] == "completed", done
    assert len(kl.requests("submit")) == 2 and len(kl.jobs) == 1
    assert len(kl.requests("list")) == 1, "Kling was asked before the submit was sent again"
    assert [a["outcome"] for a in done["attempts"]] == ["interrupted", "completed"], done["attempts"]
    assert kinds(s, gen) == ["charge"]


# -- the catalog with every key -------------------------------------------------------------------

def test_models_are_all_available_with_every_key_and_say_why_not_without(make_server, rw, kl):
    with modelslab.ModelsLabFake() as ml, edenai.EdenAIFake() as ed:
        env = {**keys(rw, kl), "MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
               "EDENAI_API_KEY": edenai.KEY, "EDENAI_BASE_URL": ed.base_url,
               "VIDGEN_PUBLIC_URL": "https://video.example.net"}
        s = make_server(extra_env=env)
        models = assert_ok(s.api("GET", "/models"))["models"]
        assert len(models) == 9
        assert [m["id"] for m in models if not m["available"]] == [], models
    bare = make_server(extra_env={})
    for m in assert_ok(bare.api("GET", "/models"))["models"]:
        if m["id"] == "local-preview":
            assert m["available"] is True
        else:
            key = "KLING_ACCESS_KEY" if m["id"] == "kling-2.5" else "_API_KEY"
            assert m["available"] is False and key in m["unavailableReason"], m
