"""The administration and estimate CLI, run beside a live server on the same data dir."""

import json
import re

import pytest

from conftest import PgConnection, assert_error, assert_ledger_invariant, assert_ok, base_env, connect_ro, \
    database_env, run_cli


def balance(server, token):
    return assert_ok(server.api("GET", "/credits", token=token))["balance"]


def token_ids(server, name):
    con = server.db()
    try:
        return {r[0] for r in con.execute(
            "SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = ?",
            (name,))}
    finally:
        con.close()


# -- user add -------------------------------------------------------------------------------

def test_user_add_prints_only_the_token_and_it_works_at_once(server):
    r = server.cli("user", "add", "carol", "--credits", "500")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, f"stdout must be the token alone: {r.stdout!r}"
    token = lines[0]
    assert token.startswith("vg_") and token == token.strip(), token
    # the running server accepts the new token right away
    assert balance(server, token) == 500


def test_user_add_admin_flag(server):
    server.add_user("dora", admin=True)
    server.add_user("ed")
    con = server.db()
    try:
        flags = dict(con.execute("SELECT name, is_admin FROM users WHERE name IN ('dora','ed')"))
    finally:
        con.close()
    assert flags == {"dora": 1, "ed": 0}


def test_user_add_duplicate_name_fails_and_keeps_first_user(server):
    token = server.add_user("frank", credits=40)
    r = server.cli("user", "add", "frank", "--credits", "900")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "vg_" not in r.stdout, "a token was printed for a user that was not created"
    assert balance(server, token) == 40


@pytest.mark.parametrize("name", ["bad name", "", "a/b", "x" * 65])
def test_user_add_bad_name_is_usage_error(server, name):
    r = server.cli("user", "add", name)
    assert r.returncode == 2, (name, r.returncode, r.stdout, r.stderr)
    assert r.stdout.strip() == ""
    con = server.db()
    try:
        assert con.execute("SELECT COUNT(*) FROM users WHERE name = ?", (name,)).fetchone()[0] == 0
    finally:
        con.close()


# -- credits grant --------------------------------------------------------------------------

def test_credits_grant_adds_to_balance(server):
    token = server.add_user("gina", credits=500)
    r = server.cli("credits", "grant", "gina", "250")
    assert r.returncode == 0, r.stderr
    assert "gina now has 750 credits" in r.stdout, r.stdout
    js = assert_ok(server.api("GET", "/credits", token=token))
    assert js["balance"] == 750
    assert js["idr"] == 750 * 50
    server.check_ledger()


def test_credits_grant_unknown_user(server):
    r = server.cli("credits", "grant", "nobody-here", "10")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("i,amount", enumerate(["0", "-3", "abc", "1.5", ""]))
def test_credits_grant_bad_amount_is_usage_error(server, i, amount):
    name = f"hal{i}"
    token = server.add_user(name, credits=100)
    r = server.cli("credits", "grant", name, amount)
    assert r.returncode == 2, (amount, r.returncode, r.stdout, r.stderr)
    assert balance(server, token) == 100


# -- tokens ---------------------------------------------------------------------------------

def test_token_create_gives_a_second_working_token(server):
    first = server.add_user("ivan", credits=70)
    r = server.cli("token", "create", "ivan", "laptop")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vg_"), r.stdout
    second = lines[0]
    assert second != first
    # both tokens act as the same user
    pid = assert_ok(server.api("POST", "/projects", body={"name": "ivan's"}, token=first),
                    201)["project"]["id"]
    assert assert_ok(server.api("GET", f"/projects/{pid}", token=second))["project"]["id"] == pid
    assert balance(server, second) == 70
    assert balance(server, first) == 70

    r = server.cli("token", "create", "ivan")  # label is optional
    assert r.returncode == 0 and r.stdout.strip().startswith("vg_"), r


def test_token_create_unknown_user_fails(server):
    r = server.cli("token", "create", "nobody-at-all")
    assert r.returncode != 0
    assert "vg_" not in r.stdout


def test_token_revoke_by_token(server):
    keep = server.add_user("jill")
    gone = server.cli("token", "create", "jill").stdout.strip()
    assert balance(server, gone) == 0
    r = server.cli("token", "revoke", gone)
    assert r.returncode == 0, r.stderr
    assert_error(server.api("GET", "/credits", token=gone), 401, "unauthorized")
    # the user's other token is untouched
    assert balance(server, keep) == 0


def test_token_revoke_by_id(server):
    keep = server.add_user("kim")
    before = token_ids(server, "kim")
    gone = server.cli("token", "create", "kim", "ci").stdout.strip()
    new_ids = token_ids(server, "kim") - before
    assert len(new_ids) == 1
    (tid,) = new_ids
    assert balance(server, gone) == 0
    r = server.cli("token", "revoke", tid)
    assert r.returncode == 0, r.stderr
    assert_error(server.api("GET", "/projects", token=gone), 401, "unauthorized")
    assert balance(server, keep) == 0


