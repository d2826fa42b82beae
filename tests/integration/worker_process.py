"""A `vidgen worker` process beside a test's server: on its data dir and its database (the
SQLite file, or its PostgreSQL database), with the settings a test adds. Stopped with
SIGTERM it must exit by itself, cleanly (no sanitizer report either)."""

import signal
import subprocess

from conftest import BIN, base_env, sanitizer_report, tail

STOP_TIMEOUT = 30  # seconds a worker may take to hand its jobs back and exit


class Worker:
    def __init__(self, server, redis_url=None, extra=None, name=None):
        extra = dict(extra or {})
        if redis_url:
            extra["REDIS_URL"] = redis_url
        if server.database_url:
            extra.setdefault("DATABASE_URL", server.database_url)
        self.env = base_env(server.data_dir, extra=extra)
        self.workdir = server.workdir
        self.stderr_path = server.workdir / f"worker{name if name is not None else id(self)}.stderr"
        self.proc = None

    def start(self):
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([BIN, "worker"], cwd=str(self.workdir), env=self.env,
                                         stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        return self

    def log(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self):
        """SIGTERM (after a SIGCONT, should a test have frozen it); its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"vidgen worker ignored SIGTERM\n{tail(self.stderr_path)}")
        report = sanitizer_report(self.log())
        assert not report, f"vidgen worker: sanitizer report\n{report}"
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
