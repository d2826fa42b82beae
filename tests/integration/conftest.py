"""Shared fixtures and helpers for the vidgen integration suite.

Every test talks to a real `vidgen serve` process started on a free loopback port with a
temporary data directory.  Servers are stopped with SIGTERM (SIGKILL as a last resort) at
teardown, whatever the outcome of the test.  When a test fails, the tail of the stderr of
every server involved is attached to the failure report.

The server's own faults fail the test too: each run of a server (start to exit) must end
with exit code 0 and leave no sanitizer report (ASan, LSan, UBSan) in its stderr.  A run is
checked when the server is stopped or restarted, and at teardown.  A test that kills a
server on purpose uses kill() or send_signal(SIGKILL); one that expects another exit code
says so with expect_exit(...).  Under `make asan` this is what catches a leak at exit.

The backend: SQLite files in each server's data dir by default; with
VIDGEN_TEST_BACKEND=postgres the session starts a private PostgreSQL (backends.py) and every
Server gets a fresh database of its own (one per working directory, so a server restarted or
started again in the same directory finds its data), dropped when the test is done. Redis
(REDIS_URL) is added when VIDGEN_TEST_REDIS=1. server.db() answers the same calls on both
(execute(sql, params) with `?` placeholders, fetchone/fetchall, close). A test about SQLite
itself (its file, its locks) is marked @sqlite_only.

Run:  VIDGEN_BIN=$PWD/build/vidgen python3 -m pytest -q tests/integration
      VIDGEN_TEST_BACKEND=postgres VIDGEN_BIN=... python3 -m pytest -q tests/integration
"""

import http.client
import itertools
import json
import os
import pathlib
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

import backends

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("VIDGEN_BIN") or str(REPO / "build" / "vidgen")
PREFIX = "/api/apps/video-generator"

# Variables the server reads; never inherit them from the developer's shell.
_SCRUB = (
    "MODELSLAB_API_KEY", "EDENAI_API_KEY", "DATABASE_URL", "REDIS_URL",
    "MODELSLAB_BASE_URL", "EDENAI_BASE_URL", "EDENAI_WEBHOOK_PUBLIC_KEY",
)

READY_TIMEOUT = 10.0   # seconds to wait for /healthz after start
STOP_TIMEOUT = 10.0    # seconds to wait for exit after SIGTERM before SIGKILL
CLI_TIMEOUT = 30.0

_ALL_SERVERS = []      # every Server started in this session (for failure reports)
_current_nodeid = [None]

BACKEND = os.environ.get("VIDGEN_TEST_BACKEND", "sqlite")
PG = BACKEND == "postgres"
REDIS = os.environ.get("VIDGEN_TEST_REDIS") == "1"
sqlite_only = pytest.mark.skipif(PG, reason="about SQLite itself (its file or its locks)")

_services = {}         # "pg": backends.Postgres, "redis": backends.Redis, while the session runs
_databases = {}        # working directory -> the URL of its PostgreSQL database
_redis_dbs = {}        # working directory -> its Redis database number
REDIS_DATABASES = 10000
_redis_db_numbers = itertools.count(1)
_late_faults = []      # faults of servers stopped when the services were


def _check_binary():
    if not os.access(BIN, os.X_OK):
        pytest.exit(f"vidgen binary not found or not executable: {BIN} (build it with make "
                    f"or set VIDGEN_BIN)", returncode=2)


def pytest_sessionstart(session):
    _check_binary()
    if BACKEND not in ("sqlite", "postgres"):
        pytest.exit(f"VIDGEN_TEST_BACKEND={BACKEND}: sqlite or postgres", returncode=2)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session", autouse=True)
def services():
    """PostgreSQL (and Redis) for the whole session when the backend asks for them; stopped
    at the end whatever happens, after every server still running."""
    if PG or REDIS:  # a SIGTERM (a timeout) ends the session through its teardowns, not past them
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        if PG:
            _services["pg"] = backends.Postgres().start()
        if REDIS:
            _services["redis"] = backends.Redis(extra_args=["--databases", str(REDIS_DATABASES)]).start()
        yield _services
    finally:
        try:
            stop_all([s for s in _ALL_SERVERS if s.alive()])
        except AssertionError as e:
            _late_faults.append(str(e))
        for name in ("redis", "pg"):
            if name in _services:
                _services.pop(name).stop()


