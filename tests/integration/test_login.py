"""Accounts in the browser: password login, the session cookie, its CSRF guard, expiry,
logout and the login rate limit (api/auth.h)."""

import re
import time

import pytest

from conftest import PREFIX, assert_error, assert_ok

PASSWORD = "correct horse battery"


def add_user(server, name, password=PASSWORD, credits=100):
    r = server.cli("user", "add", name, "--credits", str(credits), "--password-stdin", input=password + "\n")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def login(server, name, password=PASSWORD, headers=None):
    return server.request("POST", "/auth/login", body={"name": name, "password": password}, headers=headers)


def session_of(r):
    """The session cookie's value and the CSRF token from a successful login reply."""
    js = assert_ok(r)
    m = re.match(r"vg_session=([^;]+)", r.headers.get("set-cookie", ""))
    assert m, f"no session cookie in {r.headers}"
    return m.group(1), js["csrfToken"]


def with_cookie(server, cookie, csrf=None, origin="own"):
    """Headers a same-origin page sends with the cookie (and, when given, the CSRF token)."""
    h = {"Cookie": f"vg_session={cookie}"}
    if origin == "own":
        h["Origin"] = f"http://127.0.0.1:{server.port}"
    elif origin is not None:
        h["Origin"] = origin
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    return h


def test_login_sets_a_strict_httponly_cookie_the_api_accepts(server):
    add_user(server, "carol")
    r = login(server, "carol")
    cookie, csrf = session_of(r)
    attrs = [a.strip().lower() for a in r.headers["set-cookie"].split(";")]
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs, attrs
    assert r.json["user"]["name"] == "carol" and r.json["user"]["balance"] == 100
    # reads with the cookie alone; writes with the cookie from the own origin and the token
    assert_ok(server.api("GET", "/credits", headers=with_cookie(server, cookie, origin=None)))
    made = assert_ok(server.api("POST", "/projects", body={"name": "by cookie"},
                                headers=with_cookie(server, cookie, csrf)), 201)
    listed = assert_ok(server.api("GET", "/projects", headers=with_cookie(server, cookie)))
    assert [p["id"] for p in listed["projects"]] == [made["project"]["id"]]
    # a reloaded page gets the same CSRF token back from the session
    again = assert_ok(server.request("GET", "/auth/session", headers=with_cookie(server, cookie)))
    assert again["csrfToken"] == csrf and again["user"]["name"] == "carol"
    # the API prefix answers too
    assert_ok(server.api("GET", "/auth/session", headers=with_cookie(server, cookie)))


def test_sessions_and_passwords_are_stored_hashed(server):
    add_user(server, "dave")
    cookie, _ = session_of(login(server, "dave"))
    con = server.db()
    try:
        pw = con.execute("SELECT password_hash FROM users WHERE name = 'dave'").fetchone()[0]
        rows = con.execute("SELECT token_hash FROM sessions").fetchall()
    finally:
        con.close()
    assert pw.startswith("$argon2id$") and PASSWORD not in pw
    assert rows and all(cookie not in r[0] for r in rows)


def test_wrong_password_and_unknown_name_get_the_same_refusal(server):
    add_user(server, "erin")
    wrong = login(server, "erin", "not the password")
    nobody = login(server, "nobody-at-all", "not the password")
    for r in (wrong, nobody):
        assert_error(r, 401, "unauthorized")
        assert "set-cookie" not in r.headers
    assert wrong.json["error"]["message"] == nobody.json["error"]["message"]


@pytest.mark.parametrize("body,field", [
    ({"name": "x"}, "password"),
    ({"password": "long enough"}, "name"),
    ({"name": "", "password": "long enough"}, "name"),
    ({"name": "x", "password": 12345678}, "password"),
    ({"name": "x", "password": "p" * 1025}, "password"),
    ({"token": 5}, "token"),
])
def test_malformed_login_is_refused_with_the_field(server, body, field):
    assert_error(server.request("POST", "/auth/login", body=body), 422, "invalid_request", field)


def test_a_user_without_a_password_cannot_log_in_with_one(server):
    server.add_user("tokenonly")
    assert_error(login(server, "tokenonly", "anything at all"), 401, "unauthorized")


def test_login_with_an_api_token(server):
    token = server.add_user("frank", credits=7)
    cookie, _ = session_of(server.request("POST", "/auth/login", body={"token": token}))
    me = assert_ok(server.request("GET", "/auth/session", headers=with_cookie(server, cookie)))
    assert me["user"]["name"] == "frank" and me["user"]["balance"] == 7
    assert_error(server.request("POST", "/auth/login", body={"token": "vg_wrong"}), 401, "unauthorized")


def test_cross_site_post_with_the_cookie_is_refused(server):
    add_user(server, "grace")
    cookie, csrf = session_of(login(server, "grace"))
    attempts = {
        "another origin": with_cookie(server, cookie, csrf, origin="http://evil.example"),
        "no origin": with_cookie(server, cookie, csrf, origin=None),
        "no csrf token": with_cookie(server, cookie),
        "wrong csrf token": with_cookie(server, cookie, "0" * 32),
        "cross-site fetch": {**with_cookie(server, cookie, csrf), "Sec-Fetch-Site": "cross-site"},
    }
    for what, headers in attempts.items():
        r = server.api("POST", "/projects", body={"name": f"forged ({what})"}, headers=headers)
        assert_error(r, 403, "forbidden")
        assert_error(server.api("DELETE", "/projects/01AAAAAAAAAAAAAAAAAAAAAAAA", headers=headers), 403, "forbidden")
    listed = assert_ok(server.api("GET", "/projects", headers=with_cookie(server, cookie)))
    assert listed["projects"] == [], "a refused request created something"
    # another user's CSRF token does not fit this session
    add_user(server, "heidi")
    _, other_csrf = session_of(login(server, "heidi"))
    assert_error(server.api("POST", "/projects", body={"name": "x"}, headers=with_cookie(server, cookie, other_csrf)),
                 403, "forbidden")
    # and a login form posted from another site is refused too
    assert_error(login(server, "grace", headers={"Origin": "http://evil.example"}), 403, "forbidden")


