"""The generation pipeline on the real server with the local renderer: generate, charge,
render, status, download, thumbnail, history, idempotency, 402, cancel, retry, delete."""

import pytest

from conftest import assert_error, assert_ok
from pipeline import (balance, generate, ledger, ledger_rows, make_project, probe, status,
                      wait_for)


@pytest.fixture(scope="module")
def srv(server):
    """The module's server, with the ledger invariant checked after every test."""
    yield server


@pytest.fixture(autouse=True)
def ledger_invariant(srv):
    yield
    srv.check_ledger()


@pytest.fixture(scope="module")
def token(srv):
    return srv.add_user("maker", credits=100000)


@pytest.fixture(scope="module")
def project(srv, token):
    return make_project(srv, token)


@pytest.mark.parametrize("resolution,aspect,duration,size", [
    ("720p", "16:9", 2, (1280, 720)),
    ("720p", "1:1", 1, (720, 720)),
    ("1080p", "9:16", 1, (1080, 1920)),
])
def test_a_generation_becomes_a_playable_video_of_the_asked_shape(srv, token, project, tmp_path,
                                                                   resolution, aspect, duration, size):
    before = balance(srv, token)
    r = generate(srv, token, project, resolution=resolution, aspectRatio=aspect, duration=duration)
    g = assert_ok(r, 201)["generation"]
    assert g["status"] == "pending" and g["creditUsed"] > 0
    assert balance(srv, token) == before - g["creditUsed"], "credits are taken at once"

    st = wait_for(srv, token, g["id"])
    assert st["status"] == "completed", st
    assert st["progress"] == 100
    assert st["videoUrl"].endswith(f"/generations/{g['id']}/video")

    r = srv.api("GET", f"/download/{g['id']}", token=token)
    assert r.status == 200
    assert r.headers["content-type"] == "video/mp4"
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / "out.mp4"
    path.write_bytes(r.body)
    codec, w, h, secs = probe(path)
    assert (codec, (w, h)) == ("h264", size)
    assert abs(secs - duration) < 0.15, secs

    full = assert_ok(srv.api("GET", f"/generations/{g['id']}", token=token))["generation"]
    assert (full["videoWidth"], full["videoHeight"]) == size
    assert full["completedAt"] is not None


def test_the_video_streams_inline_with_ranges(srv, token, project):
    g = assert_ok(generate(srv, token, project), 201)["generation"]
    wait_for(srv, token, g["id"], want=("completed",))
    whole = srv.api("GET", f"/generations/{g['id']}/video", token=token)
    assert whole.status == 200 and whole.headers["content-type"] == "video/mp4"
    part = srv.api("GET", f"/generations/{g['id']}/video", token=token, headers={"Range": "bytes=100-199"})
    assert part.status == 206
    assert part.body == whole.body[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.body)}"
    past = srv.api("GET", f"/generations/{g['id']}/video", token=token,
                   headers={"Range": f"bytes={len(whole.body)}-"})
    assert past.status == 416


def test_the_thumbnail_is_a_jpeg_of_the_video(srv, token, project):
    g = assert_ok(generate(srv, token, project), 201)["generation"]
    st = wait_for(srv, token, g["id"], want=("completed",))
    r = srv.request("GET", st["thumbnailUrl"], token=token)
    assert r.status == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.body[:2] == b"\xff\xd8" and r.body[-2:] == b"\xff\xd9"


def test_the_charge_is_in_the_ledger_with_the_generation(srv, token, project):
    g = assert_ok(generate(srv, token, project, resolution="4K", duration=10), 201)["generation"]
    assert g["creditUsed"] == 25, "local-preview 4K 10 s: base 10 + 4K 10 + 5 s over the default 5"
    assert ledger_rows(srv, g["id"]) == [("charge", -25)]
    top = ledger(srv, token, limit=1)["entries"][0]
    assert (top["kind"], top["amount"], top["generationId"]) == ("charge", -25, g["id"])
    srv.api("POST", f"/generations/{g['id']}/cancel", token=token)
    wait_for(srv, token, g["id"])


def test_different_prompts_give_different_videos(srv, token, project):
    a = assert_ok(generate(srv, token, project, prompt="a lighthouse at dusk"), 201)["generation"]["id"]
    b = assert_ok(generate(srv, token, project, prompt="neon rain over Tokyo"), 201)["generation"]["id"]
    for gid in (a, b):
        wait_for(srv, token, gid, want=("completed",))
    va = srv.api("GET", f"/download/{a}", token=token).body
    vb = srv.api("GET", f"/download/{b}", token=token).body
    assert va != vb


def test_too_few_credits_is_402_and_writes_nothing(srv):
    poor = srv.add_user("poor", credits=5)
    pid = make_project(srv, poor)
    r = generate(srv, poor, pid)
    assert_error(r, 402, "insufficient_credits")
    assert balance(srv, poor) == 5
    assert assert_ok(srv.api("GET", "/generations", token=poor))["generations"] == []
    assert [e["kind"] for e in ledger(srv, poor)["entries"]] == ["grant"]


