"""Helpers for tests of the generation pipeline: projects, generations, waiting, probing."""

import json
import subprocess
import time

from conftest import assert_ok

WAIT_TIMEOUT = 120.0


def make_project(server, token, name="p"):
    r = server.api("POST", "/projects", body={"name": name}, token=token)
    return assert_ok(r, 201)["project"]["id"]


def generate(server, token, project_id, key=None, **fields):
    body = {"projectId": project_id, "modelId": "local-preview", "prompt": "a red fox in the snow",
            "resolution": "720p", "duration": 1}
    body.update(fields)
    headers = {"Idempotency-Key": key} if key else None
    return server.api("POST", "/generate", body=body, token=token, headers=headers)


def status(server, token, gen_id):
    return assert_ok(server.api("GET", f"/generations/{gen_id}/status", token=token))["status"]


def wait_for(server, token, gen_id, want=("completed", "failed", "cancelled"), timeout=WAIT_TIMEOUT,
             predicate=None):
    """Polls the status until it is one of `want` (or predicate(status) holds); returns it."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = status(server, token, gen_id)
        if (predicate(st) if predicate else st["status"] in want):
            return st
        time.sleep(0.1)
    raise AssertionError(f"generation {gen_id} still {st} after {timeout}s\n{server.stderr_tail()}")


def balance(server, token):
    return assert_ok(server.api("GET", "/credits", token=token))["balance"]


def ledger(server, token, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return assert_ok(server.api("GET", "/credits/ledger" + (f"?{qs}" if qs else ""), token=token))


def probe(path):
    """ffprobe's view of the first video stream: codec, width, height, duration (s)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,width,height:format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    j = json.loads(out)
    s = j["streams"][0]
    return s["codec_name"], s["width"], s["height"], float(j["format"]["duration"])


def ledger_rows(server, gen_id):
    con = server.db()
    try:
        return con.execute("SELECT kind, amount FROM credit_ledger WHERE generation_id = ? ORDER BY id",
                           (gen_id,)).fetchall()
    finally:
        con.close()
