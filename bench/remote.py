#!/usr/bin/python3
"""Remote generations through the worker's libcurl loop, against a fast fake ModelsLab
(bench/remote_fake.c), with curl's own multi interface doing the same requests as the
reference (bench/remote_curl.c), in the same run.

  (a) BENCH_JOBS (10,000) generations in flight at the provider at once. Each job answers
      "processing" to BENCH_POLLS (4) polls with an eta of BENCH_ETA (2.0) s, then success
      with a tiny MP4, which vidgen downloads, probes and thumbnails. Measured on the vidgen
      process (/proc): peak RSS, threads, CPU per poll (utime+stime over the polls the fake
      served, in the window where only polls happen), time to drain. Reference: remote_curl
      making the same requests against a fresh fake with the same plan. Targets: one thread
      for all network I/O, peak RSS < 200 MB, CPU per poll <= 1.5x the reference's.
  (b) BENCH_INSTANT_JOBS (3,000) generations against a fake whose submit answers success at
      once (ModelsLab's instant plan): generations completed per second, end to end (claim,
      submit, download, probe, thumbnail, complete), and the CPU each thread of vidgen spends
      per generation. Target >= 300/s.

Usage: /usr/bin/python3 bench/remote.py        (about 2.5 minutes; make bench runs it)

Settings (environment): BENCH_JOBS, BENCH_POLLS, BENCH_ETA, BENCH_INSTANT_JOBS,
BENCH_ROUNDS (3: runs of (a), vidgen and the reference in turn; the CPU-per-poll target is
read on the median ratio), BENCH_TIMEOUT (180: seconds per vidgen run), BENCH_CONCURRENCY
(1000: the reference's transfers at once, as the worker's WORKER_MAX_REMOTE), BENCH_REF_MAXCONNECTS (the reference's
connection cache, CURLMOPT_MAXCONNECTS; unset: curl's default, 4 per transfer under way; the
worker keeps 1000), BENCH_QUIET_WAIT (30: seconds to wait
for the machine to go quiet), BENCH_PERF (1: perf record of part (b), summary printed),
BENCH_KEEP (1: keep the data directories, which are otherwise removed after a good run),
VIDGEN_BIN (build/vidgen). Needs cc and the libcurl and jansson headers (make deps), ffmpeg
(the MP4, made once by tests/fakes/common.py, the one the Python fakes serve). Exits 0
whether or not the targets are met, 1 when something fails to run (a generation that does
not complete, a process that dies).

Setup: the generations are written straight into SQLite, as tests/integration/test_files.py's
insert_generation does, with their charges in the ledger. One real POST /generate (veo3, 8 s,
720p: ModelsLab v7) makes a template row, copied N-1 times with ids and times as if created
one per millisecond over the last N ms; the admin starts with VIDGEN_ADMIN_CREDITS=10^9. The
worker finds N due jobs when it starts."""

import http.client
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("VIDGEN_BIN", str(REPO / "build" / "vidgen"))
JOBS = int(os.environ.get("BENCH_JOBS", 10000))
POLLS = int(os.environ.get("BENCH_POLLS", 4))
ETA = float(os.environ.get("BENCH_ETA", 2.0))
INSTANT_JOBS = int(os.environ.get("BENCH_INSTANT_JOBS", 3000))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", 180))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", 3)))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 1000))
REF_MAXCONNECTS = os.environ.get("BENCH_REF_MAXCONNECTS")  # the reference's connection cache; curl's default
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", 30))
PERF = os.environ.get("BENCH_PERF") == "1"
KEEP = os.environ.get("BENCH_KEEP") == "1"
KEY = "ml-test-key"
TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
API = "/api/apps/video-generator"

sys.path.insert(0, str(REPO / "tests" / "fakes"))
import common  # noqa: E402  (the fakes' MP4)

MP4 = str(common.cached_file("sample.mp4", common._make_mp4))


class Failed(Exception):
    """Something did not run as it must: the bench exits 1."""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(tmp):
    """The fake and the reference, compiled for this run."""
    cflags = subprocess.run(["pkg-config", "--cflags", "jansson", "libcurl"], capture_output=True,
                            text=True).stdout.split()
    out = {}
    for name, libs in (("remote_fake", ["-ljansson"]), ("remote_curl", ["-lcurl"])):
        out[name] = f"{tmp}/{name}"
        subprocess.run(["cc", "-O2", "-g", "-Wall", "-o", out[name], str(REPO / "bench" / f"{name}.c"), *cflags,
                        *libs], check=True)
    return out