def test_idempotency_key_replays_without_a_second_charge(srv, token, project):
    before = balance(srv, token)
    r1 = generate(srv, token, project, key="order-1", prompt="same request")
    g1 = assert_ok(r1, 201)["generation"]
    # Same request with its keys in another order: the same request.
    body = {"duration": 1, "prompt": "same request", "resolution": "720p", "modelId": "local-preview",
            "projectId": project}
    r2 = srv.api("POST", "/generate", body=body, token=token, headers={"Idempotency-Key": "order-1"})
    g2 = assert_ok(r2, 201)["generation"]
    assert g2["id"] == g1["id"]
    assert r2.headers.get("idempotent-replayed") == "true"
    assert balance(srv, token) == before - g1["creditUsed"], "charged once"
    assert ledger_rows(srv, g1["id"]) == [("charge", -g1["creditUsed"])]

    r3 = generate(srv, token, project, key="order-1", prompt="another request")
    assert_error(r3, 409, "conflict", field="Idempotency-Key")
    assert balance(srv, token) == before - g1["creditUsed"]
    wait_for(srv, token, g1["id"])


@pytest.mark.parametrize("fields,status,code,field", [
    ({"modelId": "veo3", "duration": 8}, 422, "invalid_request", "modelId"),
    ({"prompt": "   "}, 422, "invalid_request", "prompt"),
    ({"projectId": None}, 422, "invalid_request", "projectId"),
    ({"projectId": "01M88EZWFJNZQ8PSEYHE7STXZH"}, 404, "not_found", "projectId"),
    ({"duration": 21}, 422, "invalid_request", "duration"),
    ({"modelId": "nope"}, 404, "not_found", "modelId"),
    ({"resolution": "8K"}, 422, "invalid_request", "resolution"),
])
def test_invalid_generate_requests_change_nothing(srv, token, project, fields, status, code, field):
    before = balance(srv, token)
    n_before = len(assert_ok(srv.api("GET", "/generations?limit=100", token=token))["generations"])
    assert_error(generate(srv, token, project, **fields), status, code, field=field)
    assert balance(srv, token) == before
    assert len(assert_ok(srv.api("GET", "/generations?limit=100", token=token))["generations"]) == n_before


def test_another_users_generation_is_404_everywhere(srv, token, project):
    g = assert_ok(generate(srv, token, project), 201)["generation"]["id"]
    other = srv.add_user("snoop", credits=100)
    for method, path in [("GET", f"/generations/{g}"), ("GET", f"/generations/{g}/status"),
                         ("GET", f"/generations/{g}/video"), ("GET", f"/download/{g}"),
                         ("GET", f"/generations/{g}/thumbnail"), ("POST", f"/generations/{g}/cancel"),
                         ("POST", f"/generations/{g}/retry"), ("DELETE", f"/generations/{g}")]:
        assert_error(srv.api(method, path, token=other), 404, "not_found")
    assert_error(generate(srv, other, project), 404, "not_found", field="projectId")
    wait_for(srv, token, g)


def test_cancel_a_running_render_refunds_once(srv, token, project):
    before = balance(srv, token)
    g = assert_ok(generate(srv, token, project, resolution="4K", duration=20), 201)["generation"]
    wait_for(srv, token, g["id"], predicate=lambda s: s["status"] == "processing" and s["progress"] > 0)
    r = assert_ok(srv.api("POST", f"/generations/{g['id']}/cancel", token=token))
    assert r["generation"]["cancelRequested"] is True
    st = wait_for(srv, token, g["id"])
    assert st["status"] == "cancelled"
    assert balance(srv, token) == before, "refunded in full"
    assert ledger_rows(srv, g["id"]) == [("charge", -g["creditUsed"]), ("refund", g["creditUsed"])]
    assert_error(srv.api("POST", f"/generations/{g['id']}/cancel", token=token), 409, "conflict")
    assert ledger_rows(srv, g["id"])[-1] == ("refund", g["creditUsed"]), "no second refund"


def test_retry_makes_a_new_charged_generation_and_delete_removes_it(srv, token, project):
    g = assert_ok(generate(srv, token, project, resolution="4K", duration=20), 201)["generation"]
    srv.api("POST", f"/generations/{g['id']}/cancel", token=token)
    wait_for(srv, token, g["id"], want=("cancelled",))
    before = balance(srv, token)
    r = srv.api("POST", f"/generations/{g['id']}/retry", token=token)
    fresh = assert_ok(r, 201)["generation"]
    assert fresh["id"] != g["id"]
    assert (fresh["resolution"], fresh["duration"], fresh["prompt"]) == ("4K", 20, g["prompt"])
    assert balance(srv, token) == before - fresh["creditUsed"]
    assert_error(srv.api("DELETE", f"/generations/{fresh['id']}", token=token), 409, "conflict")
    assert_error(srv.api("POST", f"/generations/{fresh['id']}/retry", token=token), 409, "conflict")
    srv.api("POST", f"/generations/{fresh['id']}/cancel", token=token)
    wait_for(srv, token, fresh["id"])

    done = assert_ok(generate(srv, token, project), 201)["generation"]["id"]
    wait_for(srv, token, done, want=("completed",))
    video = srv.data_dir / "videos" / f"{done}.mp4"
    assert video.exists()
    assert_ok(srv.api("DELETE", f"/generations/{done}", token=token))
    assert_error(srv.api("GET", f"/generations/{done}", token=token), 404, "not_found")
    assert not video.exists(), "the video file goes with the generation"
    assert ledger_rows(srv, done)[0][0] == "charge", "the ledger keeps its history"


