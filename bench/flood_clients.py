"""The queue bench's clients, all in one asyncio loop of the bench process.

- ``Kiosk``: one kiosk socket; presses, and remembers each press's send time, the
  place it was first told and whether its call ended. It reads every message, as a
  real kiosk must (the hub closes a socket that stops reading).
- ``Console``: one operator's console; notes the first time each call rings on it,
  and while ``answering`` it answers what rings and hangs up at once (wrap-up is 0);
  times a ping's round trip to the hub.
- ``RelayReceiver``: the floor's receiving end: notes when each message arrives.

Times are ``time.perf_counter()`` readings in this process, so sender and receiver
share one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

OPEN_TIMEOUT_S = 60.0
PING_EVERY_S = 3.0  # consoles that fall silent for 9 s are dropped by the hub


async def open_socket(url: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return await websockets.connect(
        url, additional_headers=headers, compression=None, open_timeout=OPEN_TIMEOUT_S,
        ping_interval=None, max_size=2**20,
    )  # fmt: skip


class Reader:
    """A socket with a task that hands every JSON message to ``on_message``."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                await self.on_message(json.loads(raw), time.perf_counter())
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self.on_closed()

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        raise NotImplementedError

    def on_closed(self) -> None:
        """Wake whoever waits on this socket."""

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
    def __init__(self, kiosk_id: str, socket: ClientConnection) -> None:
        self.id = kiosk_id
        self.welcome = asyncio.Event()
        self.queued = asyncio.Event()  # the reply to the last press came
        self.ended = asyncio.Event()  # the last press's call ended
        self.key = ""
        self.pressed_at = 0.0
        self.call_id: str | None = None
        self.told: int | None = None  # the place the reply to the last press gave
        self.presses: dict[str, float] = {}  # call id -> its press's send time
        self.replies: list[dict[str, Any]] = []  # anything but call_queued in reply
        super().__init__(socket)

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        match message["type"]:
            case "welcome":
                self.welcome.set()
            case "call_queued" if message.get("ref") == self.key:
                self.call_id, self.told = message["call_id"], message["position"]
                self.presses[message["call_id"]] = self.pressed_at
                self.queued.set()
            case "error" if message.get("ref") == self.key:
                self.replies.append(message)
                self.queued.set()
            case "call_ended" if message["call_id"] == self.call_id:
                self.ended.set()

    def on_closed(self) -> None:
        self.welcome.set()
        self.queued.set()
        self.ended.set()

    async def press(self, key: str) -> None:
        self.queued.clear()
        self.ended.clear()
        self.key, self.call_id, self.told = key, None, None
        self.pressed_at = time.perf_counter()
        await self.send({"type": "call_request", "idempotency_key": key, "ref": key})


class Console(Reader):
    def __init__(self, username: str, socket: ClientConnection, rings: dict[str, float]) -> None:
        self.username = username
        self.rings = rings  # call id -> first ring on any console (shared)
        self.answering = False
        self.ringing: str | None = None
        self.won = 0
        self.ready = asyncio.Event()
        self._pongs: dict[str, asyncio.Future[float]] = {}
        self.stops: dict[str, float] = {}  # call id -> when its ring stopped here
        super().__init__(socket)
        self._pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(PING_EVERY_S)
                await self.send({"type": "ping"})

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        match message["type"]:
            case "pong" if message.get("ref") in self._pongs:
                self._pongs.pop(message["ref"]).set_result(at)
            case "availability" if message["state"] == "available":
                self.ready.set()
            case "ring":
                call_id = message["call"]["id"]
                self.rings.setdefault(call_id, at)
                self.ringing = call_id
                if self.answering:
                    await self.send({"type": "answer", "call_id": call_id})
            case "ring_stop" if message["call_id"] == self.ringing:
                self.ringing = None
                self.stops[message["call_id"]] = at
            case "answered":
                self.ringing = None
                self.won += 1
                await self.send({"type": "hangup", "call_id": message["call"]["id"]})

    async def round_trip_ms(self, ref: str) -> float:
        """A ping to the hub and its pong: how long the hub's event loop took to answer."""
        arrived = self._pongs[ref] = asyncio.get_running_loop().create_future()
        sent = time.perf_counter()
        await self.send({"type": "ping", "ref": ref})
        return (await asyncio.wait_for(arrived, OPEN_TIMEOUT_S) - sent) * 1000

    async def start_answering(self) -> None:
        self.answering = True
        if self.ringing is not None:
            await self.send({"type": "answer", "call_id": self.ringing})

    async def close(self) -> None:
        self._pinger.cancel()
        await asyncio.gather(self._pinger, return_exceptions=True)
        await super().close()


class RelayReceiver(Reader):
    def __init__(self, socket: ClientConnection, arrivals: dict[int, float]) -> None:
        self.arrivals = arrivals  # message number -> when it arrived (shared)
        self.arrived = asyncio.Event()
        super().__init__(socket)

    async def on_message(self, message: dict[str, Any], at: float) -> None:
        self.arrivals[message["i"]] = at
        self.arrived.set()
