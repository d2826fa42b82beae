"""A private redis-server for a test: on a free loopback port, in a temporary directory, with
no persistence (--save "" --appendonly no), never the system service.  It can be stopped
and started again on the same port (a Redis restart, empty, as after a crash without
persistence).  `cli(...)` runs redis-cli against it and returns its output."""

import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_port

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
START_TIMEOUT = 10.0


def require_redis():
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip("redis-server and redis-cli are not installed (Debian: redis-server)")


class RedisServer:
    def __init__(self, workdir, extra_args=()):
        require_redis()
        self.extra_args = list(extra_args)
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.log = self.dir / "redis.log"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.log),
             "--daemonize", "no", "--protected-mode", "yes", *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if self.cli("PING") == "PONG":
                    return self
            except subprocess.SubprocessError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self):
        """A redis-py client (Debian: python3-redis), answers decoded."""
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=10)

    def cli(self, *args):
        out = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *map(str, args)],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def __repr__(self):
        return f"<redis-server {self.url}>"


def port_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