# -- /proc -------------------------------------------------------------------------------------

def proc_cpu(pid):
    """utime+stime of a whole process (its ended threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024  # MiB
            elif k == "Threads":
                out[k] = int(v)
    return out


def thread_cpu(pid):
    """{tid: CPU seconds} of each live thread."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return out


def machine_busy():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / TICK


def wait_quiet():
    """Waits up to QUIET_WAIT s for the machine to be under 10 % busy; returns the share."""
    deadline = time.monotonic() + QUIET_WAIT
    said = False
    while True:
        b0, t0 = machine_busy(), time.monotonic()
        time.sleep(1)
        share = (machine_busy() - b0) / (time.monotonic() - t0) / CORES
        if share < 0.10 or time.monotonic() > deadline:
            if said:
                log(f"  the machine is {share:.0%} busy: {'measuring' if share < 0.10 else 'measuring anyway'}")
            return share
        if not said:
            log(f"  waiting up to {QUIET_WAIT:.0f} s for the machine to go quiet ({share:.0%} of {CORES} cores busy)")
            said = True


def thread_roles(pid):
    """vidgen serve's threads by creation order (tids rise): main, the render pool
    (VIDGEN_RENDER_THREADS, one per core), the worker's loop, the HTTP event loops."""
    roles = {}
    tids = sorted(thread_cpu(pid))
    pool = int(os.environ.get("VIDGEN_RENDER_THREADS") or 0) or CORES
    roles[tids[0]] = "main"
    for t in tids[1:1 + pool]:
        roles[t] = "pool"
    if len(tids) > 1 + pool:
        roles[tids[1 + pool]] = "worker loop"
    for t in tids[2 + pool:]:
        roles[t] = "http loop"
    return roles


