"""A private redis-server for a test (backends.Redis: a free loopback port, the test's
directory, no persistence, never the system service; it can be stopped and started again
on the same port), the `redis` fixture, and small checks on ports.  A test module that uses
the fixture imports it: `from redis_server import redis`."""

import socket

import pytest

import backends
from backends import REDIS_CLI, REDIS_SERVER  # noqa: F401  (for the tests that run redis-cli)


def require_redis():
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip("redis-server and redis-cli are not installed (Debian: redis-server)")


def RedisServer(workdir, extra_args=()):
    """A private redis-server for a test (backends.Redis), skipping the test when Redis is
    not installed."""
    require_redis()
    return backends.Redis(workdir, extra_args)


@pytest.fixture
def redis(tmp_path):
    """A private redis-server, started, for one test."""
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


def port_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
