"""`vidgen generate` and `vidgen status`: the CLI client run against a live `vidgen serve`.

The CLI runs in the server's working directory with the server's environment, so it finds
the server (VIDGEN_ADDR) and the first admin's token (DATA_DIR/admin-token) by itself.
Generations use the built-in local renderer ("local-preview", 1 s clips: a real render
that takes a second or two)."""

import json
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import BIN, PREFIX, assert_ok, base_env, free_port, run_cli

QUICK = ["--model", "local-preview", "--prompt", "a red ball bouncing", "--duration", "1"]
WAIT_TIMEOUT = 120  # seconds a --wait run may take before the test gives up on it

QUEUED = re.compile(r"^generation (\S+) queued, (\d+) credits$")
PLAIN_PROGRESS = re.compile(r"^(pending|processing|completed|failed|cancelled) (\d{1,3})%$")
BAR = re.compile(r"\[[#-]{20}\]\s+\d{1,3}% [a-z]+")


def cli(server, *args, env=None, timeout=WAIT_TIMEOUT):
    return run_cli(args, server.workdir, env or server.env, timeout=timeout)


def queued_id(line):
    m = QUEUED.match(line)
    assert m, f"expected 'generation ID queued, N credits', got {line!r}"
    return m.group(1)


def video_url_re(server):
    return re.compile(r"^http://127\.0\.0\.1:%d%s/generations/(\S+)/video$" % (server.port, re.escape(PREFIX)))


def projects(server, token):
    return assert_ok(server.api("GET", "/projects", token=token))["projects"]


# -- generate --wait, not on a terminal ---------------------------------------------------

def test_generate_wait_prints_plain_progress_then_the_video_url(server):
    r = cli(server, "generate", *QUICK, "--wait")
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert "\r" not in r.stdout, "no progress bar when stdout is not a terminal"
    gen_id = queued_id(lines[0])

    progress = [PLAIN_PROGRESS.match(l) for l in lines[1:-1]]
    assert progress and all(progress), f"every middle line is '<status> <n>%': {lines}"
    seen = [(m.group(1), int(m.group(2))) for m in progress]
    assert seen[-1] == ("completed", 100), seen
    assert all(a != b for a, b in zip(seen, seen[1:])), f"a line is printed only on change: {seen}"
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents), seen

    m = video_url_re(server).match(lines[-1])
    assert m and m.group(1) == gen_id, f"the last line is the video's URL: {lines[-1]!r}"
    # the URL is the real one: it serves the video to the owner
    reply = server.request("GET", lines[-1].split(str(server.port), 1)[1], token=server.admin_token)
    assert reply.status == 200, reply
    assert len(reply.body) > 1000, "the video is not empty"

    s = cli(server, "status", gen_id)
    assert s.returncode == 0, s.stderr
    assert s.stdout == f"{gen_id} completed 100% {lines[-1]}\n", s.stdout
    server.check_ledger()


def test_generate_without_project_uses_the_newest_or_creates_cli(make_server):
    s = make_server()
    token = s.admin_token
    assert projects(s, token) == []

    r = cli(s, "generate", *QUICK)
    assert r.returncode == 0, r.stderr
    first = queued_id(r.stdout.splitlines()[0])
    ps = projects(s, token)
    assert [p["name"] for p in ps] == ["CLI"], ps
    cli_project = ps[0]["id"]

    # with a project in place, no second "CLI" project is made
    r = cli(s, "generate", *QUICK)
    assert r.returncode == 0, r.stderr
    assert [p["name"] for p in projects(s, token)] == ["CLI"]

    # the newest project is the one used
    newer = assert_ok(s.api("POST", "/projects", body={"name": "newer"}, token=token), 201)["project"]["id"]
    r = cli(s, "generate", *QUICK)
    assert r.returncode == 0, r.stderr
    third = queued_id(r.stdout.splitlines()[0])

    owners = {p["id"]: {g["id"] for g in p.get("generations", [])} for p in projects(s, token)}
    assert first in owners[cli_project], owners
    assert third in owners[newer], owners


def test_generate_into_a_given_project_with_the_env_token(server):
    token = server.add_user("cliuser", credits=1000)
    pid = assert_ok(server.api("POST", "/projects", body={"name": "mine"}, token=token), 201)["project"]["id"]
    env = dict(server.env, VIDGEN_TOKEN=token)
    r = cli(server, "generate", *QUICK, "--project", pid, env=env)
    assert r.returncode == 0, r.stderr
    gen_id = queued_id(r.stdout.splitlines()[0])
    mine = assert_ok(server.api("GET", f"/projects/{pid}", token=token))["project"]
    assert gen_id in {g["id"] for g in mine.get("generations", [])}, mine
    # the generation belongs to that user, not to the admin
    assert cli(server, "status", gen_id, env=env).returncode == 0
    r = cli(server, "status", gen_id)
    assert r.returncode == 1, (r.stdout, r.stderr)


def test_generate_json_prints_the_reply_on_stdout(server):
    r = cli(server, "generate", *QUICK, "--json")
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    assert js["success"] is True
    gen = js["generation"]
    assert QUEUED.match(r.stderr.strip()), r.stderr
    assert queued_id(r.stderr.strip()) == gen["id"]
    assert f"queued, {gen['creditUsed']} credits" in r.stderr

    s = cli(server, "status", gen["id"], "--json")
    assert s.returncode == 0, s.stderr
    st = json.loads(s.stdout)["status"]
    assert st["id"] == gen["id"]
    assert st["status"] in ("pending", "processing", "completed")


def test_generate_wait_json_prints_the_final_status_and_url(server):
    r = cli(server, "generate", *QUICK, "--wait", "--json")
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    assert js["status"]["status"] == "completed" and js["status"]["progress"] == 100, js
    assert video_url_re(server).match(js["url"]), js
    assert js["url"].endswith(js["status"]["videoUrl"])
    # the progress went to stderr
    assert "completed 100%" in r.stderr