class Fake:
    """bench/remote_fake on a free port; stats() reads its counters."""

    def __init__(self, exe, polls, eta, instant=False):
        args = [exe, "--port", "0", "--mp4", MP4, "--polls", str(polls), "--eta", str(eta)]
        self.proc = subprocess.Popen(args + (["--instant"] if instant else []), stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url:
            raise Failed("the fake did not start")
        host, port = self.base_url.split("//")[1].split("/")[0].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def stats(self):
        self.conn.request("GET", "/stats")
        return json.loads(self.conn.getresponse().read())

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Sampler(threading.Thread):
    """Every 0.1 s: the process's CPU, memory, threads and each thread's CPU, the fake's
    counters and CPU, the machine's busy time, and extra() (the jobs left)."""

    def __init__(self, pid, fake, extra=None):
        super().__init__(daemon=True)
        self.pid, self.fake, self.extra = pid, fake, extra
        self.samples, self.stop_flag = [], threading.Event()
        self.peak = {"VmHWM": 0.0, "Threads": 0, "VmRSS": 0.0}

    def take(self):
        try:
            s = {"t": time.monotonic(), "cpu": proc_cpu(self.pid), "threads": thread_cpu(self.pid),
                 "machine": machine_busy(), "self": time.process_time(), "fake_cpu": self.fake.cpu()}
            st = proc_status(self.pid)
        except (OSError, IndexError):
            return None
        for k in self.peak:
            self.peak[k] = max(self.peak[k], st.get(k, 0))
        s.update(st)
        s["fake"] = self.fake.stats()
        if self.extra:
            s["left"], s["unreplied"] = self.extra()
        self.samples.append(s)
        return s

    def run(self):
        while not self.stop_flag.wait(0.1):
            if self.take() is None:
                break

    def finish(self):
        self.stop_flag.set()
        self.join()


def others_share(a, b):
    """The share of the machine's cores that processes other than the measured one, the
    fake and this script used between samples a and b."""
    ours = (b["cpu"] - a["cpu"]) + (b["fake_cpu"] - a["fake_cpu"]) + (b["self"] - a["self"])
    return max(0.0, (b["machine"] - a["machine"]) - ours) / max(1e-9, b["t"] - a["t"]) / CORES


# -- vidgen ------------------------------------------------------------------------------------

def vidgen_env(tmp, port, fake):
    return dict(os.environ, VIDGEN_ADDR=f"127.0.0.1:{port}", VIDGEN_DATA_DIR=f"{tmp}/data",
                VIDGEN_ACCESS_LOG="off", VIDGEN_ADMIN_CREDITS="1000000000", VIDGEN_LOG_LEVEL="info",
                MODELSLAB_API_KEY=KEY, MODELSLAB_BASE_URL=fake.base_url,
                # the bench measures the worker, not the per-provider limits: open them wide
                MODELSLAB_MAX_IN_FLIGHT="100000", MODELSLAB_REQUESTS_PER_MINUTE="600000")


def start_serve(tmp, env, args=()):
    port = env["VIDGEN_ADDR"].rsplit(":", 1)[1]
    with open(f"{tmp}/vidgen.log", "a") as err:
        p = subprocess.Popen([BIN, "serve", *args], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return p
        except OSError:
            if p.poll() is not None:
                raise Failed(f"vidgen serve exited with {p.returncode}; see {tmp}/vidgen.log")
            time.sleep(0.025)
    raise Failed("vidgen serve did not answer /healthz")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def call(port, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{API}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    """An id as util/id.c makes them: 48 bits of milliseconds, 80 random bits, 26 digits."""
    v = (ms << 80) | rnd
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


def prepare(tmp, fake, n):
    """A data dir holding n due veo3 generations (ModelsLab v7) of the first admin, each
    charged in the ledger; returns vidgen's environment."""
    os.makedirs(f"{tmp}/data")
    port = free_port()
    env = vidgen_env(tmp, port, fake)
    p = start_serve(tmp, env, ["--no-worker"])
    try:
        token = pathlib.Path(tmp, "data", "admin-token").read_text().strip()
        project = call(port, token, "POST", "/projects", {"name": "bench remote"})["project"]["id"]
        tpl = call(port, token, "POST", "/generate", {
            "projectId": project, "modelId": "veo3", "prompt": "a red fox in the snow", "resolution": "720p",
            "aspectRatio": "16:9", "duration": 8})["generation"]["id"]
    finally:
        stop(p)
    db = sqlite3.connect(f"{tmp}/data/vidgen.db", timeout=30)
    cols = [r[1] for r in db.execute("PRAGMA table_info(generations)")]
    row = dict(zip(cols, db.execute("SELECT * FROM generations WHERE id = ?", (tpl,)).fetchone()))
    if row["status"] != "pending" or row["provider"] != "modelslab":
        raise Failed(f"the template generation is not a pending ModelsLab one: {row}")
    user, credits = row["user_id"], row["credit_used"]
    now = int(time.time() * 1000)
    rows, ledger = [], []
    balance = db.execute("SELECT balance FROM users WHERE id = ?", (user,)).fetchone()[0]
    for i in range(n - 1):
        ms = now - (n - 1) + i
        gid = ulid(ms, random.getrandbits(80))
        r = dict(row, id=gid, created_at=ms, updated_at=ms, next_run_at=ms, prompt=f"a red fox in the snow {i}")
        rows.append(tuple(r[c] for c in cols))
        balance -= credits
        ledger.append((user, "charge", -credits, balance, gid, row["model_id"], ms))
    if balance < 0:
        raise Failed(f"{n} generations at {credits} credits exceed the admin's credits")
    with db:
        db.executemany(f"INSERT INTO generations ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        db.executemany("INSERT INTO credit_ledger (user_id, kind, amount, balance_after, generation_id, note, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", ledger)
        db.execute("UPDATE users SET balance = ? WHERE id = ?", (balance, user))
    db.close()
    return env


def run_vidgen(tmp, fake, n):
    """vidgen serve on a prepared data dir, sampled until every generation ended (or
    TIMEOUT)."""
    env = prepare(tmp, fake, n)
    db = sqlite3.connect(f"file:{tmp}/data/vidgen.db?mode=ro", uri=True, timeout=30, check_same_thread=False)

    unreplied = [None]

    def left():  # a read of the partial index; WAL: it never blocks the worker
        if unreplied[0] != 0:  # submits whose reply the worker has not yet processed (no provider id stored)
            unreplied[0] = db.execute("SELECT count(*) FROM generations WHERE status IN ('pending', 'processing') "
                                      "AND provider_job_id IS NULL").fetchone()[0]
        return db.execute("SELECT count(*) FROM generations WHERE status IN ('pending', 'processing')").fetchone()[0], \
            unreplied[0]

    base = fake.stats()
    t0 = time.monotonic()
    p = start_serve(tmp, env)
    roles = thread_roles(p.pid)
    sampler = Sampler(p.pid, fake, left)
    first = sampler.take()
    sampler.start()
    perf = None
    if PERF:
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-o", f"{tmp}/perf.data", "-p", str(p.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.monotonic() < t0 + TIMEOUT and p.poll() is None:
        if sampler.samples and sampler.samples[-1].get("left") == 0:
            break
        time.sleep(0.05)
    sampler.finish()
    end = sampler.take() or sampler.samples[-1]
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    died = p.poll()
    stop(p)
    res = {"samples": sampler.samples, "peak": sampler.peak, "t0": t0, "first": first, "end": end, "base": base,
           "roles": roles, "tmp": tmp}
    # when the last submit's reply had been processed: the first sample with a provider id on every job
    res["replied_at"] = next((s["t"] for s in sampler.samples if s.get("unreplied") == 0), float("inf"))
    res["status"] = dict(db.execute("SELECT status, count(*) FROM generations GROUP BY status").fetchall())
    res["completions"] = [r[0] for r in db.execute(
        "SELECT completed_at FROM generations WHERE status = 'completed' ORDER BY completed_at")]
    res["errors"] = db.execute("SELECT error_message, count(*) FROM generations WHERE status = 'failed' "
                               "GROUP BY error_message").fetchall()
    db.close()
    if died is not None:
        raise Failed(f"vidgen serve died ({died}) during the run; see {tmp}/vidgen.log")
    if res["status"].get("completed", 0) != n:
        raise Failed(f"{n} generations, not all completed in {TIMEOUT:.0f} s: {res['status']} {res['errors'][:3]}")
    f = {k: end["fake"][k] - base[k] for k in ("submits", "polls", "videos", "jobs", "connections")}
    if f["submits"] != n or f["jobs"] != n:
        raise Failed(f"the fake saw {f['submits']} submits and made {f['jobs']} jobs for {n} generations")
    res["fake"] = f
    return res


def run_reference(exe, fake, n):
    base = fake.stats()
    t0 = time.monotonic()
    args = [exe, fake.base_url, KEY, str(n), str(CONCURRENCY)] + ([REF_MAXCONNECTS] if REF_MAXCONNECTS else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    sampler = Sampler(p.pid, fake)
    first = sampler.take()
    sampler.start()
    out, err = p.communicate(timeout=TIMEOUT)
    out = out.split()
    done = [float(line.split()[1]) for line in err.splitlines() if line.startswith("submits-done ")]
    sampler.finish()
    if p.returncode != 0 or len(out) != 5:
        raise Failed(f"remote_curl failed ({p.returncode}): {out}")
    end = sampler.samples[-1]
    sub, polls, videos = (int(x) for x in out[:3])
    conns = fake.stats()["connections"] - base["connections"]
    return {"connections": conns, "samples": sampler.samples, "peak": sampler.peak, "t0": t0, "first": first, "end": end, "base": base,
            "submits": sub, "polls": polls, "videos": videos, "cpu": float(out[3]), "wall": float(out[4]),
            "replied_at": done[0] if done else float("inf")}


# -- analysis ----------------------------------------------------------------------------------

def poll_window(run, n):
    """The first and last samples of the stretch where only polls were made: every submit
    answered and its reply processed by the client (vidgen: every job has its provider id
    in the store; the reference: it says when it read the last reply), no video fetched
    yet. A submit the fake has answered may still wait in the client's socket, and its
    processing is submit work, not poll work."""
    inside = [s for s in run["samples"] if s["fake"]["submits"] - run["base"]["submits"] >= n
              and s["t"] >= run["replied_at"] and s["fake"]["videos"] == run["base"]["videos"]]
    return (inside[0], inside[-1]) if len(inside) >= 2 and inside[-1]["t"] - inside[0]["t"] >= 1 else None


def when(run, pred):
    """Seconds from the start to the first sample where pred(fake counters since start)."""
    for s in run["samples"]:
        if pred({k: s["fake"][k] - run["base"][k] for k in ("submits", "polls", "videos")}):
            return s["t"] - run["t0"]
    return float("nan")


def main():
    tmp = tempfile.mkdtemp(prefix="vidgen-bench-remote-")
    exes = build(tmp)
    log(f"bench/remote.py: {BIN}; (a) {JOBS} jobs x {POLLS} polls at eta {ETA} s; (b) {INSTANT_JOBS} instant; "
        f"files in {tmp}")
    quiet = wait_quiet()
    rounds = []
    for k in range(ROUNDS):  # vidgen and the reference in turn, so that both meet the machine's moods
        log(f"(a) vidgen, round {k + 1} of {ROUNDS} ...")
        fake = Fake(exes["remote_fake"], POLLS, ETA)
        try:
            a = run_vidgen(f"{tmp}/a{k}", fake, JOBS)
        finally:
            fake.stop()
        log(f"(a) curl multi reference, round {k + 1} of {ROUNDS} ...")
        fake = Fake(exes["remote_fake"], POLLS, ETA)
        try:
            ref = run_reference(exes["remote_curl"], fake, JOBS)
        finally:
            fake.stop()
        rounds.append((a, ref))
    log("(b) vidgen, instant ...")
    wait_quiet()
    fake = Fake(exes["remote_fake"], 0, ETA, instant=True)
    try:
        b = run_vidgen(f"{tmp}/b", fake, INSTANT_JOBS)
    finally:
        fake.stop()
    report(rounds, b, quiet)
    if PERF:
        print(f"\nperf of (b), by shared object (perf report -i {tmp}/b/perf.data):")
        rep = subprocess.run(["perf", "report", "-i", f"{tmp}/b/perf.data", "--no-children", "--sort", "dso",
                              "-g", "none", "--percent-limit", "1"], capture_output=True, text=True).stdout
        print("\n".join(line for line in rep.splitlines() if line.strip() and not line.startswith("#")))
    if not KEEP:
        shutil.rmtree(tmp, ignore_errors=True)


def per_poll(run):
    """CPU seconds per poll over the run's stretch of polls only, and that stretch's first and
    last samples."""
    win = poll_window(run, JOBS)
    if not win:
        raise Failed("no stretch with polls only (raise BENCH_POLLS or BENCH_ETA): CPU per poll not measured")
    w0, w1 = win
    return (w1["cpu"] - w0["cpu"]) / (w1["fake"]["polls"] - w0["fake"]["polls"]), w0, w1


def report(rounds, b, quiet):
    out = print
    targets = []
    # (a): the first round in detail, then every round's CPU per poll; the target on the median ratio
    a, ref = rounds[0]
    fa, ea = a["fake"], a["end"]
    cpu_a = ea["cpu"] - a["first"]["cpu"]
    drain = ea["t"] - a["t0"]
    out(f"(a) {JOBS} remote jobs in flight at once; each answers 'processing' to {POLLS} polls (eta {ETA} s), "
        f"then success")
    out(f"    vidgen serve: all {JOBS} completed, drained in {drain:.1f} s (all submitted at "
        f"{when(a, lambda f: f['submits'] >= JOBS):.1f} s, their replies processed at {a['replied_at'] - a['t0']:.1f} s, "
        f"first video fetched at "
        f"{when(a, lambda f: f['videos'] > 0):.1f} s, last at {when(a, lambda f: f['videos'] >= JOBS):.1f} s)")
    out(f"      fake served {fa['submits']} submits, {fa['polls']} polls, {fa['videos']} videos over "
        f"{fa['connections']} connections; every generation submitted once")
    out(f"      peak RSS {a['peak']['VmHWM']:.1f} MB, {a['peak']['Threads']} threads; CPU {cpu_a:.1f} s in all "
        f"(polls, submits, downloads, probes, thumbnails, store)")
    vp, a0, a1 = per_poll(a)
    polls = a1["fake"]["polls"] - a0["fake"]["polls"]
    dt = a1["t"] - a0["t"]
    shares = sorted(((a1["threads"].get(t, 0) - a0["threads"].get(t, 0)) / dt, a["roles"].get(t, "?"))
                    for t in a1["threads"])[::-1]
    out(f"      polls only ({dt:.1f} s, {polls} polls, {polls / dt:.0f}/s): {vp * 1e6:.1f} µs CPU per poll; "
        f"cores used by thread: " + ", ".join(f"{r} {s:.2f}" for s, r in shares if s >= 0.005)
        + f"; others on the machine {others_share(a0, a1):.0%}")
    rp, r0, r1 = per_poll(ref)
    rpolls = r1["fake"]["polls"] - r0["fake"]["polls"]
    rdt = r1["t"] - r0["t"]
    cache = f"connection cache {REF_MAXCONNECTS}" if REF_MAXCONNECTS else "curl's default connection cache"
    out(f"    curl multi reference ({cache}): {ref['submits']} submits, {ref['polls']} polls, {ref['videos']} videos over "
        f"{ref['connections']} connections in "
        f"{ref['wall']:.1f} s, CPU {ref['cpu']:.2f} s (all submit replies processed at "
        f"{ref['replied_at'] - ref['t0']:.1f} s); peak RSS {ref['peak']['VmHWM']:.1f} MB")
    out(f"      polls only ({rdt:.1f} s, {rpolls} polls, {rpolls / rdt:.0f}/s): {rp * 1e6:.1f} µs CPU per poll; "
        f"others on the machine {others_share(r0, r1):.0%}")
    busy = [r for s, r in shares if s >= 0.05]
    targets.append((f"one thread for all network I/O: {len(busy)} thread(s) above 5 % of a core while polling "
                    f"({', '.join(busy)})", busy == ["worker loop"]))
    peak = max(va["peak"]["VmHWM"] for va, _ in rounds)
    targets.append((f"peak RSS {peak:.1f} MB (target < 200 MB)", peak < 200))
    pairs = [(per_poll(va)[0], per_poll(vr)[0]) for va, vr in rounds]
    ratios = sorted(v / r for v, r in pairs)
    mid = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    out(f"    CPU per poll by round, vidgen / reference: " + "; ".join(
        f"{v * 1e6:.1f} / {r * 1e6:.1f} µs = {v / r:.2f}x" for v, r in pairs))
    targets.append((f"CPU per poll: median of {len(pairs)} rounds {mid:.2f}x curl multi's (target <= 1.5x)", mid <= 1.5))
    # (b)
    eb, comp = b["end"], b["completions"]
    cpu_b = eb["cpu"] - b["first"]["cpu"]
    lo, hi = comp[len(comp) // 10], comp[len(comp) * 9 // 10]
    rate = (len(comp) * 8 // 10) / max(1e-3, (hi - lo) / 1000)
    overall = len(comp) / max(1e-3, eb["t"] - b["t0"])
    out(f"(b) {INSTANT_JOBS} remote jobs whose submit answers success at once (a {os.path.getsize(MP4)}-byte MP4)")
    out(f"    {rate:.0f} completed/s over the middle 80 % of completions; {overall:.0f}/s from process start to "
        f"the last ({eb['t'] - b['t0']:.1f} s); others on the machine {others_share(b['first'], eb):.0%}")
    per_role = {}
    for t, c in eb["threads"].items():
        role = b["roles"].get(t, "?")
        per_role[role] = per_role.get(role, 0) + c - b["first"]["threads"].get(t, 0)
    out(f"    CPU per generation {cpu_b / INSTANT_JOBS * 1e3:.2f} ms: " + ", ".join(
        f"{r} {c / INSTANT_JOBS * 1e3:.2f} ms" for r, c in sorted(per_role.items(), key=lambda x: -x[1]))
        + f"; fake {(eb['fake_cpu'] - b['first']['fake_cpu']) / INSTANT_JOBS * 1e3:.2f} ms; peak RSS "
        f"{b['peak']['VmHWM']:.1f} MB")
    targets.append((f"remote generations completed per second: {rate:.0f}/s (target >= 300/s)", rate >= 300))
    out(f"    machine before the run: {quiet:.0%} busy")
    out("")
    for name, passed in targets:
        out(f"{'PASS' if passed else 'MISS'}  {name}")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print(f"bench/remote.py: {e} (files kept in /tmp/vidgen-bench-remote-*)", file=sys.stderr)
        sys.exit(1)