def test_the_history_lists_newest_first_in_pages_with_filters(make_server):
    s = make_server(args=["--no-worker"])  # nothing runs: every generation stays pending
    tok = s.admin_token
    p1, p2 = make_project(s, tok, "one"), make_project(s, tok, "two")
    ids = [assert_ok(generate(s, tok, p1 if i < 3 else p2, prompt=f"clip {i}"), 201)["generation"]["id"]
           for i in range(4)]
    page = assert_ok(s.api("GET", "/generations?limit=2", token=tok))
    assert [g["id"] for g in page["generations"]] == [ids[3], ids[2]]
    page2 = assert_ok(s.api("GET", f"/generations?limit=2&before={page['nextCursor']}", token=tok))
    assert [g["id"] for g in page2["generations"]] == [ids[1], ids[0]]
    only_p1 = assert_ok(s.api("GET", f"/generations?projectId={p1}", token=tok))["generations"]
    assert [g["id"] for g in only_p1] == [ids[2], ids[1], ids[0]]
    assert assert_ok(s.api("GET", "/generations?status=completed", token=tok))["generations"] == []
    assert len(assert_ok(s.api("GET", "/generations?status=pending", token=tok))["generations"]) == 4
    assert_error(s.api("GET", "/generations?status=done", token=tok), 422, "invalid_request", "status")
    assert_error(s.api("GET", "/generations?limit=0", token=tok), 422, "invalid_request", "limit")
    proj = assert_ok(s.api("GET", f"/projects/{p1}", token=tok))["project"]
    assert [g["id"] for g in proj["generations"]] == [ids[2], ids[1], ids[0]], "a project carries its generations"
    assert_error(s.api("DELETE", f"/projects/{p1}", token=tok), 409, "conflict")

    # Cancelling a generation no worker has started refunds it at once.
    before = balance(s, tok)
    r = assert_ok(s.api("POST", f"/generations/{ids[0]}/cancel", token=tok))
    assert r["generation"]["status"] == "cancelled"
    assert balance(s, tok) == before + r["generation"]["creditUsed"]
    s.check_ledger()


def test_a_separate_worker_process_runs_the_jobs(make_server):
    s = make_server(args=["--no-worker"])
    tok = s.admin_token
    gid = assert_ok(generate(s, tok, make_project(s, tok)), 201)["generation"]["id"]
    worker = s.cli_popen("worker")
    try:
        assert wait_for(s, tok, gid)["status"] == "completed"
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0, "vidgen worker stops cleanly on SIGTERM"
    s.check_ledger()


def test_deleting_a_project_removes_its_videos_but_not_the_ledger(srv, token):
    pid = make_project(srv, token, "short-lived")
    gid = assert_ok(generate(srv, token, pid), 201)["generation"]["id"]
    wait_for(srv, token, gid, want=("completed",))
    files = [srv.data_dir / "videos" / f"{gid}.mp4", srv.data_dir / "thumbnails" / f"{gid}.jpg"]
    assert all(f.exists() for f in files)
    assert_ok(srv.api("DELETE", f"/projects/{pid}", token=token))
    assert not any(f.exists() for f in files)
    assert_error(srv.api("GET", f"/generations/{gid}", token=token), 404, "not_found")
    assert ledger_rows(srv, gid)[0][0] == "charge"


def test_a_model_is_served_by_the_first_available_provider_on_its_route(make_server, tmp_path):
    """GET /models and POST /generate follow one rule: a model whose first provider is not
    set up but whose second is can be listed as available and is generated by the second."""
    import json
    import pathlib
    catalog = json.loads((pathlib.Path(__file__).resolve().parents[2] / "config" / "catalog.json").read_text())
    model = next(m for m in catalog["models"] if m["id"] == "local-preview")
    model["route"] = [{"provider": "runway", "model": "gen4.5", "endpoint": "/v1/text_to_video"}] + model["route"]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    s = make_server(extra_env={"VIDGEN_CATALOG": path})
    tok = s.admin_token
    listed = next(m for m in assert_ok(s.api("GET", "/models"))["models"] if m["id"] == "local-preview")
    assert listed["available"] is True and listed["unavailableReason"] is None
    gen = assert_ok(generate(s, tok, make_project(s, tok), duration=1), 201)["generation"]
    assert gen["provider"] == "local", gen
    assert wait_for(s, tok, gen["id"])["status"] == "completed"
