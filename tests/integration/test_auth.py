"""Authentication (Bearer tokens) and isolation between users."""

import pytest

from conftest import PREFIX, assert_error, assert_ok


@pytest.fixture(scope="module")
def alice(server):
    return server.add_user("alice", credits=300)


@pytest.fixture(scope="module")
def bob(server):
    return server.add_user("bob", credits=50)


@pytest.fixture(scope="module")
def alice_project(server, alice):
    return assert_ok(server.api("POST", "/projects",
                                body={"name": "alice's film", "description": "private"},
                                token=alice), 201)["project"]


# Every endpoint that needs a token: (method, path, body)
PROTECTED = [
    ("GET", "/projects", None),
    ("POST", "/projects", {"name": "x"}),
    ("GET", "/projects/{pid}", None),
    ("PATCH", "/projects/{pid}", {"name": "stolen"}),
    ("DELETE", "/projects/{pid}", None),
    ("GET", "/credits", None),
]

BAD_AUTH = {
    "no header": None,
    "basic": "Basic x",
    "basic with user:pass": "Basic YWxpY2U6c2VjcmV0",
    "bearer without token": "Bearer",
    "bearer with blank token": "Bearer ",
    "wrong token": "Bearer wrong",
    "wrong vg token": "Bearer vg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "token without scheme": "{alice}",
    "token with suffix": "Bearer {alice}x",
    "truncated token": "Bearer {alice_short}",
}


def _assert_401(r):
    assert_error(r, 401, "unauthorized")
    assert "www-authenticate" in r.headers, f"401 without WWW-Authenticate: {r.headers}"
    assert r.headers["www-authenticate"].lower().startswith("bearer"), r.headers


@pytest.mark.parametrize("method,path,body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
@pytest.mark.parametrize("case", list(BAD_AUTH), ids=list(BAD_AUTH))
def test_protected_endpoint_refuses_bad_credentials(server, alice, alice_project, method, path,
                                                    body, case):
    header = BAD_AUTH[case]
    headers = {}
    if header is not None:
        headers["Authorization"] = header.format(alice=alice, alice_short=alice[:-2])
    r = server.api(method, path.format(pid=alice_project["id"]), body=body, headers=headers)
    _assert_401(r)
    # nothing was changed by the refused request
    p = assert_ok(server.api("GET", f"/projects/{alice_project['id']}", token=alice))["project"]
    assert p == alice_project


def test_revoked_token_is_refused(server, alice):
    extra = server.cli("token", "create", "alice", "to-revoke").stdout.strip()
    assert assert_ok(server.api("GET", "/credits", token=extra))["balance"] == 300
    r = server.cli("token", "revoke", extra)
    assert r.returncode == 0, r.stderr
    for method, path, body in PROTECTED:
        _assert_401(server.api(method, path.format(pid="whatever"), body=body, token=extra))
    # alice's other token still works
    assert assert_ok(server.api("GET", "/credits", token=alice))["balance"] == 300


def test_scheme_is_case_insensitive(server, alice):
    # RFC 9110 §11.1: the auth scheme is case-insensitive ("bearer", "BEARER" work too)
    for scheme in ("bearer", "BEARER", "Bearer"):
        r = server.api("GET", "/credits", headers={"Authorization": f"{scheme} {alice}"})
        assert assert_ok(r)["balance"] == 300, scheme


def test_public_endpoints_need_no_token(server):
    assert server.request("GET", "/healthz").status == 200
    assert_ok(server.api("GET", "/models"))
    assert_ok(server.api("POST", "/estimate-credits", body={"modelId": "veo3"}))


def test_admin_token_works(server):
    js = assert_ok(server.api("GET", "/credits", token=server.admin_token))
    assert js["balance"] == 10000


# -- isolation --------------------------------------------------------------------------------

def test_other_users_project_is_not_found(server, alice, bob, alice_project):
    pid = alice_project["id"]
    assert_error(server.api("GET", f"/projects/{pid}", token=bob), 404, "not_found")
    assert_error(server.api("PATCH", f"/projects/{pid}", body={"name": "mine now"}, token=bob),
                 404, "not_found")
    assert_error(server.api("PATCH", f"/projects/{pid}", body={"description": None}, token=bob),
                 404, "not_found")
    assert_error(server.api("DELETE", f"/projects/{pid}", token=bob), 404, "not_found")
    # bob's list does not show it
    assert pid not in [p["id"] for p in assert_ok(server.api("GET", "/projects", token=bob))[
        "projects"]]
    # alice's project is untouched
    p = assert_ok(server.api("GET", f"/projects/{pid}", token=alice))["project"]
    assert p == alice_project
    assert pid in [p["id"] for p in assert_ok(server.api("GET", "/projects", token=alice))[
        "projects"]]


def test_not_found_for_other_user_looks_like_unknown_id(server, bob, alice_project):
    theirs = server.api("GET", f"/projects/{alice_project['id']}", token=bob)
    unknown = server.api("GET", "/projects/01ZZZZZZZZZZZZZZZZZZZZZZZZ", token=bob)
    assert theirs.status == unknown.status == 404
    assert theirs.json["error"]["code"] == unknown.json["error"]["code"]


def test_lists_are_per_user(server, alice, bob):
    mine = assert_ok(server.api("POST", "/projects", body={"name": "bob's"}, token=bob),
                     201)["project"]
    alice_ids = [p["id"] for p in assert_ok(server.api("GET", "/projects", token=alice))[
        "projects"]]
    assert mine["id"] not in alice_ids
    assert_error(server.api("GET", f"/projects/{mine['id']}", token=alice), 404, "not_found")
    bob_ids = [p["id"] for p in assert_ok(server.api("GET", "/projects", token=bob))["projects"]]
    assert mine["id"] in bob_ids


def test_balances_are_per_user(server, alice, bob):
    assert assert_ok(server.api("GET", "/credits", token=alice))["balance"] == 300
    assert assert_ok(server.api("GET", "/credits", token=bob))["balance"] == 50


def test_unauthorized_on_unknown_path_is_still_404(server):
    # an unknown endpoint is 404 whether or not a token is sent
    assert_error(server.request("GET", PREFIX + "/nope"), 404, "not_found")


def test_zz_ledger_invariant_after_auth_module(server):
    server.check_ledger()
