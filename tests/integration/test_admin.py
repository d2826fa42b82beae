"""The admin API: every endpoint 404 for anyone but an admin; users, credits and tokens
through the same rules as the CLI; every user's generations by filter; cancel and refund by
hand (a refund at most once); failed jobs with their last error."""

import time

import pytest

from conftest import assert_error, assert_ok
from pipeline import balance, generate, make_project, wait_for


@pytest.fixture(scope="module")
def admin_paths(server):
    doc = server.request("GET", "/api/openapi.json").json
    ops = [(m.upper(), p) for p, item in doc["paths"].items() if p.startswith("/admin/")
           for m in item if m in ("get", "post", "delete", "patch", "put")]
    assert len(ops) >= 10, ops
    return ops


def concrete(path):
    return path.replace("{id}", "01J0000000000000000000000Z")


def test_every_admin_endpoint_is_404_for_anyone_else(server, admin_paths):
    user = server.add_user("not-admin", credits=100)
    for method, path in admin_paths:
        for token in (None, "vg_not-a-token", user):
            r = server.api(method, concrete(path), token=token, body={} if method == "POST" else None)
            assert_error(r, 404, "not_found")
    # the same paths exist for an admin (an unknown id is a 404 of another kind, not "no such endpoint")
    r = server.api("GET", "/admin/users", token=server.admin_token)
    assert_ok(r)


def test_users_credits_and_tokens(server):
    admin = server.admin_token
    r = server.api("POST", "/admin/users", token=admin, body={"name": "carol", "credits": 300})
    js = assert_ok(r, 201)
    carol, token = js["user"], js["token"]["token"]
    assert carol["balance"] == 300 and carol["isAdmin"] is False
    assert balance(server, token) == 300  # the token works at once
    assert_error(server.api("POST", "/admin/users", token=admin, body={"name": "carol"}), 409, "conflict")
    assert_error(server.api("POST", "/admin/users", token=admin, body={"name": "bad name!"}), 422,
                 "invalid_request", "name")
    users = assert_ok(server.api("GET", "/admin/users", token=admin))["users"]
    assert {"carol", "admin"} <= {u["name"] for u in users}

    credits = f"/admin/users/{carol['id']}/credits"
    r = server.api("POST", credits, token=admin, body={"kind": "grant", "amount": 50, "note": "support ticket 7"})
    assert assert_ok(r)["user"]["balance"] == 350
    r = server.api("POST", credits, token=admin, body={"kind": "adjust", "amount": -400, "note": "too much"})
    assert_error(r, 402, "insufficient_credits")
    r = server.api("POST", credits, token=admin, body={"kind": "adjust", "amount": -100, "note": "chargeback"})
    assert assert_ok(r)["user"]["balance"] == 250
    assert_error(server.api("POST", credits, token=admin, body={"kind": "grant", "amount": 5}), 422,
                 "invalid_request", "note")
    assert_error(server.api("POST", credits, token=admin, body={"kind": "grant", "amount": -5, "note": "x"}), 422,
                 "invalid_request", "amount")
    entries = assert_ok(server.api("GET", "/credits/ledger", token=token))["entries"]
    assert [(e["kind"], e["amount"], e["note"]) for e in entries[:2]] == \
        [("adjust", -100, "chargeback"), ("grant", 50, "support ticket 7")]
    server.check_ledger()

    r = server.api("POST", f"/admin/users/{carol['id']}/tokens", token=admin, body={"label": "ci"})
    second = assert_ok(r, 201)["token"]
    tokens = assert_ok(server.api("GET", f"/admin/tokens?userId={carol['id']}", token=admin))["tokens"]
    assert {t["label"] for t in tokens} == {"admin api", "ci"}
    assert all("token" not in t and "hash" not in t for t in tokens)
    assert_ok(server.api("DELETE", f"/admin/tokens/{second['id']}", token=admin))
    assert server.api("GET", "/credits", token=second["token"]).status == 401
    assert balance(server, token) == 250  # the other token still works
    assert_error(server.api("DELETE", f"/admin/tokens/{second['id']}", token=admin), 404, "not_found")


def test_generations_cancel_and_refund_by_hand(make_server):
    s = make_server(args=["--no-worker"])
    admin = s.admin_token
    dave = s.add_user("dave", credits=1000)
    pid = make_project(s, dave)
    g = assert_ok(generate(s, dave, pid), 201)["generation"]
    charged = g["creditUsed"]
    assert balance(s, dave) == 1000 - charged
    dave_id = assert_ok(s.api("GET", "/admin/users", token=admin))["users"][0]["id"]

    listed = assert_ok(s.api("GET", f"/admin/generations?userId={dave_id}&status=pending", token=admin))
    assert [x["id"] for x in listed["generations"]] == [g["id"]]
    assert listed["generations"][0]["userId"] == dave_id
    now = int(time.time() * 1000)
    assert assert_ok(s.api("GET", f"/admin/generations?until={now - 3600_000}", token=admin))["generations"] == []
    assert len(assert_ok(s.api("GET", f"/admin/generations?since={now - 3600_000}&provider=local",
                               token=admin))["generations"]) == 1
    assert_error(s.api("GET", "/admin/generations?status=lost", token=admin), 422, "invalid_request", "status")

    # refunding a generation that has not ended is refused; the admin's cancel refunds it once
    assert_error(s.api("POST", f"/admin/generations/{g['id']}/refund", token=admin), 409, "conflict")
    r = assert_ok(s.api("POST", f"/admin/generations/{g['id']}/cancel", token=admin))
    assert r["generation"]["status"] == "cancelled"
    assert balance(s, dave) == 1000
    r = s.api("POST", f"/admin/generations/{g['id']}/refund", token=admin, body={"note": "again?"})
    assert_error(r, 409, "conflict")
    assert balance(s, dave) == 1000
    s.check_ledger()


