"""Configuration: first-start admin, environment and .env, --addr, and refused bad values."""

import os
import socket
import stat
import subprocess

import pytest

from conftest import BIN, assert_ok, base_env, free_port


def credits_of(server, token):
    return assert_ok(server.api("GET", "/credits", token=token))["balance"]


def test_first_start_creates_admin_with_default_credits(make_server):
    s = make_server()
    token_file = s.data_dir / "admin-token"
    assert token_file.exists(), "serve did not write <data>/admin-token"
    mode = stat.S_IMODE(os.stat(token_file).st_mode)
    assert mode == 0o600, f"admin-token has mode {oct(mode)}, expected 0o600"
    token = s.admin_token
    assert token.startswith("vg_"), token
    assert token in s.stdout_text(), "the first-start banner on stdout does not show the token"

    js = assert_ok(s.api("GET", "/credits", token=token))
    assert js["balance"] == 10000
    assert js["idr"] == 10000 * 50

    con = s.db()
    try:
        rows = con.execute("SELECT name, is_admin, balance FROM users").fetchall()
    finally:
        con.close()
    assert rows == [("admin", 1, 10000)]
    s.check_ledger()


def test_admin_credits_setting_is_used(make_server):
    s = make_server(extra_env={"VIDGEN_ADMIN_CREDITS": "1234"})
    assert credits_of(s, s.admin_token) == 1234
    s.check_ledger()


def test_restart_keeps_admin_and_does_not_regrant(make_server):
    s = make_server()
    token = s.admin_token
    s.stop()  # exit codes of a stop are checked in test_http.py
    s.start()
    # same token still works, no second admin, no second grant
    assert s.admin_token == token
    assert credits_of(s, token) == 10000
    con = s.db()
    try:
        assert con.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    finally:
        con.close()
    s.check_ledger()


def test_dotenv_in_working_directory_is_read(tmp_path, make_server):
    wd = tmp_path / "w"
    wd.mkdir()
    port = free_port()
    # the server's address and the admin credits come only from ./.env
    (wd / ".env").write_text(
        "# comment line\n"
        f"VIDGEN_ADDR=127.0.0.1:{port}\n"
        "VIDGEN_ADMIN_CREDITS=777\n"
        "MODELSLAB_API_KEY=from-dotenv\n")
    s = make_server(workdir=wd, port=port, use_addr_env=False)
    assert "VIDGEN_ADDR" not in s.env
    assert credits_of(s, s.admin_token) == 777
    # the key from .env is seen: veo3 is no longer "unavailable because the key is not set"
    models = assert_ok(s.api("GET", "/models"))["models"]
    veo3 = next(m for m in models if m["id"] == "veo3")
    assert "MODELSLAB_API_KEY" not in (veo3["unavailableReason"] or ""), veo3
    nova = next(m for m in models if m["id"] == "nova-reel")
    assert "EDENAI_API_KEY" in nova["unavailableReason"], nova
    s.check_ledger()


def test_environment_wins_over_dotenv(tmp_path, make_server):
    wd = tmp_path / "w"
    wd.mkdir()
    dotenv_port = free_port()
    (wd / ".env").write_text(f"VIDGEN_ADDR=127.0.0.1:{dotenv_port}\n"
                             "VIDGEN_ADMIN_CREDITS=777\n")
    s = make_server(workdir=wd, extra_env={"VIDGEN_ADMIN_CREDITS": "888"})
    assert s.port != dotenv_port
    assert credits_of(s, s.admin_token) == 888
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", dotenv_port), timeout=2).close()


def test_addr_flag_overrides_environment(make_server):
    env_port = free_port()
    flag_port = free_port()
    while flag_port == env_port:
        flag_port = free_port()
    s = make_server(extra_env={"VIDGEN_ADDR": f"127.0.0.1:{env_port}"},
                    args=["--addr", f"127.0.0.1:{flag_port}"], port=flag_port)
    assert s.request("GET", "/healthz").status == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", env_port), timeout=2).close()


BAD_CONFIG = [
    ("VIDGEN_ADDR", "nonsense"),
    ("VIDGEN_ADDR", "127.0.0.1:99999"),
    ("VIDGEN_THREADS", "abc"),
    ("DATABASE_URL", "mysql://x"),
    ("VIDGEN_LOG_LEVEL", "loud"),
    ("VIDGEN_LOG_FORMAT", "yaml"),
    ("VIDGEN_METRICS", "maybe"),
    ("VIDGEN_LOG_FORMAT", "JSON"),
    ("VIDGEN_ADMIN_CREDITS", "-5"),
    ("VIDGEN_ADMIN_CREDITS", "lots"),
    ("EDENAI_WEBHOOK_PUBLIC_KEY", "/nonexistent/edenai-webhook.pub.pem"),
]


def _start_expecting_failure(tmp_path, env, args=()):
    wd = tmp_path / "w"
    wd.mkdir(exist_ok=True)
    try:
        return subprocess.run([BIN, "serve", *args], cwd=str(wd), env=env,
                              capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"serve kept running with a bad setting (stderr: {e.stderr!r})")


@pytest.mark.parametrize("var,value", BAD_CONFIG, ids=[f"{k}={v}" for k, v in BAD_CONFIG])
def test_bad_setting_stops_start_naming_the_variable(tmp_path, var, value):
    env = base_env(tmp_path / "w" / "data", addr=f"127.0.0.1:{free_port()}",
                   extra={var: value})
    r = _start_expecting_failure(tmp_path, env)
    assert r.returncode == 1, f"exit {r.returncode}, stderr: {r.stderr}"
    assert var in r.stderr, f"stderr does not name {var}: {r.stderr!r}"


def test_bad_setting_in_dotenv_is_refused_too(tmp_path):
    wd = tmp_path / "w"
    wd.mkdir()
    (wd / ".env").write_text("VIDGEN_THREADS=abc\n")
    env = base_env(wd / "data", addr=f"127.0.0.1:{free_port()}")
    r = _start_expecting_failure(tmp_path, env)
    assert r.returncode == 1, f"exit {r.returncode}, stderr: {r.stderr}"
    assert "VIDGEN_THREADS" in r.stderr, r.stderr


def test_bad_addr_flag_is_refused(tmp_path):
    env = base_env(tmp_path / "w" / "data", addr=f"127.0.0.1:{free_port()}")
    r = _start_expecting_failure(tmp_path, env, args=["--addr", "nonsense"])
    assert r.returncode != 0, r
    assert r.stderr.strip(), "no message on stderr"
