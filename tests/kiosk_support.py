"""Real parts for the kiosk's device tests: a kiosk process with any flags, a TCP link
in front of the hub that a test can cut, silence or turn into a refusing proxy, and
an operator who answers with a real aiortc peer connection (no browser needed)."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from kiosk_client.media import GeneratedMedia
from tests.support import ROOT, KioskProcess, WsClient, yijian_cmd


class Kiosk(KioskProcess):
    """``yijian kiosk`` with ``--media test --status-json`` and whatever else a test
    gives: headless with a stdin button unless told otherwise."""

    def __init__(
        self,
        server: str,
        kiosk_id: str,
        token: str,
        log_dir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        headless: bool = True,
        stdin: Any = subprocess.PIPE,
    ) -> None:
        self.log_path = log_dir / f"kiosk-{kiosk_id}.log"
        flags = ["--headless"] if headless else []
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                yijian_cmd("kiosk", "--server", server, "--kiosk-id", kiosk_id, "--token", token,
                           "--media", "test", "--status-json", *flags, *args),
                stdin=stdin, stdout=subprocess.PIPE, stderr=log, cwd=ROOT,
                env={**os.environ, **(env or {})},
            )  # fmt: skip
        self.states: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> int | None:
        code = super().close()
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # a kiosk that stopped by itself left it open
        return code

    def say(self, line: str) -> None:
        """One stdin line: a press carrying ``line`` (``long``, ``满意``…)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def log(self) -> str:
        return self.log_path.read_text()

    async def log_says(self, text: str, timeout: float) -> None:
        """Wait until the kiosk's log holds ``text``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while text not in self.log():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the kiosk never logged {text!r}: {self.log()[-1500:]}")
            await asyncio.sleep(0.05)


class Link:
    """A TCP hop between a kiosk and the hub. ``cut`` drops every connection and
    refuses new ones; ``silence`` keeps the sockets open but carries nothing (a dead
    mobile link); ``refuse_with`` answers the next handshakes with an HTTP status, as
    a proxy in front of the hub might; ``restore`` carries again."""

    def __init__(self, hub_port: int) -> None:
        self._hub_port = hub_port
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.mode = "carry"
        self.status = 403
        self.refusals = 0  # handshakes answered with self.status
        self.dropped = 0  # connection attempts reset while cut
        self.carried = 0  # connections passed on to the hub
        self.port = 0

    async def start(self) -> Link:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.mode = "cut"
        for a, b in list(self._pairs):
            a.transport.abort()
            b.transport.abort()

    def silence(self) -> None:
        self.mode = "silent"

    def refuse_with(self, status: int) -> None:
        self.mode, self.status = "refuse", status

    def restore(self) -> None:
        self.mode = "carry"

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.mode == "cut":
                self.dropped += 1
                writer.transport.abort()
                return
            if self.mode == "refuse":
                await reader.readuntil(b"\r\n\r\n")
                self.refusals += 1
                body = b"<html><body>Forbidden by proxy</body></html>"
                writer.write(b"HTTP/1.1 %d Refused\r\nContent-Type: text/html\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (self.status, len(body), body))  # fmt: skip
                await writer.drain()
                writer.close()
                return
            hub_reader, hub_writer = await asyncio.open_connection("127.0.0.1", self._hub_port)
            self.carried += 1
            pair = (writer, hub_writer)
            self._pairs.add(pair)
            try:
                await asyncio.gather(self._pump(reader, hub_writer), self._pump(hub_reader, writer))
            finally:
                self._pairs.discard(pair)
        except (OSError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            self._tasks.discard(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if self.mode == "silent":
                    continue  # swallowed: neither side hears the other any more
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()


class AiortcOperator:
    """An operator's console that answers calls with a real aiortc peer connection and
    counts the kiosk's frames."""

    def __init__(self, console: WsClient) -> None:
        self.console = console
        self.pc: RTCPeerConnection | None = None
        self.frames = {"audio": 0, "video": 0}
        self._readers: list[asyncio.Task[None]] = []
        self._media = GeneratedMedia().open()

    @classmethod
    async def ready(cls, operator_ws: Callable[[str], Awaitable[WsClient]], username: str,
                    available: bool = True) -> AiortcOperator:  # fmt: skip
        console = await operator_ws(username)
        await console.recv_type("welcome")
        if available:
            await console.send({"type": "set_availability", "state": "available"})
            await console.recv_type("availability")
        return cls(console)

    async def answer(self, call_id: str) -> None:
        """Take the call, answer the kiosk's offer and report media connected."""
        await self.console.send({"type": "answer", "call_id": call_id})
        await self.console.recv_type("answered")
        await self.take_offer(call_id)

    async def take_offer(self, call_id: str) -> None:
        offer = await self.console.recv_type("sdp")
        await self.close_pc()
        self._media.close()
        self._media = GeneratedMedia().open()  # aiortc stopped the last connection's tracks
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(self._media.audio)
        pc.addTrack(self._media.video)
        pc.on("track", lambda track: self._readers.append(asyncio.create_task(self._count(track))))
        description = offer["description"]
        await pc.setRemoteDescription(RTCSessionDescription(description["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        await self.console.send({"type": "sdp", "call_id": call_id, "description": answer})

    async def _count(self, track: Any) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.frames[track.kind] += 1

    async def close_pc(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._readers.clear()
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

    async def close(self) -> None:
        await self.close_pc()
        self._media.close()
        await self.console.close()