def test_refund_of_a_completed_generation_happens_once(make_server):
    s = make_server()
    admin = s.admin_token
    erin = s.add_user("erin", credits=1000)
    g = assert_ok(generate(s, erin, make_project(s, erin)), 201)["generation"]
    assert wait_for(s, erin, g["id"])["status"] == "completed"
    after_charge = balance(s, erin)
    r = assert_ok(s.api("POST", f"/admin/generations/{g['id']}/refund", token=admin,
                        body={"note": "the fox had five legs"}))
    assert r["refunded"] == g["creditUsed"]
    assert balance(s, erin) == after_charge + g["creditUsed"]
    for _ in range(2):
        assert_error(s.api("POST", f"/admin/generations/{g['id']}/refund", token=admin), 409, "conflict")
    assert balance(s, erin) == after_charge + g["creditUsed"]
    con = s.db()
    try:
        refunds = con.execute("SELECT count(*), max(note) FROM credit_ledger WHERE generation_id = ? "
                              "AND kind = 'refund'", (g["id"],)).fetchone()
    finally:
        con.close()
    assert refunds == (1, "the fox had five legs")
    s.check_ledger()


def test_failed_jobs_with_their_last_error(make_server):
    s = make_server()
    admin = s.admin_token
    frank = s.add_user("frank", credits=1000)
    pid = make_project(s, frank)
    videos = s.data_dir / "videos"
    videos.rename(s.data_dir / "videos.keep")
    videos.write_text("not a directory")  # the render cannot be moved into place
    try:
        g = assert_ok(generate(s, frank, pid), 201)["generation"]
        assert wait_for(s, frank, g["id"])["status"] == "failed"
    finally:
        videos.unlink()
        (s.data_dir / "videos.keep").rename(videos)
    ok = assert_ok(generate(s, frank, pid, prompt="this one works"), 201)["generation"]
    assert wait_for(s, frank, ok["id"])["status"] == "completed"
    failed = assert_ok(s.api("GET", "/admin/failed", token=admin))["failed"]
    assert [f["id"] for f in failed] == [g["id"]]
    assert "cannot move the video into place" in failed[0]["lastError"]
    assert failed[0]["attempts"] and failed[0]["attempts"][-1]["outcome"] == "failed"
    # the worker refunded it already: a refund by hand changes nothing
    before = balance(s, frank)
    assert_error(s.api("POST", f"/admin/generations/{g['id']}/refund", token=admin), 409, "conflict")
    assert balance(s, frank) == before


def test_a_disabled_user_is_refused_until_enabled(server):
    admin = server.admin_token
    js = assert_ok(server.api("POST", "/admin/users", token=admin, body={"name": "gina", "credits": 10}), 201)
    gina, token = js["user"], js["token"]["token"]
    assert gina["disabledAt"] is None and balance(server, token) == 10
    r = assert_ok(server.api("POST", f"/admin/users/{gina['id']}/disable", token=admin))
    assert r["user"]["disabledAt"] is not None
    assert_error(server.api("GET", "/credits", token=token), 401, "unauthorized")
    assert_error(server.api("POST", f"/admin/users/{gina['id']}/tokens", token=admin, body={}), 409, "conflict")
    made = server.cli("token", "create", "gina")  # the CLI's token is made, and not taken while disabled
    assert made.returncode == 0, made.stderr
    cli_token = made.stdout.strip()
    assert_error(server.api("GET", "/credits", token=cli_token), 401, "unauthorized")
    tokens = assert_ok(server.api("GET", f"/admin/tokens?userId={gina['id']}", token=admin))["tokens"]
    assert [t["revokedAt"] is not None for t in tokens] == [False, True]  # newest first: the CLI's is live
    listed = {u["name"]: u for u in assert_ok(server.api("GET", "/admin/users", token=admin))["users"]}
    assert listed["gina"]["disabledAt"] == r["user"]["disabledAt"]

    r = assert_ok(server.api("POST", f"/admin/users/{gina['id']}/enable", token=admin))
    assert r["user"]["disabledAt"] is None
    assert_error(server.api("GET", "/credits", token=token), 401, "unauthorized")  # revoked for good
    assert balance(server, cli_token) == 10
    fresh = assert_ok(server.api("POST", f"/admin/users/{gina['id']}/tokens", token=admin, body={}), 201)
    assert balance(server, fresh["token"]["token"]) == 10

    me = listed["admin"]["id"]
    assert_error(server.api("POST", f"/admin/users/{me}/disable", token=admin), 409, "conflict")
    assert_error(server.api("POST", "/admin/users/01J0000000000000000000000Z/disable", token=admin), 404, "not_found")
