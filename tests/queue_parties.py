"""The sockets and accounts of the queue's property test (tests/test_queue_properties.py).

A ``Party`` is one kiosk or console socket with a reader that keeps every message it
hears and folds it into that party's view (``KioskParty.call_id``/``position``,
``ConsoleParty.ringing``/``call_id``), as the real kiosk and console would.

The ``Pool`` holds a few kiosks and operators made once per test run (their secrets
are argon2 hashes, which cost about half a second each on a busy CI machine) and
moves them into each example's fresh town, after ending whatever the last example
left live and waiting until the hub has let go of every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
import websockets

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.queue.calls import CallStore
from server.store import keys
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, HubProcess, WsClient

KEEPALIVE_PONG = {"type": "pong", "ref": "keepalive"}


class Party:
    """One socket; a reader task keeps every message it hears, in order."""

    def __init__(self, name: str, client: WsClient) -> None:
        self.name = name
        self.client = client
        self.inbox: list[dict[str, Any]] = []
        self.closed = False
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name=f"reader-{name}")

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.client.socket:
                message = json.loads(raw)
                if message == KEEPALIVE_PONG:
                    continue
                self.inbox.append(message)
                self.fold(message)
                self._arrived.set()
        self.closed = True
        self._arrived.set()

    def fold(self, message: dict[str, Any]) -> None:
        """Update this party's view of the world with one message."""

    async def send(self, message: dict[str, Any]) -> None:
        await self.client.send(message)

    async def expect(
        self, wanted: Callable[[dict[str, Any]], bool], start: int = 0, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The first message from ``inbox[start]`` on that ``wanted`` accepts."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            for index in range(index, len(self.inbox)):  # noqa: B020 - resume where we were
                if wanted(self.inbox[index]):
                    return self.inbox[index]
            index = len(self.inbox)
            remaining = deadline - time.monotonic()
            if self.closed or remaining <= 0:
                raise AssertionError(
                    f"{self.name}: no expected message within {timeout:.0f} s "
                    f"(closed={self.closed}); last heard {self.inbox[-5:]}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def close(self) -> None:
        await self.client.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), TIMEOUT)
        if not self._reader.done():
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


class KioskParty(Party):
    def __init__(self, name: str, client: WsClient) -> None:
        self.call_id: str | None = None
        self.status = "idle"  # idle | queued | connected, as this kiosk was told
        self.position: int | None = None  # the last place it was told
        self.told_final: dict[str, str] = {}
        super().__init__(name, client)

    def fold(self, message: dict[str, Any]) -> None:
        match message["type"]:
            case "welcome" if message.get("call"):
                call = message["call"]
                self.call_id, self.status = call["id"], call["status"]
                self.position = call.get("position") if call["status"] == "queued" else None
            case "call_queued":
                self.call_id, self.status = message["call_id"], "queued"
                self.position = message["position"]
            case "queue_position" if message["call_id"] == self.call_id:
                self.position = message["position"]
            case "call_answered":
                self.call_id, self.status, self.position = message["call_id"], "connected", None
            case "call_ended":
                self.told_final[message["call_id"]] = message["status"]
                if message["call_id"] == self.call_id:
                    self.call_id, self.status, self.position = None, "idle", None

    def view(self) -> tuple[str | None, str, int | None]:
        return self.call_id, self.status, self.position


class ConsoleParty(Party):
    def __init__(self, name: str, client: WsClient) -> None:
        self.call_id: str | None = None  # the call this console is in
        self.ringing: str | None = None  # the call ringing on this screen
        self.told_final: dict[str, str] = {}
        self.won: list[str] = []  # calls this console got ``answered`` for
        super().__init__(name, client)

    def fold(self, message: dict[str, Any]) -> None:
        match message["type"]:
            case "welcome" if message.get("call"):
                self.call_id = message["call"]["id"]
            case "ring":
                self.ringing = message["call"]["id"]
            case "ring_stop" if message["call_id"] == self.ringing:
                self.ringing = None
            case "answered":
                self.call_id, self.ringing = message["call"]["id"], None
                self.won.append(message["call"]["id"])
            case "call_ended":
                if message["status"] != "requeued":
                    self.told_final[message["call_id"]] = message["status"]
                if message["call_id"] == self.call_id:
                    self.call_id = None

    def view(self) -> tuple[str | None, str | None]:
        return self.call_id, self.ringing


@dataclass
class Pool:
    """Kiosks and logged-in operators shared by the examples of one test run."""

    hub: HubProcess
    redis: aioredis.Redis
    tokens: dict[str, str] = field(default_factory=dict)  # kiosk id -> token
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)  # username -> session
    town: str = ""  # where they are now

    @classmethod
    async def open(cls, hub: HubProcess, redis_url: str, kiosks: int, operators: int) -> Pool:
        pool = cls(hub, aioredis.Redis.from_url(redis_url, decode_responses=True))
        accounts = Accounts(pool.redis)
        pool.town = "pool" + secrets.token_hex(4)
        await accounts.add_town(pool.town, "候车镇")
        # the machine presses far faster than a villager could
        await Towns(pool.redis).set(pool.town, "kiosk_calls_per_min", "1000")
        for i in range(kiosks):
            kiosk_id = f"{pool.town}-k{i}"
            pool.tokens[kiosk_id] = await accounts.add_kiosk(kiosk_id, pool.town, f"点{i}", "村")
        for i in range(operators):
            username = f"{pool.town}-op{i}"
            await accounts.add_operator(username, pool.town, "operator", PASSWORD)
            http = pool.http[username] = httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT)
            response = await http.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
        return pool

    def cookie(self, username: str) -> str:
        return f"yijian_session={self.http[username].cookies.get('yijian_session')}"

    async def move_to(self, town: str) -> None:
        """Make every kiosk and operator of the pool belong to ``town``."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for kiosk_id in self.tokens:
                pipe.hset(keys.kiosk(kiosk_id), "town", town)
            for username in self.http:
                pipe.srem(keys.town_operators(self.town), username)
                pipe.sadd(keys.town_operators(town), username)
                pipe.hset(keys.operator(username), "town", town)
            await pipe.execute()
        self.town = town

    async def clear(self, call_ids: set[str]) -> None:
        """Leave nothing of the last example: end its live calls (as the test, with
        reason ``example_over``), drop its pending deadlines, forget the operators'
        presence, and wait (bounded) until the hub has closed every socket of theirs."""
        calls = CallStore(self.redis)
        call_ids |= set(await self.redis.zrange(keys.town_calls(self.town), 0, -1))
        for call_id in call_ids:
            await calls.end(call_id, reason="example_over", by="test")
        timers = await self.redis.zrange(keys.TIMERS, 0, -1)
        mine = [t for t in timers if {self.town, *call_ids} & set(t.split("|")[1:])]
        if mine:
            await self.redis.zrem(keys.TIMERS, *mine)
        deadline = time.monotonic() + TIMEOUT
        conns = [*map(keys.kiosk_conns, self.tokens), *map(keys.operator_conns, self.http)]
        while any([await self.redis.zcard(key) for key in conns]):
            assert time.monotonic() < deadline, "the hub kept the last example's sockets"
            await asyncio.sleep(0.05)
        await self.redis.delete(*map(keys.presence, self.http))

    async def close(self) -> None:
        for http in self.http.values():
            await http.aclose()
        await self.redis.aclose()
