"""Per-provider limits held once for a whole cluster (REDIS_URL): two `vidgen worker`
processes and one `vidgen serve --no-worker` on one SQLite file and one private Redis, against
the fake ModelsLab.  What a user (or the provider's bill) notices: the provider never has more
jobs at once than MODELSLAB_MAX_IN_FLIGHT says, nor more requests than
MODELSLAB_REQUESTS_PER_MINUTE allows, whatever the number of workers; a provider's circuit
opened by one worker's failures holds the others back too; and with Redis down, jobs still
complete under each worker's own limits.

The provider's view comes from the fake's request log (tests/fakes/common.py)."""

import pathlib
import signal
import sys
import threading
import time

import pytest

from conftest import assert_ok, sanitizer_report, tail
from pipeline import generate, make_project, status, wait_for
from redis_server import redis, require_redis  # noqa: F401  (redis: a fixture)
from worker_process import Worker

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import modelslab  # noqa: E402

DONE = 120        # seconds for a batch of remote generations to end
SEEN = 30         # seconds for a worker to act on something the test did
CIRCUIT_PAUSE = 30  # the circuit's first pause (worker/limits.c)


@pytest.fixture(autouse=True)
def _redis_installed():
    require_redis()


@pytest.fixture
def ml():
    # No queue limit of its own: the fake counts what vidgen sends, it does not refuse it.
    with modelslab.ModelsLabFake(polls=1, queue_limit=None) as fake:
        yield fake
    assert not fake.errors, fake.errors


class Gate:
    """A scripted action (tests/fakes/common.py): the request waits until the test opens the
    gate, then is answered normally — a provider slow to answer, for as long as the test needs."""

    def __init__(self):
        self.opened = threading.Event()

    def open(self):
        self.opened.set()

    def respond(self, exchange, handle):
        while not self.opened.is_set():
            exchange.pause(0.05)
        exchange.send(handle())


class Cluster:
    """`vidgen serve --no-worker` for the API and any number of `vidgen worker`, all on one
    data dir, with REDIS_URL when `redis` is given."""

    def __init__(self, make_server, ml, redis=None, **env):
        self.extra = {"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
                      "VIDGEN_ADMIN_CREDITS": 10_000_000, **env}
        if redis is not None:
            self.extra["REDIS_URL"] = redis.url
        self.api = make_server(extra_env=self.extra, args=["--no-worker"],
                               drop_env=() if redis is not None else ("REDIS_URL",))
        self.token = self.api.admin_token
        self.project = make_project(self.api, self.token)
        self.workers = []

    def worker(self):
        w = Worker(self.api, extra=self.extra, name=len(self.workers)).start()
        self.workers.append(w)
        return w

    def generate(self, prompt):
        r = generate(self.api, self.token, self.project, modelId="veo3", prompt=prompt, duration=8)
        return assert_ok(r, 201)["generation"]["id"]

    def wait_all(self, ids):
        return [wait_for(self.api, self.token, g, timeout=DONE)["status"] for g in ids]

    def logs(self):
        return "\n".join(f"--- worker {i}\n{tail(w.stderr_path)}" for i, w in enumerate(self.workers))

    def close(self):
        """Stops every worker (SIGTERM: each must stop by itself) and fails on a sanitizer's
        report in any worker's log."""
        reports = []
        try:
            for w in self.workers:
                w.stop()
                report = sanitizer_report(w.log())
                if report:
                    reports.append(f"--- {w.stderr_path}\n{report}")
        finally:
            for w in self.workers:
                w.kill()
        assert not reports, "\n".join(reports)


@pytest.fixture
def clusters():
    made = []
    yield made
    for c in made:
        c.close()


def start_cluster(clusters, make_server, ml, redis=None, **env):
    c = Cluster(make_server, ml, redis, **env)
    clusters.append(c)
    return c


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


def spans(fake, prefix=""):
    """Each job's time at the fake: from its submit's arrival to the arrival of its last poll
    (the one that found it ended: vidgen does not poll an ended job again)."""
    submits = {r.json["prompt"]: r.time for r in fake.requests("submit") if r.status == 200}
    polls = fake.requests("poll")
    out = []
    for job in list(fake.jobs.values()):
        if not job.request["prompt"].startswith(prefix):
            continue
        last = max((r.time for r in polls if r.path.endswith(f"/{job.id}")), default=float("inf"))
        out.append((submits[job.request["prompt"]], last))
    return out


