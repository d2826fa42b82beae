#!/usr/bin/python3
"""Generations completed per second through the whole pipeline (HTTP → store → queue →
worker → local renderer → probe → thumbnail → store), on local-preview at its smallest size
(720p 1:1, 1 s), against the reference of the renderer alone doing the same clips through
`vidgen render` with the same parallelism. The difference is what the pipeline costs.

Usage: /usr/bin/python3 bench/pipeline.py [N]     (N generations, default 40)
Assumes build/vidgen is built (make bench builds it)."""

import concurrent.futures
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = str(REPO / "build" / "vidgen")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 40
THREADS = os.cpu_count() or 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def pipeline(tmp):
    port = free_port()
    env = dict(os.environ, VIDGEN_ADDR=f"127.0.0.1:{port}", VIDGEN_DATA_DIR=f"{tmp}/data",
               VIDGEN_ACCESS_LOG="off", VIDGEN_ADMIN_CREDITS="1000000", VIDGEN_LOG_LEVEL="warn")
    srv = subprocess.Popen([BIN, "serve"], cwd=tmp, env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/apps/video-generator"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        token = pathlib.Path(tmp, "data", "admin-token").read_text().strip()
        pid = call(base, token, "POST", "/projects", {"name": "bench"})["project"]["id"]
        body = {"projectId": pid, "modelId": "local-preview", "resolution": "720p", "aspectRatio": "1:1",
                "duration": 1}
        start = time.monotonic()
        ids = [call(base, token, "POST", "/generate", dict(body, prompt=f"bench clip {i}"))["generation"]["id"]
               for i in range(N)]
        submitted = time.monotonic() - start
        pending = set(ids)
        while pending:
            page = call(base, token, "GET", "/generations?status=completed&limit=100")["generations"]
            pending -= {g["id"] for g in page}
            failed = call(base, token, "GET", "/generations?status=failed&limit=1")["generations"]
            if failed:
                raise SystemExit(f"a generation failed: {failed[0]['errorMessage']}")
            time.sleep(0.02)
        total = time.monotonic() - start
        return total, submitted
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def reference(tmp):
    def one(i):
        subprocess.run([BIN, "render", "--prompt", f"bench clip {i}", "--resolution", "720p",
                        "--aspect-ratio", "1:1", "--duration", "1", f"{tmp}/ref{i}.mp4"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([BIN, "thumbnail", f"{tmp}/ref{i}.mp4", f"{tmp}/ref{i}.jpg"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(one, range(N)))
    return time.monotonic() - start


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ref = reference(tmp)
        total, submitted = pipeline(tmp)
    print(f"local-preview 720x720 1 s, {N} generations, {THREADS} render threads, nproc {os.cpu_count()}")
    print(f"{'':38} {'seconds':>8} {'per second':>11}")
    print(f"{'pipeline (HTTP → worker → completed)':38} {total:8.2f} {N / total:11.2f}")
    print(f"{'  of which submitting (POST /generate)':38} {submitted:8.2f} {N / submitted:11.1f}")
    print(f"{'reference: vidgen render + thumbnail':38} {ref:8.2f} {N / ref:11.2f}")
    print(f"pipeline / reference: {ref / total:.2f} of the renderer's own rate")


if __name__ == "__main__":
    main()
