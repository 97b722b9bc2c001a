"""Real parts for the tests: a hub process, a kiosk process and WebSocket clients.

Every wait is bounded by ``TIMEOUT`` (scaled by ``YIJIAN_TEST_TIMEOUT_SCALE`` for slow
machines); nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

TIMEOUT = 15.0 * float(os.environ.get("YIJIAN_TEST_TIMEOUT_SCALE", "1"))
ROOT = Path(__file__).resolve().parent.parent


def fake_sdp(kind: str, label: str = "") -> dict[str, str]:
    """A session description the hub relays (it checks the shape and the DTLS
    fingerprint, not the media): one audio section, ``label`` in its session name."""
    fingerprint = ":".join(f"{i:02X}" for i in range(32))
    lines = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", f"s={label or '-'}", "t=0 0",
             "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0",
             f"a=fingerprint:sha-256 {fingerprint}", "a=setup:actpass", "a=sendrecv"]  # fmt: skip
    return {"type": kind, "sdp": "\r\n".join(lines) + "\r\n"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def yijian_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "yijian.cli", *args]


class HubProcess:
    """``yijian serve`` as a child process on a free port."""

    def __init__(self, redis_url: str, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"hub-{self.port}.log"
        # `serve` is production: it needs the address people reach it at
        self.env = {**os.environ, "YIJIAN_PUBLIC_ORIGIN": self.base, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.own_redis: Any = None  # an EmbeddedRedis of its own, when it has one

    def start(self) -> HubProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                yijian_cmd("serve", "--host", "127.0.0.1", "--port", str(self.port),
                           "--redis-url", self.redis_url),
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
            )  # fmt: skip
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"hub did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=TIMEOUT)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


class KioskProcess:
    """``yijian kiosk --button stdin --status-json``: press by writing a line, read states.

    It talks to ``hub``, or to ``server`` (a base URL) when given: a proxy in front of it.
    """

    def __init__(
        self, hub: HubProcess, kiosk_id: str, token: str, log_dir: Path, server: str | None = None
    ) -> None:
        self.log_path = log_dir / f"kiosk-{kiosk_id}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                yijian_cmd("kiosk", "--server", server or hub.base, "--kiosk-id", kiosk_id,
                           "--token", token,
                           "--media", "test", "--button", "stdin", "--headless", "--status-json"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=ROOT,
            )  # fmt: skip
        self.states: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self._lines.put(json.loads(raw))
        self._lines.put(None)

    def press(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"\n")
        self.process.stdin.flush()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The next status line that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching kiosk state; saw {self.states[-5:]}")
            try:
                line = await asyncio.to_thread(self._lines.get, True, min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"kiosk exited ({self.process.poll()}); saw {self.states[-5:]}")
            self.states.append(line)
            if predicate(line):
                return line

    async def wait_state(self, state: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        return await self.wait_for(lambda s: s["state"] == state, timeout)

    def close(self) -> int | None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


class WsClient:
    """A raw signalling client, for protocol tests. Like a console it pings every few
    seconds (the hub drops consoles that fall silent); ``keepalive=False`` stops that."""

    def __init__(self, socket_: Any, keepalive: bool) -> None:
        self.socket = socket_
        self._pinger = asyncio.create_task(self._ping()) if keepalive else None

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str], keepalive: bool = True) -> WsClient:
        socket_ = await websockets.connect(
            url, additional_headers=headers, compression=None, open_timeout=TIMEOUT
        )
        return cls(socket_, keepalive)

    async def _ping(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(3)
                await self.socket.send(json.dumps({"type": "ping", "ref": "keepalive"}))

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if message != {"type": "pong", "ref": "keepalive"}:
                    return message

    async def recv_type(self, type_: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Skip other messages until one of this type arrives."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(deadline - time.monotonic(), 0.01))
            if message["type"] == type_:
                return message

    async def close(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            await asyncio.gather(self._pinger, return_exceptions=True)
        await self.socket.close()


async def kiosk_client(hub: HubProcess, token: str, keepalive: bool = True) -> WsClient:
    """A kiosk's socket, retrying a 409 as a kiosk does: its previous socket may be on a
    hub just killed, which holds it out until its alive mark lapses (edge.one_socket)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            try:
                return await WsClient.connect(
                    hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}, keepalive
                )
            except websockets.InvalidStatus as exc:
                if exc.response.status_code != 409:
                    raise
                await asyncio.sleep(0.5)