def most_at_once(fake, prefix=""):
    """The most jobs the fake had submitted and not yet found ended, at any moment (of the
    jobs whose prompt starts with `prefix`)."""
    mine = spans(fake, prefix)
    events = sorted([(start, 1) for start, _ in mine] + [(end, -1) for _, end in mine], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def exchanges(fake):
    """Submits and polls: the requests MODELSLAB_REQUESTS_PER_MINUTE counts."""
    return sorted(r.time for r in fake.requests() if r.kind in ("submit", "poll"))


# -- jobs in flight ---------------------------------------------------------------------------

def two_workers_over_a_busy_provider(clusters, make_server, ml, redis):
    """Worker A submits two jobs, which the provider is slow to answer (no job id stored
    yet: the store's count of jobs in flight says 0); A is frozen (SIGSTOP) meanwhile, so that
    only worker B looks at the next eight. Returns the cluster and the ten generations' ends."""
    gate = Gate()
    ml.script("submit", gate, gate, gate, gate)
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_MAX_IN_FLIGHT=2,
                      MODELSLAB_REQUESTS_PER_MINUTE=6000)
    a = c.worker()
    ids = [c.generate(f"first {i}") for i in range(2)]
    wait_until(lambda: len(ml.requests("submit")) == 2, SEEN, "worker A's two submits")
    a.proc.send_signal(signal.SIGSTOP)
    try:
        c.worker()
        ids += [c.generate(f"next {i}") for i in range(8)]
        # B has claimed the new jobs and either waits at vidgen ("queued") or submits.
        wait_until(lambda: len(ml.requests("submit")) > 2 or all(
            status(c.api, c.token, g)["phase"] == "queued" and status(c.api, c.token, g)["status"] == "processing"
            for g in ids[2:4]), SEEN, "worker B looking at the new jobs")
        time.sleep(1)  # and any submit B would send is sent
    finally:
        a.proc.send_signal(signal.SIGCONT)
        gate.open()
    return c, c.wait_all(ids)


def test_the_cap_on_jobs_in_flight_holds_for_the_whole_cluster(clusters, make_server, ml, redis):
    c, ends = two_workers_over_a_busy_provider(clusters, make_server, ml, redis)
    assert ends == ["completed"] * 10, c.logs()
    assert most_at_once(ml) <= 2, f"{most_at_once(ml)} jobs at the provider at once\n{c.logs()}"
    assert len(ml.jobs) == 10, "a generation was submitted twice"
    c.api.check_ledger()
    for w in c.workers:
        assert w.stop() == 0, tail(w.stderr_path)


def test_without_redis_two_workers_exceed_the_cap(clusters, make_server, ml):
    """What the shared limits fix: each worker counts the store's rows, which a submit under
    way at another worker is not yet in."""
    c, ends = two_workers_over_a_busy_provider(clusters, make_server, ml, None)
    assert ends == ["completed"] * 10, c.logs()
    assert most_at_once(ml) > 2
    c.api.check_ledger()


# -- request rate -----------------------------------------------------------------------------

def test_the_request_rate_holds_for_the_whole_cluster(clusters, make_server, ml, redis):
    per_minute = 60  # one a second, and a bucket of five seconds' worth (worker/limits.c)
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_REQUESTS_PER_MINUTE=per_minute,
                      MODELSLAB_MAX_IN_FLIGHT=100)
    c.worker(), c.worker()
    ids = [c.generate(f"rate {i}") for i in range(8)]
    wait_until(lambda: len(ml.requests()) >= 4, SEEN, "the first requests")
    assert redis.cli("SCRIPT", "FLUSH") == "OK"  # the workers load their scripts again (NOSCRIPT)
    assert c.wait_all(ids) == ["completed"] * 8, c.logs()
    assert not any("keeps its own limits" in w.log() for w in c.workers), c.logs()
    times = exchanges(ml)
    elapsed = times[-1] - times[0]
    burst, rate = per_minute / 60 * 5, per_minute / 60
    # One more than the bound: a request's arrival is a little after its token was taken.
    assert len(times) <= burst + rate * elapsed + 1, (len(times), elapsed, c.logs())
    c.api.check_ledger()


# -- a 429 ------------------------------------------------------------------------------------