def database_env(workdir):
    """What points a vidgen process in `workdir` at its database and queue: {} on SQLite
    (its file in the data dir), else DATABASE_URL (a fresh database per working directory)
    and, with VIDGEN_TEST_REDIS=1, REDIS_URL: a Redis database of its own per working
    directory too, as separate installs sharing one Redis would choose (the queue, the events
    and the provider limits of one test's servers never meet another's)."""
    env = {}
    key = str(pathlib.Path(workdir).resolve())
    if PG:
        if key not in _databases:
            _databases[key] = _services["pg"].create_database()
        env["DATABASE_URL"] = _databases[key]
    if REDIS:
        if key not in _redis_dbs:
            _redis_dbs[key] = next(_redis_db_numbers)
        env["REDIS_URL"] = _services["redis"].url.rsplit("/", 1)[0] + f"/{_redis_dbs[key]}"
    return env


def release_databases(servers):
    """Drops the databases of these (stopped) servers."""
    if not PG or "pg" not in _services:
        return
    for s in servers:
        url = _databases.pop(str(s.workdir.resolve()), None)
        if url is not None:
            _services["pg"].drop_database(url)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(data_dir, addr=None, access_log="off", extra=None, drop=()):
    """The environment for a vidgen process: the inherited one minus every vidgen setting,
    plus the data dir, address and access log given here, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VIDGEN_") and k not in _SCRUB}
    env["VIDGEN_DATA_DIR"] = str(data_dir)
    if addr is not None:
        env["VIDGEN_ADDR"] = addr
    if access_log is not None:
        env["VIDGEN_ACCESS_LOG"] = str(access_log)
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    for k in drop:
        env.pop(k, None)
    return env


def tail(path, n=40):
    try:
        lines = pathlib.Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(lines[-n:])


# What a sanitizer prints when it finds something (ASan and LSan print "==PID==ERROR: ...",
# UBSan "file:line:col: runtime error: ..." and, with a stack, a SUMMARY line).
_SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "AddressSanitizer:DEADLYSIGNAL",
                    "UndefinedBehaviorSanitizer", "runtime error:")


def sanitizer_report(text, n=60):
    """The first `n` lines of the first sanitizer report in `text`, or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(m in line for m in _SANITIZER_MARKS):
            return "\n".join(lines[i:i + n])
    return None


