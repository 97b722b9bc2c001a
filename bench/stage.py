"""The bench's stage: a Redis reached over TCP as a deployment reaches it, hub
processes and the bare relay (the floor), all on loopback, all started by this
process and stopped by their PIDs.

Ten thousand sockets need file descriptors on both sides: ``raise_fd_limit`` lifts
this process's soft RLIMIT_NOFILE to its hard limit before anything is spawned, so
the hubs and the relay inherit it.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from server.store.redis_conn import redis_server_binary
from tests.support import HubProcess

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "test-artifacts"  # gitignored, as the tests' logs
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def raise_fd_limit(needed: int) -> int:
    """Lift the soft limit on open files to the hard one; refuse when even that is
    short of ``needed`` (a clear message now, not a failed accept at 9,000 sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"the bench needs {needed} open files per process; the hard "
                           f"limit (ulimit -Hn) is {hard}")  # fmt: skip
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal one child by its PID, wait, and kill it if it does not go."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_listening(process: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    stop_process(process)
    raise RuntimeError(f"{what} did not start listening on port {port}")


@dataclass
class RedisServer:
    """redis-server on a loopback TCP port (and a unix socket beside it), with the
    append-only persistence of docker/compose.yaml."""

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec",
             "--save", "", "--maxclients", "1000", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_listening(self.process, self.port, "redis-server")
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def socket_path(self) -> Path:
        return self.folder / "redis.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(redis.ConnectionError):  # shutdown closes it under us
                redis.Redis(port=self.port, socket_timeout=5).shutdown(nosave=True)
        stop_process(self.process)
        self.process = None


# The bench's operators answer every ring the moment it arrives, as no person can:
# the per-socket message limit, set for people, would cap the drain at the limit.
SUPERHUMAN = {"YIJIAN_WS_MESSAGE_BURST": "100000", "YIJIAN_WS_MESSAGES_PER_S": "100000"}


def start_hub(redis_url: str) -> HubProcess:
    """``yijian serve`` on a free loopback port, with its real settings (uvicorn's
    20 s WebSocket ping among them) but for the per-socket message limit."""
    LOGS.mkdir(exist_ok=True)
    return HubProcess(redis_url, LOGS, env=SUPERHUMAN).start()


def stop_hub(hub: HubProcess) -> None:
    if hub.process is not None:
        stop_process(hub.process)


@dataclass
class Relay:
    """``bench.ws_relay`` as a process of its own: the floor."""

    process: subprocess.Popen[bytes]
    port: int

    @classmethod
    def start(cls, redis_url: str) -> Relay:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.ws_relay", str(port), redis_url], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_listening(process, port, "the relay")
        return cls(process, port)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