def test_a_429_makes_every_worker_wait_as_long_as_the_provider_asks(clusters, make_server, ml, redis):
    wait = 6
    ml.script("submit", modelslab.rate_limited(retry_after=wait))
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_MAX_IN_FLIGHT=100,
                      MODELSLAB_REQUESTS_PER_MINUTE=6000)
    a = c.worker()
    ids = [c.generate("told to wait")]
    [refused] = wait_until(lambda: [r for r in ml.requests("submit") if r.status == 429], SEEN, "the 429")
    a.proc.send_signal(signal.SIGSTOP)  # only worker B, which was not told, looks at the next ones
    try:
        c.worker()
        ids += [c.generate(f"after the 429 {i}") for i in range(3)]
        wait_until(lambda: all(status(c.api, c.token, g)["status"] == "processing" for g in ids[1:]), SEEN,
                   "worker B claiming the new jobs")
    finally:
        a.proc.send_signal(signal.SIGCONT)
    assert c.wait_all(ids) == ["completed"] * 4, c.logs()
    later = [r.time for r in ml.requests() if r.time > refused.time]
    assert min(later) >= refused.time + wait - 0.05, (
        f"a request {refused.time + wait - min(later):.1f}s before the provider's wait ended\n{c.logs()}")
    c.api.check_ledger()


# -- circuits ---------------------------------------------------------------------------------

def test_a_circuit_opened_by_one_worker_holds_back_the_other(clusters, make_server, ml, redis):
    ml.always("poll", modelslab.server_error(500))
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_MAX_IN_FLIGHT=100,
                      MODELSLAB_REQUESTS_PER_MINUTE=6000)
    a = c.worker()
    ids = [c.generate(f"failing {i}") for i in range(5)]

    def circuit():
        listed = assert_ok(c.api.api("GET", "/providers", token=c.token))["providers"]
        return next(p for p in listed if p["name"] == "modelslab")["health"]["circuit"]
    wait_until(lambda: circuit() == "open", SEEN, "the circuit opening")
    assert a.stop() == 0, tail(a.stderr_path)
    # From here on only worker B runs; it has seen no failure itself. The jobs A gave back
    # with a retry come due during the pause.
    sent_by_a = len(ml.requests())
    ml.clear_script()
    open_until = int(redis.client().hget("vidgen:limit:modelslab:circuit", "open_until")) / 1000
    c.worker()
    assert c.wait_all(ids) == ["completed"] * 5, c.logs()
    wall = time.time() - time.monotonic()
    by_b = [r.time + wall for r in ml.requests()[sent_by_a:]]
    assert by_b and min(by_b) >= open_until - 0.05, (
        f"worker B sent a request {open_until - min(by_b):.1f}s before the circuit's pause ended\n{c.logs()}")
    c.api.check_ledger()


# -- Redis down ---------------------------------------------------------------------------------

def test_with_redis_down_jobs_complete_under_each_workers_limits_and_sharing_resumes(
        clusters, make_server, ml, redis):
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_MAX_IN_FLIGHT=2,
                      MODELSLAB_REQUESTS_PER_MINUTE=6000)
    c.worker(), c.worker()
    ids = [c.generate(f"before {i}") for i in range(6)]
    wait_until(lambda: ml.requests("submit"), SEEN, "a first submit")
    redis.stop()
    assert c.wait_all(ids) == ["completed"] * 6, c.logs()
    assert any("keeps its own limits" in w.log() for w in c.workers), c.logs()

    redis.start()  # empty, as after a crash without persistence
    first_after = len(ml.jobs)
    more = [c.generate(f"after {i}") for i in range(4)]
    assert c.wait_all(more) == ["completed"] * 4, c.logs()
    assert redis.cli("EXISTS", "vidgen:limit:modelslab:bucket") == "1", "the limits are not shared again"
    assert any("shared through Redis" in w.log() and "again" in w.log() for w in c.workers), c.logs()
    assert len(ml.jobs) == first_after + 4 and most_at_once(ml, "after") <= 2, c.logs()
    c.api.check_ledger()


def test_a_redis_that_stops_answering_does_not_hold_the_workers_up(clusters, make_server, ml, redis):
    """Frozen, not gone: connections open, no answer. Each call gives up after its bound and
    the workers go on under their own limits."""
    c = start_cluster(clusters, make_server, ml, redis, MODELSLAB_MAX_IN_FLIGHT=2,
                      MODELSLAB_REQUESTS_PER_MINUTE=6000)
    c.worker(), c.worker()
    ids = [c.generate(f"frozen {i}") for i in range(4)]
    wait_until(lambda: ml.requests("submit"), SEEN, "a first submit")
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        assert c.wait_all(ids) == ["completed"] * 4, c.logs()
        assert any("keeps its own limits" in w.log() for w in c.workers), c.logs()
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    c.api.check_ledger()
