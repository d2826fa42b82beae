#!/usr/bin/env python3
"""bench/flood.py: GET /models while strangers flood the server, against GET /models alone.

    python3 bench/flood.py          (from the repository root; `make bench` runs it too)

One vidgen server. wrk (64 connections, 2 threads, --latency) measures GET /models for
BENCH_SECONDS, first alone, then while a flood without any token runs from other processes
on the same loopback, then alone again; the table shows each run's requests per second and
p99, and the server's peak RSS during it. The flood, bounded in time like each wrk run:
  - FLOOD_CONNECTIONS connections park bodies that never finish (60 KB of a 60,001-byte
    body each, the most a body may be) and are reopened when the server drops them;
  - two processes loop opening connections that announce 16 MB and push data (refused
    with 413 before it is read) or send chunked bodies until refused.
On 2 cores the flooding processes compete with wrk and the server for the CPU, so part of
any drop in throughput is the load generator's own share, not the server's.

Environment: BENCH_SECONDS (default 10), FLOOD_CONNECTIONS (default 300), VIDGEN_BIN.
"""

import multiprocessing
import multiprocessing.pool
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("VIDGEN_BIN", str(ROOT / "build" / "vidgen"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PARKED = int(os.environ.get("FLOOD_CONNECTIONS", "300"))
PREFIX = "/api/apps/video-generator"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def head(port, extra):
    return (f"POST {PREFIX}/estimate-credits HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            + "\r\n").encode()


def park(port, until):
    """Keeps PARKED connections each holding an unfinished 60 KB body."""
    socks = []
    while time.monotonic() < until:
        socks = [s for s in socks if s.fileno() >= 0]
        while len(socks) < PARKED and time.monotonic() < until:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(head(port, {"Content-Length": 60001}) + b"{" * 60000)
                socks.append(s)
            except OSError:
                break
        time.sleep(0.5)
        for s in list(socks):  # the server closes them after its request timeout
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    s.close()
            except BlockingIOError:
                pass
            except OSError:
                s.close()
    for s in socks:
        s.close()


def push(port, until, chunked):
    """Loops: announce 16 MB (or chunked) and push data until refused."""
    data = (b"4000\r\n" + b"a" * 0x4000 + b"\r\n") if chunked else b"x" * 65536
    hdr = head(port, {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": 16 << 20})
    while time.monotonic() < until:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(hdr)
            sent = 0
            while sent < (1 << 20):
                sent += s.send(data)
        except OSError:
            pass
        finally:
            s.close()


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}{PREFIX}/models"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def measure(port, pid, flood):
    procs = []
    if flood:
        until = time.monotonic() + SECONDS + 1
        procs = [multiprocessing.Process(target=park, args=(port, until)),
                 multiprocessing.Process(target=push, args=(port, until, False)),
                 multiprocessing.Process(target=push, args=(port, until, True))]
        for p in procs:
            p.start()
        time.sleep(1.0)  # let the parked connections fill up
    peak = [rss_mb(pid)]
    run = multiprocessing.pool.ThreadPool(1).apply_async(wrk, (port, SECONDS))
    while not run.ready():
        peak.append(rss_mb(pid))
        time.sleep(0.1)
    result = run.get()
    for p in procs:
        p.join(SECONDS + 5)
    return result + (max(peak),)


def main():
    if shutil.which("wrk") is None:
        sys.exit("bench/flood.py: wrk is missing (make bench-deps)")
    port = free_port()
    work = tempfile.mkdtemp(prefix="vidgen-flood-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGEN_")}
    env.update(VIDGEN_DATA_DIR=f"{work}/data", VIDGEN_ADDR=f"127.0.0.1:{port}", VIDGEN_ACCESS_LOG="off")
    server = subprocess.Popen([BIN, "serve", "--no-worker"], env=env, cwd=work,
                              stdout=subprocess.DEVNULL, stderr=open(f"{work}/stderr", "w"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        wrk(port, 2)  # warm-up
        rows = [("alone", measure(port, server.pid, False)),
                ("during the flood", measure(port, server.pid, True)),
                ("alone, after", measure(port, server.pid, False))]
        print(f"GET /models, wrk 64 connections {SECONDS} s; flood: {PARKED} parked 60 KB bodies "
              "+ 16 MB announcers + chunked pushers, no token")
        print(f"{'run':<18} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>8} {'peak RSS MB':>12}")
        for name, (rps, p99, bad, peak) in rows:
            print(f"{name:<18} {rps:>10.0f} {p99:>8.2f} {bad:>8d} {peak:>12.1f}")
        base = rows[0][1]
        during = rows[1][1]
        print(f"during/alone: {during[0] / base[0]:.2f}x req/s, {during[1] / base[1]:.2f}x p99")
        if any(r[1][2] for r in rows):
            sys.exit("bench/flood.py: GET /models had non-2xx replies")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
