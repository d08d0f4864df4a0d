"""Redis for the queue tests: the machine's server (one database number) or a private one."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from tests.support.ci import unavailable
from tests.support.mail import free_port

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"


def redis_test_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


def redis_problem(url: str) -> str | None:
    """Return why Redis at *url* cannot be used, or None when it can."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def require_redis(url: str) -> None:
    """Fail under CI, skip elsewhere, when Redis at *url* is unreachable."""
    problem = redis_problem(url)
    if problem is not None:
        unavailable(
            f"Redis unreachable ({problem})",
            ci_reason=f"Redis is required under CI and is unreachable: {problem}",
        )


@contextmanager
def emptied_redis() -> Iterator[str]:
    """Yield the URL of the test Redis database, emptied before the block and after it."""
    url = redis_test_url()
    require_redis(url)
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@dataclass
class PrivateRedis:
    """A redis-server subprocess of our own, without persistence, that tests may stop and start."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable(
                "redis-server is not installed",
                ci_reason="redis-server is required under CI and is not installed",
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.RedisError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def start_private_redis() -> PrivateRedis:
    server = PrivateRedis(port=free_port())
    server.start()
    return server
