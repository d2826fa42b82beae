"""Whole numbers from outside (query strings, settings, command-line options) are read by one
parser: digits with an optional '-', nothing else, in range, no overflow. Each caller keeps
its own message."""

import subprocess

import pytest

from conftest import BIN, assert_error, assert_ok, base_env, free_port, run_cli

# Not a whole number: strtol alone took the first four (spaces, '+', a clamped overflow).
NOT_WHOLE = ["+5", " 5", "5 ", "99999999999999999999", "5x", "0x10", "1.5", "-"]


@pytest.mark.parametrize("value", NOT_WHOLE)
def test_generations_limit(server, value):
    r = server.api("GET", f"/generations?limit={_q(value)}", token=server.admin_token)
    err = assert_error(r, 422, "invalid_request", "limit")
    assert err["message"] == "limit must be a whole number from 1 to 100"


@pytest.mark.parametrize("name,message", [("limit", "limit must be a whole number from 1 to 200"),
                                          ("before", "before must be a ledger entry id (nextCursor)")])
@pytest.mark.parametrize("value", NOT_WHOLE)
def test_ledger_query_numbers(server, name, value, message):
    r = server.api("GET", f"/credits/ledger?{name}={_q(value)}", token=server.admin_token)
    err = assert_error(r, 422, "invalid_request", name)
    assert err["message"] == message


def test_in_range_query_numbers_still_work(server):
    tok = server.admin_token
    assert len(assert_ok(server.api("GET", "/credits/ledger?limit=1", token=tok))["entries"]) == 1
    assert assert_ok(server.api("GET", "/credits/ledger?before=9223372036854775807", token=tok))["entries"]
    assert assert_ok(server.api("GET", "/generations?limit=100", token=tok))["generations"] == []


def _q(value):
    return value.replace(" ", "%20").replace("+", "%2B")


@pytest.mark.parametrize("value", ["+2", " 2", "2 ", "99999999999999999999"])
def test_settings(tmp_path, value):
    env = base_env(tmp_path / "data", addr=f"127.0.0.1:{free_port()}", extra={"VIDGEN_THREADS": value})
    r = subprocess.run([BIN, "serve"], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=15)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"VIDGEN_THREADS must be a whole number from 0 to 256, not '{value}'" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["+5", " 5", "99999999999999999999"])
def test_cli_credits(server, value):
    r = server.cli("user", "add", "numbers", "--credits", value)
    assert r.returncode == 2 and "--credits must be a whole number from 0 to 1000000000" in r.stderr, r
    r = server.cli("credits", "grant", "admin", value)
    assert r.returncode == 2 and "usage: vidgen credits grant NAME N" in r.stderr, r


@pytest.mark.parametrize("option,value", [("--duration", "+1"), ("--duration", " 1"),
                                          ("--duration", "99999999999"), ("--timeout", "+5")])
def test_cli_generate(tmp_path, option, value):
    env = base_env(tmp_path / "data", addr=f"127.0.0.1:{free_port()}", extra={"VIDGEN_TOKEN": "x"})
    args = ["generate", "--model", "local-preview", "--prompt", "a cat", "--wait", option, value]
    r = run_cli(args, tmp_path, env)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{option} must be a positive whole number of seconds" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["+5", " 5", "99999999999999999999"])
def test_cli_estimate_duration(tmp_path, value):
    r = run_cli(["estimate", "--model", "veo3", "--duration", value], tmp_path, base_env(tmp_path / "data"))
    assert r.returncode == 2 and "usage: vidgen estimate" in r.stderr, (r.returncode, r.stderr)


def test_cli_estimate_passes_any_whole_duration_to_the_model_check(tmp_path):
    r = run_cli(["estimate", "--model", "veo3", "--duration", "-8"], tmp_path, base_env(tmp_path / "data"))
    assert r.returncode == 1 and "duration" in r.stderr, (r.returncode, r.stderr)


@pytest.mark.parametrize("value", ["+2", " 2", "99999999999"])
def test_cli_render(tmp_path, value):
    r = run_cli(["render", "--prompt", "x", "--duration", value, str(tmp_path / "o.mp4")], tmp_path,
                base_env(tmp_path / "data"))
    assert r.returncode == 2, (r.returncode, r.stderr)
