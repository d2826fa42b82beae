"""kill -9 at any moment loses no job: after a restart every generation reaches a terminal
state, none is charged twice, none refunded twice, and the ledger still adds up."""

import signal
import time

from conftest import assert_ok
from pipeline import generate, make_project, probe, status, wait_for

LEASE = {"VIDGEN_LEASE_SECONDS": "2", "VIDGEN_RENDER_THREADS": "2"}


def kill_while_rendering(server, token, ids):
    """Waits until a render is under way, then kills the server without warning."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(status(server, token, g)["status"] == "processing" and status(server, token, g)["progress"] > 0
               for g in ids):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no generation started rendering")
    server.send_signal(signal.SIGKILL)
    server.wait_exit()


def charges_and_refunds(server, gen_id):
    con = server.db()
    try:
        return dict(con.execute("SELECT kind, count(*) FROM credit_ledger WHERE generation_id = ? GROUP BY kind",
                                (gen_id,)).fetchall())
    finally:
        con.close()


def test_kill_9_while_rendering_loses_no_job_and_charges_once(make_server, tmp_path):
    s = make_server(extra_env=LEASE)
    tok = s.admin_token
    pid = make_project(s, tok)
    ids = [assert_ok(generate(s, tok, pid, prompt=f"crash test {i}", duration=3), 201)["generation"]["id"]
           for i in range(6)]

    for crash in range(2):
        kill_while_rendering(s, tok, ids)
        s.check_ledger()
        for g in ids:
            assert charges_and_refunds(s, g) == {"charge": 1}, "a crash neither charges nor refunds"
        s.start()  # same data dir: the dead worker's leases expire and are taken over

    for g in ids:
        assert wait_for(s, tok, g, timeout=180)["status"] == "completed"
        assert charges_and_refunds(s, g) == {"charge": 1}
        codec, w, h, secs = probe(s.data_dir / "videos" / f"{g}.mp4")
        assert (codec, w, h) == ("h264", 1280, 720) and abs(secs - 3) < 0.15
    s.check_ledger()
    con = s.db()
    try:
        attempts = [r[0] for r in con.execute("SELECT attempts FROM generations").fetchall()]
    finally:
        con.close()
    assert max(attempts) >= 2, "some job was taken over after the crash"
