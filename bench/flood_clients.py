"""The queue bench's clients, all in one asyncio loop of the bench process.

- ``Kiosk``: one kiosk socket; presses, and remembers each press's send time, every
  place it was told for its call and whether the call ended. It reads every message,
  as a real kiosk must, and counts the WebSocket pings the hub sends it (answered
  with pongs by the websockets library, as a real kiosk's are).
- ``Console``: one operator's console; notes when each call rang and stopped ringing
  on it, and while ``answering`` it answers what rings and hangs up as soon as its
  answer wins (wrap-up is 0).
- ``RelayReceiver``: the floor's receiving end: notes when each message arrives.

Times are ``time.perf_counter()`` readings in this process, so sender and receiver
share one clock. Every change a waiter may look for sets the shared ``Board`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode

OPEN_TIMEOUT_S = 60.0
PING_EVERY_S = 3.0  # consoles that fall silent for 9 s are dropped by the hub
WAIT_S = 60.0  # the longest any single step of the bench may take


class CountingConnection(ClientConnection):
    """A client connection that counts the pings it receives."""

    pings = 0

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings += 1
        super().process_event(event)


async def open_socket(
    url: str, headers: dict[str, str] | None = None, source: str | None = None
) -> CountingConnection:
    """A WebSocket with the hub's own settings (no compression), from ``source``
    (a loopback address) when given; pings are the server's to send."""
    socket = await websockets.connect(
        url, additional_headers=headers, compression=None, open_timeout=OPEN_TIMEOUT_S,
        ping_interval=None, max_size=2**20, create_connection=CountingConnection,
        local_addr=(source, 0) if source else None,
    )  # fmt: skip
    assert isinstance(socket, CountingConnection)
    return socket


class Board:
    """One event for everything the bench waits on: set on every change."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()

    async def until(self, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
        deadline = time.perf_counter() + timeout
        while not check():
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("the bench waited too long for the hub")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


class Reader:
    """A socket with a task that hands every JSON message to ``on_message``."""

    def __init__(self, socket: CountingConnection, board: Board) -> None:
        self.socket = socket
        self.board = board
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                await self.on_message(json.loads(raw), time.perf_counter())
                self.board.changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self.board.changed.set()

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        raise NotImplementedError

    @property
    def pings(self) -> int:
        return self.socket.pings

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def close(self) -> None:
        with contextlib.suppress(websockets.WebSocketException, OSError):
            await self.socket.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), 10)
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class Kiosk(Reader):
    def __init__(self, kiosk_id: str, socket: CountingConnection, board: Board) -> None:
        self.id = kiosk_id
        self.welcome = asyncio.Event()
        self.key = ""
        self.pressed_at = 0.0
        self.call_id: str | None = None
        self.told: list[int] = []  # every place told for the last press's call, in order
        self.answered_at: float | None = None
        self.ended = False
        self.errors: list[dict[str, Any]] = []  # error replies to the last press
        super().__init__(socket, board)

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        match message["type"]:
            case "welcome":
                self.welcome.set()
            case "call_queued" if message.get("ref") == self.key:
                self.call_id = message["call_id"]
                self.told.append(message["position"])
            case "call_queued" | "queue_position" if message["call_id"] == self.call_id:
                self.told.append(message["position"])
            case "error" if message.get("ref") == self.key:
                self.errors.append(message)
            case "call_answered" if message["call_id"] == self.call_id:
                self.answered_at = at
            case "call_ended" if message["call_id"] == self.call_id:
                self.ended = True

    @property
    def replied(self) -> bool:
        return self.call_id is not None or bool(self.errors) or self.closed.is_set()

    async def press(self, key: str) -> None:
        self.key, self.call_id, self.told, self.errors = key, None, [], []
        self.answered_at, self.ended = None, False
        self.pressed_at = time.perf_counter()
        await self.send({"type": "call_request", "idempotency_key": key, "ref": key})

    async def hang_up(self) -> None:
        assert self.call_id is not None
        await self.send({"type": "hangup", "call_id": self.call_id})


class Console(Reader):
    def __init__(self, username: str, socket: CountingConnection, board: Board) -> None:
        self.username = username
        self.answering = False  # answer every ring
        self.hanging_up = False  # hang up as soon as an answer wins
        self.ringing: str | None = None
        self.rings: dict[str, float] = {}  # call id -> when it first rang here
        self.stops: dict[str, float] = {}  # call id -> when its ring stopped here
        self.won: dict[str, float] = {}  # call id -> when this console's answer won
        self.ended: dict[str, float] = {}  # call id -> when the hub said it ended
        self.availability = ""
        self.ready = asyncio.Event()
        self._pongs: dict[str, asyncio.Future[float]] = {}
        super().__init__(socket, board)
        self._pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(PING_EVERY_S)
                await self.send({"type": "ping"})

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        match message["type"]:
            case "availability":
                self.availability = message["state"]
                if message["state"] == "available":
                    self.ready.set()
            case "ring":
                call_id = message["call"]["id"]
                self.rings.setdefault(call_id, at)
                self.ringing = call_id
                if self.answering:
                    await self.send({"type": "answer", "call_id": call_id})
            case "ring_stop":
                self.stops.setdefault(message["call_id"], at)
                if message["call_id"] == self.ringing:
                    self.ringing = None
            case "answered":
                self.ringing = None
                self.won[message["call"]["id"]] = at
                if self.hanging_up:
                    await self.send({"type": "hangup", "call_id": message["call"]["id"]})
            case "call_ended":
                self.ended.setdefault(message["call_id"], at)

    async def start_answering(self) -> None:
        self.answering = self.hanging_up = True
        if self.ringing is not None:
            await self.send({"type": "answer", "call_id": self.ringing})

    async def close(self) -> None:
        self._pinger.cancel()
        await asyncio.gather(self._pinger, return_exceptions=True)
        await super().close()


class RelayReceiver(Reader):
    def __init__(self, socket: CountingConnection, board: Board) -> None:
        self.arrivals: dict[int, float] = {}  # message number -> when it arrived here
        super().__init__(socket, board)

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        self.arrivals[message["i"]] = at
