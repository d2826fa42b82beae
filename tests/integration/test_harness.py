"""The fixtures see the server's own faults: a run that exits non-zero on SIGTERM, or that
leaves a sanitizer report on its stderr, fails the test; a kill or an exit code declared
beforehand does not."""

import signal

import pytest

from conftest import ANY_EXIT, PG, sanitizer_report

LEAK_REPORT = """=================================================================
==4242==ERROR: LeakSanitizer: detected memory leaks

Direct leak of 16 byte(s) in 1 object(s) allocated from:
    #0 0x7f in malloc
    #1 0x55 in api_something src/api/something.c:12
SUMMARY: AddressSanitizer: 16 byte(s) leaked in 1 allocation(s).
"""


def test_sanitizer_report_finds_each_sanitizer():
    assert sanitizer_report("info: listening\nall good\n") is None
    assert sanitizer_report(LEAK_REPORT).startswith("==4242==ERROR: LeakSanitizer")
    assert sanitizer_report("==1==ERROR: AddressSanitizer: heap-use-after-free on address")
    assert sanitizer_report("src/core/pricing.c:9:5: runtime error: signed integer overflow")
    assert sanitizer_report("SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior x.c:1:1")


def test_a_clean_sigterm_stop_passes(make_server):
    s = make_server()
    assert s.stop() == 0
    assert s.runs[-1].checked


def test_a_sanitizer_report_on_stderr_fails_the_stop(make_server):
    s = make_server()
    with open(s.stderr_path, "a") as f:  # as the sanitizer would write it, at exit
        f.write(LEAK_REPORT)
    with pytest.raises(AssertionError) as e:
        s.stop()
    msg = str(e.value)
    assert "left a sanitizer report" in msg and "api/something.c:12" in msg, msg
    assert "--- server stderr (tail) ---" in msg, msg
    assert not s.alive()


def test_a_report_of_an_earlier_run_fails_the_restart(make_server):
    s = make_server()
    s.send_signal(signal.SIGTERM)
    assert s.wait_exit() == 0
    with open(s.stderr_path, "a") as f:
        f.write(LEAK_REPORT)
    with pytest.raises(AssertionError, match="run 1 of vidgen serve .* left a sanitizer report on its stderr"):
        s.start()
    assert not s.alive()


def test_an_unexpected_exit_code_fails(make_server):
    s = make_server()
    s.send_signal(signal.SIGTERM)
    s.wait_exit()
    s.runs[-1].returncode = 3  # as if the stop had failed
    with pytest.raises(AssertionError, match=r"exited with 3 after SIGTERM \(expected exit code 0\)"):
        s.check()


def test_a_declared_exit_code_passes(make_server):
    s = make_server(extra_env={"VIDGEN_THREADS": "not-a-number"}, start=False)
    s.expect_exit(1)
    s.start(wait=False)
    assert s.wait_exit() == 1
    s.stop()


def test_a_wrong_declared_exit_code_fails(make_server):
    s = make_server(extra_env={"VIDGEN_THREADS": "not-a-number"}, start=False)
    s.start(wait=False)
    assert s.wait_exit() == 1
    s.expect_exit(2)
    with pytest.raises(AssertionError, match=r"exited with 1 without being asked to \(expected exit code 2\)"):
        s.stop()


def test_kill_is_on_purpose(make_server):
    s = make_server()
    s.kill()
    assert s.returncode == -signal.SIGKILL
    s.start()
    s.send_signal(signal.SIGKILL)
    s.wait_exit()
    s.stop()


def test_any_exit_accepts_a_signal_death(make_server):
    s = make_server()
    s.expect_exit()
    assert s.runs[-1].expect is ANY_EXIT
    s.send_signal(signal.SIGUSR2)  # terminates it: exit code -12
    s.wait_exit()
    s.stop()


def test_cli_sanitizer_report_fails(tmp_path, monkeypatch):
    import conftest

    def fake_run(*a, **kw):
        import subprocess
        return subprocess.CompletedProcess(a, 0, "", LEAK_REPORT)

    monkeypatch.setattr(conftest.subprocess, "run", fake_run)
    with pytest.raises(AssertionError, match="vidgen migrate: sanitizer report"):
        conftest.run_cli(["migrate"], tmp_path, {})


def test_the_server_runs_on_the_backend_asked_for(make_server):
    """VIDGEN_TEST_BACKEND=postgres puts each server on its own PostgreSQL database (no SQLite
    file at all); by default it is the SQLite file in its data dir. server.db() reads the
    same data either way."""
    a, b = make_server(), make_server()
    a.add_user("only-in-a", credits=5)
    for s in (a, b):
        assert (s.database_url is not None) == PG
        assert (s.db_path.exists()) == (not PG), s.db_path
    assert a.database_url != b.database_url or not PG, "two servers share a database"
    con = a.db()
    try:
        assert con.execute("SELECT balance FROM users WHERE name = ?", ("only-in-a",)).fetchone() == (5,)
    finally:
        con.close()
    con = b.db()
    try:
        assert con.execute("SELECT count(*) FROM users WHERE name = ?", ("only-in-a",)).fetchone()[0] == 0
    finally:
        con.close()
