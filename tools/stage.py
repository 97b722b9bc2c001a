"""A scratch Redis and hub for the screenshot tools, gone again afterwards.

    with stage("yijian-shots-") as scratch:
        seed into scratch.redis_url ...
        base = scratch.start_hub()   # on a free port; its log in scratch.folder

A plain kill (SIGTERM) of the tool stops the hub and Redis too, not only the tool.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.store.redis_conn import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
HUB_START_S = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stage:
    folder: Path
    redis: EmbeddedRedis
    hub: subprocess.Popen[bytes] | None = None

    @property
    def redis_url(self) -> str:
        return self.redis.url

    @property
    def hub_log(self) -> Path:
        return self.folder / "hub.log"

    def start_hub(self) -> str:
        """Start the hub on this Redis; returns its base URL once /healthz answers."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with self.hub_log.open("ab") as out:
            self.hub = subprocess.Popen(
                [sys.executable, "-m", "yijian.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--redis-url", self.redis_url],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "YIJIAN_PUBLIC_ORIGIN": base},
            )  # fmt: skip
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline:
            if self.hub.poll() is not None:
                raise RuntimeError(f"the hub exited: {self.hub_log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the hub did not start")


@contextmanager
def stage(prefix: str) -> Iterator[Stage]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    redis_server = EmbeddedRedis(folder)
    redis_server.start()
    scratch = Stage(folder, redis_server)
    try:
        yield scratch
    finally:
        if scratch.hub is not None and scratch.hub.poll() is None:
            scratch.hub.terminate()
            scratch.hub.wait(timeout=15)
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)
