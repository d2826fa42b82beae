"""Private PostgreSQL and Redis servers for the tests: started on free loopback ports in
temporary directories, never the system services, and stopped (their files removed) at the
end whatever happens.

PostgreSQL's initdb and postgres refuse to run as root; as root (CI, `make test`) they run
as the unprivileged system user `vidgen-test`, created when missing. Each vidgen server of a
test gets a fresh database (`t_<n>`), so tests stay as independent as with SQLite files.

Used by conftest.py (VIDGEN_TEST_BACKEND=postgres) and, as a script, by `make
store-conformance`:

    python3 tests/integration/backends.py run -- COMMAND...

starts PostgreSQL, creates a database, runs COMMAND with VIDGEN_TEST_DATABASE_URL set to it,
stops PostgreSQL and exits with COMMAND's exit code.
"""

import ctypes
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("VIDGEN_PG_BIN", "/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
PG_USER = "vidgen-test"     # the system user postgres runs as when we are root
PG_SUPERUSER = "postgres"   # the database superuser initdb creates (trust auth, loopback only)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged():
    """(uid, gid) to run postgres as: ourselves, or as root the user PG_USER (created)."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True, capture_output=True)
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


def _die_with_parent(sig):
    """A preexec_fn: the child gets `sig` when the process that started it dies, so a test run
    killed outright (SIGKILL, a CI timeout) leaves no server behind. Set after the child's
    user change (subprocess runs preexec_fn last), which would otherwise clear it."""
    def set_it():
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    return set_it


def _stop_process(proc, sig, timeout=STOP_TIMEOUT):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"<cannot read {path}: {e}>"


class Postgres:
    """A private PostgreSQL 15 cluster; create_database() hands out fresh databases."""

    def __init__(self, max_connections=500):
        self.max_connections = max_connections
        self.dir = None
        self.proc = None
        self.port = None
        self._names = itertools.count(1)
        self._admin = None

    def start(self):
        uid, gid = _unprivileged()
        self.dir = tempfile.mkdtemp(prefix="vidgen-pg-")
        os.chmod(self.dir, 0o755)
        for sub in ("data", "sock"):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
            os.chown(os.path.join(self.dir, sub), uid, gid)
        log = os.path.join(self.dir, "postgres.log")
        open(log, "w").close()
        os.chown(log, uid, gid)
        self._as_user = dict(user=uid, group=gid, extra_groups=[]) if os.geteuid() == 0 else {}
        r = subprocess.run([f"{PG_BIN}/initdb", "-D", self.data_dir, "-U", PG_SUPERUSER,
                            "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                           capture_output=True, text=True, cwd=self.dir, **self._as_user)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        # A port can be taken between free_port() and postgres binding it: try again.
        for _ in range(5):
            self.port = free_port()
            if self._launch(log):
                return self
        raise RuntimeError(f"postgres did not start:\n{_tail(log)}")

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    def _launch(self, log):
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [f"{PG_BIN}/postgres", "-D", self.data_dir, "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", os.path.join(self.dir, "sock"), "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", f"max_connections={self.max_connections}",
                 "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning"],
                cwd=self.dir, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent(signal.SIGQUIT), **self._as_user)  # SIGQUIT: immediate stop
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                                "-U", PG_SUPERUSER, "-d", "postgres"], capture_output=True)
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        _stop_process(self.proc, signal.SIGKILL)
        return False

    def url(self, dbname):
        return f"postgres://{PG_SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql):
        """Runs one statement on the maintenance database (autocommit), through psql so
        that this file needs no Python driver."""
        r = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", PG_SUPERUSER, "-d", "postgres", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr.strip()}")

    def create_database(self):
        """A fresh, empty database: its URL."""
        name = f"t_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url):
        name = url.rsplit("/", 1)[1]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def log_tail(self, n=30):
        return _tail(os.path.join(self.dir, "postgres.log"), n) if self.dir else ""

    def pause(self):
        """Stops the server and keeps its data, for resume(): PostgreSQL down for a while."""
        _stop_process(self.proc, signal.SIGINT)
        self.proc = None

    def resume(self):
        """Starts the paused server again, on its port, with its data."""
        if not self._launch(os.path.join(self.dir, "postgres.log")):
            raise RuntimeError(f"postgres did not start again:\n{self.log_tail()}")
        return self

    def stop(self):
        # SIGINT: PostgreSQL's fast shutdown (ends every session, no checkpoint wait on fsync=off)
        _stop_process(self.proc, signal.SIGINT)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Redis:
    """A private redis-server with no persistence, in `workdir` (a temporary directory when
    None), with `extra_args` for redis-server. It can be stopped and started again on the
    same port: a Redis restart, empty, as after a crash without persistence. `cli(...)` runs
    redis-cli against it; `client()` is a redis-py client (Debian: python3-redis)."""

    def __init__(self, workdir=None, extra_args=()):
        self.extra_args = list(extra_args)
        self.owns_dir = workdir is None
        self.dir = tempfile.mkdtemp(prefix="vidgen-redis-") if workdir is None else str(workdir)
        self.log = os.path.join(self.dir, "redis.log")
        self.port = free_port()
        self.proc = None
        self.started = False

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        # A port can be taken between free_port() and redis-server binding it: on a first
        # start, try another; a restart keeps its port, as the clients expect.
        os.makedirs(self.dir, exist_ok=True)
        for _ in range(5 if not self.started else 1):
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, "--logfile", self.log, "--daemonize", "no",
                 "--protected-mode", "yes", *self.extra_args],
                cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGTERM))
            if self._ready():
                self.started = True
                return self
            _stop_process(self.proc, signal.SIGKILL)
            if not self.started:
                self.port = free_port()
        raise RuntimeError(f"redis-server did not start:\n{_tail(self.log)}")

    def _ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args):
        out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *map(str, args)],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=10)

    def stop(self):
        """Stops the server (a temporary directory of its own goes too; start() makes it again)."""
        _stop_process(self.proc, signal.SIGTERM)
        self.proc = None
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self):
        return f"<redis-server {self.url}>"


def _run(argv):
    """`run -- COMMAND...`: COMMAND with VIDGEN_TEST_DATABASE_URL on a private PostgreSQL."""
    if len(argv) < 2 or argv[0] != "run" or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops postgres
    pg = Postgres(max_connections=100)
    try:
        pg.start()
        env = dict(os.environ, VIDGEN_TEST_DATABASE_URL=pg.create_database())
        return subprocess.run(cmd, env=env).returncode
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1:]))