def test_idempotency_key_returns_the_same_generation(server):
    args = ["generate", *QUICK, "--idempotency-key", "cli-test-key-1"]
    a = cli(server, *args)
    b = cli(server, *args)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert queued_id(a.stdout.splitlines()[0]) == queued_id(b.stdout.splitlines()[0])


# -- generate --wait on a terminal --------------------------------------------------------

@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) from util-linux")
def test_generate_wait_draws_a_bar_on_a_terminal(server):
    cmd = shlex.join([BIN, "generate", *QUICK, "--wait"])
    # bytes, not text: universal newlines would turn every '\r' into '\n'
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], cwd=str(server.workdir), env=server.env,
                       capture_output=True, timeout=WAIT_TIMEOUT, stdin=subprocess.DEVNULL)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, (out, r.stderr)
    assert "\r[" in out, f"the bar is redrawn in place: {out!r}"
    bars = BAR.findall(out)
    assert bars and bars[-1].startswith("[" + "#" * 20 + "] 100% completed"), bars
    assert not re.search(r"(?m)^(pending|processing|completed) \d+%\r?$", out), "no plain lines on a tty"
    last = [l for l in out.replace("\r\n", "\n").split("\n") if l.strip()][-1].strip()
    assert video_url_re(server).match(last), f"the URL ends the output: {last!r}"


# -- errors from the server -----------------------------------------------------------------

def assert_server_error(r, *words):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("vidgen: "), r.stderr
    assert "queued" not in r.stdout
    for w in words:
        assert w in r.stderr.lower(), f"{w!r} not in {r.stderr!r}"


def test_validation_error_shows_the_servers_message_and_field(server):
    r = cli(server, "generate", "--model", "veo3", "--prompt", "a cat", "--duration", "16")
    assert_server_error(r, "duration")
    assert "(field duration)" in r.stderr, r.stderr


def test_unknown_model_fails(server):
    r = cli(server, "generate", "--model", "no-such-model", "--prompt", "a cat")
    assert_server_error(r)


def test_unknown_project_fails(server):
    r = cli(server, "generate", *QUICK, "--project", "no-such-project")
    assert_server_error(r)


def test_too_few_credits_fails(server):
    token = server.add_user("pauper", credits=0)
    r = cli(server, "generate", *QUICK, env=dict(server.env, VIDGEN_TOKEN=token))
    assert_server_error(r, "credit")


def test_unknown_token_fails(server):
    r = cli(server, "generate", *QUICK, env=dict(server.env, VIDGEN_TOKEN="vg_not_a_real_token"))
    assert_server_error(r, "token")


def test_status_of_an_unknown_generation_fails(server):
    for args in (["status", "no-such-generation"], ["status", "no/such?id"], ["status", "x", "--json"]):
        r = cli(server, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("vidgen: ") and r.stdout == "", (args, r.stderr)


def test_server_url_from_vidgen_url(server, tmp_path):
    # VIDGEN_URL wins over VIDGEN_ADDR; a trailing slash is fine
    env = dict(server.env, VIDGEN_URL=f"http://127.0.0.1:{server.port}/",
               VIDGEN_ADDR=f"127.0.0.1:{free_port()}", VIDGEN_TOKEN=server.admin_token)
    r = cli(server, "generate", *QUICK, "--wait", env=env)
    assert r.returncode == 0, r.stderr
    assert video_url_re(server).match(r.stdout.splitlines()[-1]), r.stdout


# -- errors found before or without a server ----------------------------------------------

@pytest.mark.parametrize("args", [
    ["generate"],
    ["generate", "--model", "local-preview"],
    ["generate", "--prompt", "a cat"],
    ["generate", *QUICK, "--bogus"],
    ["generate", *QUICK, "extra"],
    ["generate", "--model", "local-preview", "--prompt", "a cat", "--duration", "0"],
    ["generate", "--model", "local-preview", "--prompt", "a cat", "--duration", "-3"],
    ["generate", "--model", "local-preview", "--prompt", "a cat", "--duration", "1.5"],
    ["generate", "--model", "local-preview", "--prompt", "a cat", "--duration", "abc"],
    ["generate", "--model", "local-preview", "--prompt", "a cat", "--duration", ""],
    ["generate", *QUICK, "--timeout", "5"],
    ["generate", *QUICK, "--wait", "--timeout", "0"],
    ["status"],
    ["status", "a", "b"],
    ["status", "a", "--bogus"],
])
def test_usage_errors_exit_2(tmp_path, args):
    env = base_env(tmp_path / "data", addr=f"127.0.0.1:{free_port()}", extra={"VIDGEN_TOKEN": "x"})
    r = run_cli(args, tmp_path, env)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    assert "usage: vidgen" in r.stderr and r.stdout == "", (args, r.stderr)


@pytest.mark.parametrize("args", [["generate", *QUICK], ["status", "g1"]])
def test_no_token_tells_to_set_vidgen_token(tmp_path, args):
    env = base_env(tmp_path / "data", addr=f"127.0.0.1:{free_port()}")
    r = run_cli(args, tmp_path, env)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "VIDGEN_TOKEN" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["generate", *QUICK], ["generate", *QUICK, "--wait"], ["status", "g1"]])
def test_server_down_says_cannot_reach(tmp_path, args):
    port = free_port()
    env = base_env(tmp_path / "data", addr=f"127.0.0.1:{port}", extra={"VIDGEN_TOKEN": "x"})
    r = run_cli(args, tmp_path, env)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert f"vidgen: cannot reach the server at http://127.0.0.1:{port}" in r.stderr, r.stderr
