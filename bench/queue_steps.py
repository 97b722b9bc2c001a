"""What the queue bench does to a hub: log consoles in, connect kiosks, and time
single presses, hang-ups while ringing, and presses whose ring crosses to another
hub. The flood is in ``bench.queue_flood``, the Redis command count in
``bench.queue_count``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from bench.flood_clients import WAIT_S, Board, Console, Kiosk, open_socket
from bench.queue_floor import connect_many
from bench.queue_seed import PASSWORD, Town
from tests.support import HubProcess

STRIDE = 7919  # a prime: successive presses come from kiosks spread over the town


@dataclass
class Party:
    """The clients of one run, and the town they belong to."""

    town: Town
    board: Board = field(default_factory=Board)
    consoles: list[Console] = field(default_factory=list)  # on the first hub
    kiosks: list[Kiosk] = field(default_factory=list)
    presses: int = 0

    def key(self) -> str:
        """A fresh idempotency key."""
        self.presses += 1
        return f"bench-press-{self.presses:08d}"

    def kiosk(self, i: int) -> Kiosk:
        return self.kiosks[i * STRIDE % len(self.kiosks)]

    async def press(self, kiosk: Kiosk) -> str:
        """Press and wait for the reply; the call's id."""
        await kiosk.press(self.key())
        await self.board.until(lambda: kiosk.replied)
        if kiosk.call_id is None:
            raise RuntimeError(f"kiosk {kiosk.id}: press refused: {kiosk.errors}")
        return kiosk.call_id


async def log_in_consoles(party: Party, hub: HubProcess) -> list[Console]:
    """One console tab per operator on ``hub``, each available once the hub says so."""
    consoles = []
    async with httpx.AsyncClient(base_url=hub.base, timeout=WAIT_S) as http:
        for username in party.town.operators:
            http.cookies.clear()
            response = await http.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            response.raise_for_status()
            cookie = {"Cookie": f"yijian_session={response.cookies['yijian_session']}"}
            socket = await open_socket(hub.ws_base + "/ws/operator", cookie)
            console = Console(username, socket, party.board)
            consoles.append(console)
            await console.send({"type": "set_availability", "state": "available"})
            await party.board.until(console.ready.is_set)
    return consoles


async def connect_kiosks(party: Party, hub: HubProcess, ids: list[str]) -> list[Kiosk]:
    """Kiosk sockets for ``ids``, each welcomed, from several loopback addresses."""

    async def connect(i: int, source: str) -> Kiosk:
        token = party.town.kiosks[ids[i]]
        socket = await open_socket(
            hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}, source
        )
        kiosk = Kiosk(ids[i], socket, party.board)
        await party.board.until(lambda: kiosk.welcome.is_set() or kiosk.closed.is_set())
        if not kiosk.welcome.is_set():
            raise RuntimeError(f"kiosk {ids[i]} was not welcomed")
        return kiosk

    return await connect_many(len(ids), connect)


@dataclass
class HeadTimes:
    to_ring_ms: list[float] = field(default_factory=list)  # press -> ring at the last console
    ring_stop_ms: list[float] = field(default_factory=list)  # hang-up -> last ring_stop


async def ring_and_stop(
    party: Party, kiosk: Kiosk, watched: list[Console], times: HeadTimes
) -> None:
    """One call into an empty queue: press, until it rings on every ``watched``
    console; the kiosk hangs up, until every console's ring has stopped."""
    call_id = await party.press(kiosk)
    await party.board.until(lambda: all(call_id in c.rings for c in watched))
    times.to_ring_ms.append((max(c.rings[call_id] for c in watched) - kiosk.pressed_at) * 1000)
    hung_up = time.perf_counter()
    await kiosk.hang_up()
    await party.board.until(lambda: kiosk.ended and all(call_id in c.stops for c in watched))
    times.ring_stop_ms.append((max(c.stops[call_id] for c in watched) - hung_up) * 1000)
    ringing = [c for c in party.consoles if c.ringing == call_id]
    await party.board.until(lambda: all(c.ringing != call_id for c in ringing))


async def head_calls(party: Party, presses: int, watched: list[Console]) -> HeadTimes:
    """``presses`` single calls, one at a time, each from another kiosk."""
    times = HeadTimes()
    for i in range(presses):
        await ring_and_stop(party, party.kiosk(i), watched, times)
    return times


def held(kiosks: list[Kiosk]) -> tuple[int, int]:
    """How many kiosk sockets are still open, and the fewest pings any of them got."""
    still = [k for k in kiosks if not k.closed.is_set()]
    return len(still), min((k.pings for k in still), default=0)


async def wait_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
