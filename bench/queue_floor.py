"""The queue bench's floors, from the bare relay (``bench.ws_relay``), and the tools
both sides share: connecting many sockets, settled RSS, percentiles.

The relay's floor has the shape of the hub's figure it stands beside: ``idle``
sockets held open (memory per socket), and with them still open, single messages
from one sender, each through one Redis script call, fanned out to ``fanout``
receivers and timed to the last of them to arrive.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from bench.flood_clients import WAIT_S, Board, Reader, RelayReceiver, open_socket
from bench.stage import Relay, rss_kib

CONNECT_AT_ONCE = 64  # handshakes in flight while connecting many sockets
# Client source addresses: 10,000 sockets to one port fit one address's ephemeral
# ports, but two sets of them (the relay's and the hub's) and TIME_WAIT may not.
SOURCES = [f"127.0.0.{i}" for i in range(2, 18)]
SETTLE_STEP_S = 0.5
SETTLE_MAX_S = 10.0
WARM_UP = 10  # messages through the relay before the timed ones, as the hub's warm-up call

T = TypeVar("T")


def still_heap() -> None:
    """The bench's own 10,000 client sockets out of its collector's way before timing:
    a full pass over them stops this process (and so its clocks) for about a second,
    which would be counted against the hub or the floor."""
    gc.collect()
    gc.freeze()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None when there is nothing to measure."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def connect_many(count: int, make: Callable[[int, str], Awaitable[T]]) -> list[T]:
    """``make(i, source)`` for i in 0..count-1, CONNECT_AT_ONCE at a time, each from one
    of SOURCES in turn."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(i: int) -> T:
        async with gate:
            return await make(i, SOURCES[i % len(SOURCES)])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def settled_rss_kib(pid: int) -> int:
    """RSS once it stops growing (the server finishing its accepts), within SETTLE_MAX_S."""
    last, deadline = rss_kib(pid), time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_STEP_S)
        now = rss_kib(pid)
        if abs(now - last) <= max(64, last // 1000):
            return now
        last = now
    return last


class Sender(Reader):
    async def on_message(self, message: dict[str, Any], at: float) -> None:
        pass  # senders are never written to


@dataclass
class RelayFloor:
    per_conn_kib: float
    latencies_ms: list[float]


async def relay_floor(relay: Relay, idle: int, fanout: int, messages: int) -> RelayFloor:
    board = Board()
    receivers = [
        RelayReceiver(await open_socket(f"{relay.url}/recv/{i}"), board) for i in range(fanout)
    ]
    before = await settled_rss_kib(relay.process.pid)

    async def sender(i: int, source: str) -> Sender:
        return Sender(await open_socket(f"{relay.url}/send", source=source), board)

    senders = await connect_many(idle, sender)
    per_conn = (await settled_rss_kib(relay.process.pid) - before) / max(1, idle)
    still_heap()
    to = list(range(fanout))
    latencies = []
    try:
        for i in range(WARM_UP + messages):
            sent = time.perf_counter()
            await senders[i * 7919 % len(senders)].send({"to": to, "i": i})
            await board.until(partial(everywhere, i, receivers), WAIT_S)
            if i >= WARM_UP:
                latencies.append((max(r.arrivals[i] for r in receivers) - sent) * 1000)
    finally:
        await close_all([*senders, *receivers])
    return RelayFloor(per_conn, latencies)


def everywhere(i: int, receivers: list[RelayReceiver]) -> bool:
    return all(i in r.arrivals for r in receivers)


async def close_all(clients: list[Any]) -> None:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE * 4)

    async def one(client: Reader) -> None:
        async with gate:
            await client.close()

    await asyncio.gather(*(one(c) for c in clients))