def test_logout_invalidates_the_cookie(server):
    add_user(server, "ivan")
    cookie, csrf = session_of(login(server, "ivan"))
    assert_ok(server.api("GET", "/credits", headers=with_cookie(server, cookie)))
    assert_error(server.request("POST", "/auth/logout", headers=with_cookie(server, cookie)), 403, "forbidden")
    r = server.request("POST", "/auth/logout", headers=with_cookie(server, cookie, csrf))
    assert_ok(r)
    assert re.match(r"vg_session=;.*Max-Age=0", r.headers["set-cookie"]), r.headers
    for path in ("/credits", "/projects", "/auth/session"):
        assert_error(server.api("GET", path, headers=with_cookie(server, cookie)), 401, "unauthorized")
    # a second session of the same user is not affected
    other, _ = session_of(login(server, "ivan"))
    assert_ok(server.api("GET", "/credits", headers=with_cookie(server, other)))


def test_new_password_ends_the_sessions_and_only_it_works(server):
    add_user(server, "judy")
    cookie, _ = session_of(login(server, "judy"))
    r = server.cli("user", "passwd", "judy", "--password-stdin", input="a brand new secret\n")
    assert r.returncode == 0, r.stderr
    assert "1 web session ended" in r.stdout
    assert_error(server.api("GET", "/credits", headers=with_cookie(server, cookie)), 401, "unauthorized")
    assert_error(login(server, "judy"), 401, "unauthorized")
    session_of(login(server, "judy", "a brand new secret"))


def test_cli_refuses_short_or_missing_passwords(server):
    r = server.cli("user", "add", "kim", "--password-stdin", input="short\n")
    assert r.returncode == 1 and "at least 8" in r.stderr
    r = server.cli("user", "add", "kim", "--password-stdin", input="")
    assert r.returncode == 1 and "standard input" in r.stderr
    con = server.db()
    try:
        assert con.execute("SELECT count(*) FROM users WHERE name = 'kim'").fetchone()[0] == 0
    finally:
        con.close()
    r = server.cli("user", "passwd", "no-such-user", "--password-stdin", input="long enough pw\n")
    assert r.returncode == 1 and "no user named" in r.stderr


def test_first_admin_password_is_printed_once_and_works(make_server):
    s = make_server()
    m = re.search(r"password \(shown this once\): (\S+)", s.stdout_text())
    assert m, s.stdout_text()
    me = assert_ok(login(s, "admin", m.group(1)))
    assert me["user"]["name"] == "admin" and me["user"]["isAdmin"] is True
    s.stop()
    s.start()
    assert s.stdout_text().count("shown this once") == 1


def test_rate_limit_per_name(make_server):
    s = make_server()
    add_user(s, "lena")
    add_user(s, "mike")
    for _ in range(5):
        assert_error(login(s, "lena", "wrong guess!"), 401, "unauthorized")
    r = login(s, "lena")  # even the right password, until the window ends
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 60
    session_of(login(s, "mike"))  # another name from the same address still logs in


def test_failed_token_logins_lock_nobody_else_out(make_server):
    s = make_server()
    token = s.add_user("pat")
    for _ in range(8):
        assert_error(s.request("POST", "/auth/login", body={"token": "vg_guess"}), 401, "unauthorized")
    session_of(s.request("POST", "/auth/login", body={"token": token}))


def test_rate_limit_per_address(make_server):
    s = make_server()
    add_user(s, "nina")
    for i in range(20):
        assert_error(login(s, f"guess{i}", "wrong guess!"), 401, "unauthorized")
    r = login(s, "nina")
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0


def test_session_expires(make_server):
    s = make_server(extra_env={"VIDGEN_SESSION_SECONDS": "2"})
    add_user(s, "olga")
    r = login(s, "olga")
    cookie, _ = session_of(r)
    assert "max-age=2" in r.headers["set-cookie"].lower()
    assert_ok(s.api("GET", "/credits", headers=with_cookie(s, cookie)))
    time.sleep(2.5)
    assert_error(s.api("GET", "/credits", headers=with_cookie(s, cookie)), 401, "unauthorized")


def test_a_disabled_user_loses_the_session_and_cannot_log_in(server):
    add_user(server, "hank")
    cookie, _ = session_of(login(server, "hank"))
    me = assert_ok(server.request("GET", "/auth/session", headers=with_cookie(server, cookie)))["user"]
    assert_ok(server.api("POST", f"/admin/users/{me['id']}/disable", token=server.admin_token))
    assert_error(server.api("GET", "/credits", headers=with_cookie(server, cookie, origin=None)), 401, "unauthorized")
    assert_error(login(server, "hank"), 401, "unauthorized")
    assert_ok(server.api("POST", f"/admin/users/{me['id']}/enable", token=server.admin_token))
    assert_error(server.api("GET", "/credits", headers=with_cookie(server, cookie, origin=None)), 401, "unauthorized")
    cookie, _ = session_of(login(server, "hank"))  # a new login works again
    assert_ok(server.api("GET", "/credits", headers=with_cookie(server, cookie, origin=None)))