class Response:
    """A reply: status, headers (lower-case names), raw body and parsed JSON (or None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def __iter__(self):  # allows: status, headers, js = server.request(...)
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:500]!r}>"

    @property
    def error(self):
        return (self.json or {}).get("error") or {}


def run_cli(args, cwd, env, input=None, timeout=CLI_TIMEOUT):
    """Runs `vidgen ARGS...`; returns CompletedProcess with text stdout/stderr. A sanitizer
    report on its stderr fails the caller, whatever the exit code it expects."""
    r = subprocess.run([BIN, *args], cwd=str(cwd), env=env, input=input,
                       capture_output=True, text=True, timeout=timeout)
    report = sanitizer_report(r.stderr)
    assert report is None, f"vidgen {' '.join(args)}: sanitizer report on stderr\n{report}"
    return r


ANY_EXIT = object()  # a run's .expect after expect_exit() with no code: any exit code will do


class _Run:
    """One run of a server process, from start() to its exit, and what is expected of it."""

    def __init__(self, number, stderr_offset, expect):
        self.number = number
        self.stderr_offset = stderr_offset  # where its output starts in the stderr file
        self.expect = expect                # exit codes accepted (a tuple), or ANY_EXIT
        self.killed = False                 # SIGKILLed on purpose by the test
        self.hung = None                    # seconds it outlived a stop signal (then SIGKILLed)
        self.signal = None                  # the last signal the test sent
        self.returncode = None
        self.checked = False


class Server:
    """One `vidgen serve` process in its own working directory."""

    def __init__(self, workdir, extra_env=None, args=(), access_log="off", port=None,
                 use_addr_env=True, drop_env=()):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        if access_log == "file":
            access_log = self.workdir / "access.log"
        self.access_log = access_log
        extra = {k: v for k, v in database_env(self.workdir).items()
                 if k not in (extra_env or {}) and k not in drop_env}
        extra.update(extra_env or {})
        self.env = base_env(self.data_dir, addr=self.addr if use_addr_env else None,
                            access_log=access_log, extra=extra, drop=drop_env)
        self.args = list(args)
        self.stdout_path = self.workdir / "server.stdout"
        self.stderr_path = self.workdir / "server.stderr"
        self.proc = None
        self.returncode = None
        self.owner = _current_nodeid[0]
        self.runs = []               # every _Run of this server, the last one current
        self._next_expect = (0,)     # what the next run must exit with
        _ALL_SERVERS.append(self)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, wait=True):
        self.check()  # the previous run, before a restart hides it
        self.returncode = None
        offset = self.stderr_path.stat().st_size if self.stderr_path.exists() else 0
        self.runs.append(_Run(len(self.runs) + 1, offset, self._next_expect))
        self._next_expect = (0,)
        # append, so the output of a restart in the same dir is kept after the first one
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen([BIN, "serve", *self.args], cwd=str(self.workdir),
                                         env=self.env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        finally:
            out.close()
            err.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._exited(rc)
                self.runs[-1].checked = True  # reported here, not again at teardown
                raise AssertionError(f"vidgen serve exited with {rc} before it was ready\n"
                                     f"--- stderr ---\n{self.stderr_tail()}")
            try:
                r = self.request("GET", "/healthz", timeout=1.0)
                if r.status == 200:
                    return
                last = r
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"vidgen serve not ready after {timeout}s (last: {last!r})\n"
                             f"--- stderr ---\n{self.stderr_tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        """Sends `sig`; a SIGKILL marks this run as killed on purpose (any exit code)."""
        run = self.runs[-1]
        run.signal = sig
        run.killed = run.killed or sig == signal.SIGKILL
        self.proc.send_signal(sig)

    def expect_exit(self, *codes):
        """Declares the exit code(s) the current run (or, when none is running, the next
        one) will end with instead of 0; no argument accepts any code. A sanitizer report
        still fails."""
        want = tuple(codes) if codes else ANY_EXIT
        if self.alive() or (self.runs and not self.runs[-1].checked):
            self.runs[-1].expect = want
        else:
            self._next_expect = want

    def _exited(self, rc):
        self.returncode = rc
        self.runs[-1].returncode = rc
        return rc

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the process to exit; returns its exit code or None on timeout."""
        try:
            self._exited(self.proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` and waits; SIGKILLs after `timeout` (a fault unless `sig` was
        SIGKILL). Returns the exit code of a graceful exit, or None when it had to be
        killed. Then checks every run of this server: AssertionError on a fault."""
        rc = None
        if self.alive():
            self.send_signal(sig)
            rc = self.wait_exit(timeout)
            if rc is None:  # still running: killed here, and a fault check() reports
                self.runs[-1].hung = timeout
                self.proc.kill()
                self._exited(self.proc.wait())
        elif self.proc is not None:
            rc = self._exited(self.proc.wait())
        self.check()
        return rc

    def kill(self):
        """SIGKILL now, on purpose: this run's exit code is not checked (its stderr is)."""
        if self.alive():
            self.runs[-1].killed = True
            self.proc.kill()
            self._exited(self.proc.wait())

    def faults(self, run):
        """What is wrong with a finished run: [] when nothing."""
        found = []
        rc, want = run.returncode, run.expect
        if run.hung is not None:
            found.append(f"was still running {run.hung} s after {signal.Signals(run.signal).name} (killed)")
        elif not run.killed and want is not ANY_EXIT and rc not in want:
            how = f"after {signal.Signals(run.signal).name}" if run.signal else "without being asked to"
            what = f"was killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited with {rc}"
            found.append(f"{what} {how} (expected exit code {' or '.join(map(str, want))})")
        report = sanitizer_report(self.stderr_text(run.stderr_offset))
        if report:
            found.append(f"left a sanitizer report on its stderr:\n--- report ---\n{report}")
        return found

    def check(self):
        """Raises AssertionError naming the faults of every finished, unchecked run, with
        the tail of the server's stderr."""
        errors = []
        for run in self.runs:
            if run.checked or run.returncode is None:
                continue
            run.checked = True
            errors += [f"run {run.number} of vidgen serve {self.addr} {f}" for f in self.faults(run)]
        if errors:
            raise AssertionError("\n".join(errors) + f"\n--- server stderr (tail) ---\n{self.stderr_tail(20)}")

    # -- diagnostics -------------------------------------------------------------------
    def stderr_tail(self, n=40):
        return tail(self.stderr_path, n)

    def stderr_text(self, offset=0):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stdout_text(self):
        return self.stdout_path.read_text(errors="replace")

    # -- HTTP ---------------------------------------------------------------------------
    def request(self, method, path, body=None, token=None, headers=None, raw=None,
                content_type="application/json", timeout=10.0, api=False):
        """One HTTP request on a fresh connection.

        body: a Python value sent as JSON; raw: bytes/str sent as they are (with
        `content_type` unless it is None); path: absolute, or relative to the API prefix
        when api=True."""
        if api:
            path = PREFIX + path
        hdrs = dict(headers or {})
        data = None
        if body is not None and raw is None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif raw is not None:
            data = raw.encode("utf-8") if isinstance(raw, str) else raw
        if data is not None and content_type is not None:
            hdrs.setdefault("Content-Type", content_type)
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            body_bytes = resp.read()
            h = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, h, body_bytes)
        finally:
            conn.close()

    def api(self, method, path, **kw):
        """request() on PREFIX + path."""
        return self.request(method, PREFIX + path, **kw)

    # -- CLI and database ---------------------------------------------------------------
    def cli(self, *args, env=None, input=None):
        return run_cli(args, self.workdir, env or self.env, input=input)

    def cli_popen(self, *args):
        """Starts `vidgen ARGS...` in the server's directory and environment (its stderr
        goes to the server's stderr file); the caller waits for it."""
        err = open(self.stderr_path, "ab")
        try:
            return subprocess.Popen([BIN, *args], cwd=str(self.workdir), env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        finally:
            err.close()

    def add_user(self, name, credits=None, admin=False):
        args = ["user", "add", name]
        if credits is not None:
            args += ["--credits", str(credits)]
        if admin:
            args.append("--admin")
        r = self.cli(*args)
        assert r.returncode == 0, f"user add {name} failed ({r.returncode}): {r.stderr}"
        return r.stdout.strip()

    @property
    def db_path(self):
        return self.data_dir / "vidgen.db"

    @property
    def admin_token(self):
        return (self.data_dir / "admin-token").read_text().strip()

    @property
    def database_url(self):
        """The PostgreSQL database of this server, or None on SQLite."""
        url = self.env.get("DATABASE_URL", "")
        return url if url.startswith(("postgres://", "postgresql://")) else None

    def db(self, write=False):
        """A connection to this server's database (read-only unless `write`): sqlite3's, or
        the same calls on PostgreSQL (PgConnection)."""
        if self.database_url:
            return PgConnection(self.database_url)
        if write:
            return sqlite3.connect(str(self.db_path), timeout=10)
        return connect_ro(self.db_path)

    def check_ledger(self):
        assert_ledger_invariant(self)

    def __repr__(self):
        return f"<vidgen serve {self.addr} in {self.workdir}>"


def connect_ro(db_path):
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)


class PgConnection:
    """psycopg2 behind the calls the tests make on a sqlite3 connection: execute() and
    executemany() with `?` or `?N` placeholders, returning a cursor (fetchone, fetchall,
    description, iteration); commit(), close(), `with`. Autocommit: each statement is its own
    transaction, as the tests use them."""

    def __init__(self, url):
        import psycopg2  # only the PostgreSQL runs need it (Debian's python3-psycopg2)
        self.con = psycopg2.connect(url)
        self.con.autocommit = True

    @staticmethod
    def translate(sql, params):
        """(sql, params) in psycopg2's format: `?` -> %s, `?N` -> %(pN)s (params become a
        dict), `%` -> %%; string literals are left as they are."""
        if not params:
            return sql, None
        out, i, numbered = [], 0, False
        while i < len(sql):
            c = sql[i]
            if c == "'":
                j = sql.index("'", i + 1)
                while j + 1 < len(sql) and sql[j + 1] == "'":
                    j = sql.index("'", j + 2)
                out.append(sql[i:j + 1].replace("%", "%%"))
                i = j + 1
                continue
            if c == "?":
                j = i + 1
                while j < len(sql) and sql[j].isdigit():
                    j += 1
                if j > i + 1:
                    numbered = True
                    out.append(f"%(p{sql[i + 1:j]})s")
                else:
                    out.append("%s")
                i = j
                continue
            out.append("%%" if c == "%" else c)
            i += 1
        if numbered:
            params = {f"p{n + 1}": v for n, v in enumerate(params)}
        return "".join(out), params

    def execute(self, sql, params=()):
        cur = self.con.cursor()
        cur.execute(*self.translate(sql, params))
        return cur

    def executemany(self, sql, rows):
        rows = list(rows)
        cur = self.con.cursor()
        for r in rows:
            cur.execute(*self.translate(sql, r))
        return cur

    def commit(self):
        pass

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def assert_ledger_invariant(target):
    """Every user's balance equals the sum of their ledger rows, and is never negative.
    `target`: a Server, or the path of a SQLite database."""
    con = target.db() if isinstance(target, Server) else connect_ro(target)
    try:
        rows = con.execute(
            "SELECT u.name, u.balance, COALESCE(SUM(l.amount), 0), COUNT(l.id) "
            "FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id "
            "GROUP BY u.id ORDER BY u.name").fetchall()
        bad = [r for r in rows if r[1] != r[2] or r[1] < 0]
        assert rows, "no users in the database"
        assert not bad, ("balance != sum(credit_ledger.amount) for (name, balance, "
                         f"ledger sum, ledger rows): {bad}")
        # ledger rows of unknown users would be invisible above
        orphans = con.execute("SELECT COUNT(*) FROM credit_ledger WHERE user_id NOT IN "
                              "(SELECT id FROM users)").fetchone()[0]
        assert orphans == 0, f"{orphans} ledger rows belong to no user"
    finally:
        con.close()


# -- failure reports ------------------------------------------------------------------------

def pytest_runtest_setup(item):
    _current_nodeid[0] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _ALL_SERVERS:
            if s.owner == item.nodeid or s.alive():
                rep.sections.append((f"vidgen serve {s.addr} stderr (tail)", s.stderr_tail()))


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server per test module, on a fresh data dir, with an access log file."""
    s = Server(tmp_path_factory.mktemp("srv"), access_log="file")
    try:
        s.start()
        yield s
    finally:
        try:
            s.stop()  # raises on a fault of the server, leaving it stopped
        finally:
            release_databases([s])


@pytest.fixture
def make_server(tmp_path):
    """Factory for fresh servers owned by one test; all are stopped at teardown.

    make_server(extra_env=..., args=..., start=True, workdir=None, **kw) -> Server"""
    made = []

    def make(extra_env=None, args=(), start=True, workdir=None, **kw):
        wd = workdir or (tmp_path / f"srv{len(made)}")
        s = Server(wd, extra_env=extra_env, args=args, **kw)
        made.append(s)
        if start:
            s.start()
        return s

    yield make
    try:
        stop_all(made)
    finally:
        release_databases(made)


def stop_all(servers):
    """Stops every server, then raises one AssertionError naming the faults of all."""
    errors = []
    for s in servers:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        raise AssertionError("\n\n".join(errors))


def pytest_sessionfinish(session, exitstatus):
    """The safety net: a server nobody stopped (a test's own Server) is stopped and checked
    here; its faults fail the session."""
    faults = list(_late_faults)
    try:
        stop_all(_ALL_SERVERS)
    except AssertionError as e:
        faults.append(str(e))
    if faults:
        e = "\n\n".join(faults)
        session.config.get_terminal_writer().line(f"\nvidgen serve faults after the tests:\n{e}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def assert_error(r, status, code, field=None):
    """The reply is the documented error shape with this status, code and (optional) field."""
    assert r.status == status, f"expected {status} {code}, got {r!r}"
    assert r.json is not None, f"error body is not JSON: {r!r}"
    assert r.json.get("success") is False, r
    err = r.json.get("error")
    assert isinstance(err, dict), r
    assert err.get("code") == code, r
    assert isinstance(err.get("message"), str) and err["message"], r
    if field is not None:
        assert err.get("field") == field, f"expected field {field!r}: {r!r}"
    return err


def assert_ok(r, status=200):
    assert r.status == status, f"expected {status}, got {r!r}"
    assert r.json is not None and r.json.get("success") is True, r
    return r.json