def test_token_revoke_unknown_fails(server):
    r = server.cli("token", "revoke", "vg_this-token-does-not-exist")
    assert r.returncode != 0


# -- migrate --------------------------------------------------------------------------------

def applied_versions(workdir):
    """How many migrations the database of the vidgen processes in `workdir` records."""
    url = database_env(workdir).get("DATABASE_URL")
    con = PgConnection(url) if url else connect_ro(workdir / "data" / "vidgen.db")
    try:
        return con.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    finally:
        con.close()


def test_migrate_on_fresh_dir_then_again(tmp_path, make_server):
    (tmp_path / "data").mkdir()
    env = base_env(tmp_path / "data", extra=database_env(tmp_path))
    r = run_cli(["migrate"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    m = re.search(r"applied (\d+) migrations?\b", r.stdout)
    assert m, r.stdout
    n = int(m.group(1))
    assert n >= 1
    assert n == applied_versions(tmp_path)
    r = run_cli(["migrate"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"applied 0 migrations\b", r.stdout), r.stdout
    # serve starts on the migrated database, with nothing left to apply
    s = make_server(workdir=tmp_path)
    assert assert_ok(s.api("GET", "/credits", token=s.admin_token))["balance"] == 10000
    assert applied_versions(tmp_path) == n


def test_migrate_creates_a_missing_data_dir_like_serve_does(tmp_path):
    # a fresh install: ./data does not exist yet; `serve` creates it, so must `migrate`
    env = base_env(tmp_path / "data")
    r = run_cli(["migrate"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"applied [1-9]\d* migrations?\b", r.stdout), r.stdout
    assert (tmp_path / "data" / "vidgen.db").exists()


def test_migrate_on_the_live_servers_database(server):
    r = server.cli("migrate")
    assert r.returncode == 0, r.stderr
    assert re.search(r"applied 0 migrations\b", r.stdout), r.stdout
    assert server.request("GET", "/healthz").status == 200


# -- estimate -------------------------------------------------------------------------------

def test_estimate_table(server):
    r = server.cli("estimate", "--model", "veo3", "--resolution", "1080p", "--duration", "8")
    assert r.returncode == 0, r.stderr
    assert re.search(r"\b3250\b", r.stdout), r.stdout
    assert re.search(r"\b2500\b", r.stdout) and re.search(r"\b750\b", r.stdout), r.stdout


@pytest.mark.parametrize("args,body", [
    (["--model", "veo3", "--resolution", "1080p", "--duration", "8"],
     {"modelId": "veo3", "resolution": "1080p", "duration": 8}),
    (["--model", "kling-2.5", "--resolution", "1080p", "--duration", "10", "--start-image"],
     {"modelId": "kling-2.5", "resolution": "1080p", "duration": 10, "startImagePath": "/x.png"}),
    (["--model", "seedance-t2v"], {"modelId": "seedance-t2v"}),
])
def test_estimate_json_matches_the_api(server, args, body):
    r = server.cli("estimate", *args, "--json")
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    api = assert_ok(server.api("POST", "/estimate-credits", body=body))["estimate"]
    assert cli == api


def test_estimate_json_veo3_1080p(server):
    r = server.cli("estimate", "--model", "veo3", "--resolution", "1080p", "--duration", "8",
                   "--json")
    assert r.returncode == 0, r.stderr
    est = json.loads(r.stdout)
    assert est["total"] == 3250
    assert est["breakdown"] == {"base": 2500, "resolution": 750}
    assert est["idr"] == 162500
    assert est["model"] == "Google Veo 3"
    assert est["provider"] == "ModelsLab"
    assert est["modelId"] == "veo3"


def test_estimate_unknown_model(server):
    r = server.cli("estimate", "--model", "no-such-model")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip()


def test_estimate_out_of_limits_is_refused(server):
    r = server.cli("estimate", "--model", "veo3", "--duration", "16")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "duration" in r.stderr


@pytest.mark.parametrize("args", [["--bogus"], ["--model", "veo3", "--frobnicate"]])
def test_estimate_bad_usage(server, args):
    r = server.cli("estimate", *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("content,problem", [
    (None, "No such file or directory"),
    ("{\"models\": [", "invalid JSON"),
    ("{\"models\": []}", "non-empty array"),
])
def test_estimate_with_a_bad_catalog_names_the_file_and_the_problem(tmp_path, content, problem):
    catalog = tmp_path / "my-catalog.json"
    if content is not None:
        catalog.write_text(content)
    env = base_env(tmp_path / "data", extra={"VIDGEN_CATALOG": str(catalog)})
    r = run_cli(["estimate", "--model", "veo3"], tmp_path, env)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert str(catalog) in r.stderr and problem in r.stderr, r.stderr


def test_unknown_command_is_usage_error(server):
    r = server.cli("frobnicate")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)


# -- end of module --------------------------------------------------------------------------

def test_zz_ledger_invariant_after_cli_module(server):
    server.check_ledger()
    server.stop()
    assert_ledger_invariant(server)
