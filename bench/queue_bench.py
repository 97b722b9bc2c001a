"""The queue under a flood: 1,000 kiosks press within one second.

Starts its own Redis (in a temp folder), hub process and a bare WebSocket relay
(``bench.ws_relay``, the floor), all on loopback; seeds a town (wrap-up 0, long ring
and wait limits) with a few operators and N kiosks; then measures, in order:

1. the hub's and the relay's memory per idle connection (RSS from /proc, before and
   after N idle sockets), and how many idle kiosks the hub still holds after a while;
2. the floor: N relay senders send one message each within one second to the
   receivers (the flood's shape), then single messages one at a time;
3. head press-to-ring: presses one at a time into an empty queue, N idle kiosks
   connected, each answered and hung up before the next;
4. the flood: N presses within one second while the operators are available but
   hold; every kiosk must be told it is queued, and the places told must be exactly
   1..N. Then the operators answer and hang up as fast as they can until the queue
   is empty; each call's press-to-ring is from its press to its first ring.

Kiosk and operator secrets get cheap argon2 parameters (the hub verifies with the
parameters stored in each hash), so seeding and N handshakes take seconds; the real
cost of one kiosk handshake is measured on a few kiosks with the real parameters.

    python -m bench queue [--kiosks 1000] [--operators 8] [--real-secrets] ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from argon2 import PasswordHasher

import server.accounts
from bench.flood_clients import Console, Kiosk, open_socket
from bench.queue_floor import (
    Relay,
    percentile,
    relay_flood,
    relay_one_by_one,
    rss_kib,
    settle_s,
)
from bench.queue_seed import PASSWORD, seed_town
from server.redis_conn import EmbeddedRedis
from tests.support import HubProcess

CHEAP_SECRETS = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LOGS = Path(__file__).resolve().parent.parent / "test-artifacts"  # gitignored, as the tests' logs
PINGS_IDLE = 20  # a console's pings timed before the handshakes, the floor
CONNECT_AT_ONCE = 50  # handshakes in flight while connecting the kiosks
WAIT_S = 60.0  # for replies to a flood, and for any single call


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench queue", description=__doc__.split("\n")[0])
    ap.add_argument("--kiosks", type=int, default=1000)
    ap.add_argument("--operators", type=int, default=8)
    ap.add_argument("--window-s", type=float, default=1.0, help="the flood's presses span this")
    ap.add_argument("--head-calls", type=int, default=100, help="presses into an empty queue")
    ap.add_argument("--ring-stops", type=int, default=50, help="calls hung up while ringing")
    ap.add_argument("--hold-s", type=float, default=10.0, help="how long idle kiosks are held")
    ap.add_argument("--drain-timeout-s", type=float, default=600.0)
    ap.add_argument("--real-secrets", action="store_true", help="hash every secret for real")
    ap.add_argument("--handshakes", type=int, default=5, help="kiosks timed with real secrets")
    return ap.parse_args(argv)


def main(argv: list[str]) -> dict[str, Any]:
    args = parse(argv)
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run(args))
    finally:
        loop.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yijian-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis")
        redis.start()
        hub = relay = None
        try:
            LOGS.mkdir(exist_ok=True)
            hub = HubProcess(redis.url, LOGS)
            await asyncio.to_thread(hub.start)
            print(f"  hub log: {hub.log_path}")
            relay = await asyncio.to_thread(Relay.start)
            return await Bench(args, hub, relay, redis.url).run()
        finally:
            if relay is not None:
                relay.stop()
            if hub is not None:
                try:
                    await asyncio.to_thread(hub.stop)  # SIGTERM to its PID, then wait
                except subprocess.TimeoutExpired:
                    hub.kill(signal.SIGKILL)
            redis.stop()


def rings_for(call_id: str, console: Console) -> bool:
    return console.ringing == call_id


def stopped_for(call_id: str, console: Console) -> bool:
    return call_id in console.stops


async def until(check: Callable[[], bool]) -> None:
    """Poll ``check`` every 5 ms, for at most WAIT_S."""
    deadline = time.perf_counter() + WAIT_S
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the bench waited too long for the hub")
        await asyncio.sleep(0.005)


class Bench:
    def __init__(
        self, args: argparse.Namespace, hub: HubProcess, relay: Relay, redis_url: str
    ) -> None:
        self.args, self.hub, self.relay, self.redis_url = args, hub, relay, redis_url
        self.results: dict[str, Any] = {}
        self.kiosks: list[Kiosk] = []
        self.consoles: list[Console] = []
        self.rings: dict[str, float] = {}
        self.presses = 0

    async def run(self) -> dict[str, Any]:
        try:
            await self.seed()
            await self.connect_consoles()
            await self.measure_handshake()
            await self.hold_idle_kiosks()
            await self.floor()
            await self.head_calls()
            await self.ring_stops()
            await self.flood()
        finally:
            for client in [*self.kiosks, *self.consoles]:
                await client.close()
        return self.results

    async def seed(self) -> None:
        a, started = self.args, time.perf_counter()
        hasher = server.accounts._hasher if a.real_secrets else CHEAP_SECRETS
        with mock.patch.object(server.accounts, "_hasher", hasher):
            self.town = await asyncio.to_thread(
                seed_town, self.redis_url, a.kiosks, a.operators, a.handshakes
            )
        took = time.perf_counter() - started
        secrets = "real" if a.real_secrets else "cheap"
        print(f"  seeded {a.kiosks} kiosks, {a.operators} operators ({secrets} secrets) "
              f"in {took:.1f} s")  # fmt: skip

    async def measure_handshake(self) -> None:
        """A kiosk's connect-to-welcome with the real argon2 parameters, and how long a
        console's ping waits meanwhile: the floor is the same ping with nothing else
        going on (argon2 runs off the hub's event loop, so the two should be close)."""
        console = self.consoles[0]
        idle = [await console.round_trip_ms(f"idle-{i}") for i in range(PINGS_IDLE)]
        times: list[float] = []

        async def handshake(kiosk_id: str, token: str) -> None:
            started = time.perf_counter()
            kiosk = Kiosk(kiosk_id, await open_socket(self.kiosk_url, self.bearer(token)))
            await asyncio.wait_for(kiosk.welcome.wait(), WAIT_S)
            times.append((time.perf_counter() - started) * 1000)
            await kiosk.close()

        connecting = asyncio.ensure_future(
            asyncio.gather(*(handshake(k, t) for k, t in self.town.real_kiosks.items()))
        )
        busy: list[float] = []
        while not connecting.done():
            busy.append(await console.round_trip_ms(f"busy-{len(busy)}"))
            await asyncio.sleep(0.01)
        await connecting
        if not times:
            return
        self.figure("kiosk_handshake_ms", percentile(times, 0.5), None,
                    f"kiosk handshake, real argon2 (p50 of {len(times)} at once)")  # fmt: skip
        self.figure("ping_during_handshakes_max_ms", max(busy), max(idle),
                    f"a console's ping while they connect (max of {len(busy)})",
                    floor_key="ping_idle_max_ms", floor_what="the same ping, hub idle")  # fmt: skip

    @property
    def kiosk_url(self) -> str:
        return self.hub.ws_base + "/ws/kiosk"

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def connect_consoles(self) -> None:
        async with httpx.AsyncClient(base_url=self.hub.base, timeout=WAIT_S) as http:
            for username in self.town.operators:
                http.cookies.clear()
                response = await http.post(
                    "/api/auth/login", json={"username": username, "password": PASSWORD}
                )
                response.raise_for_status()
                cookie = {"Cookie": f"yijian_session={response.cookies['yijian_session']}"}
                socket = await open_socket(self.hub.ws_base + "/ws/operator", cookie)
                console = Console(username, socket, self.rings)
                self.consoles.append(console)
                await console.send({"type": "set_availability", "state": "available"})
                await asyncio.wait_for(console.ready.wait(), WAIT_S)

    async def hold_idle_kiosks(self) -> None:
        assert self.hub.process is not None
        before, started = rss_kib(self.hub.process.pid), time.perf_counter()
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def connect(kiosk_id: str, token: str) -> Kiosk:
            async with gate:
                kiosk = Kiosk(kiosk_id, await open_socket(self.kiosk_url, self.bearer(token)))
                await asyncio.wait_for(kiosk.welcome.wait(), WAIT_S)
                return kiosk

        self.kiosks = list(
            await asyncio.gather(*(connect(k, t) for k, t in self.town.kiosks.items()))
        )
        took = time.perf_counter() - started
        await asyncio.sleep(settle_s(len(self.kiosks)))  # the hub finishes the handshakes
        grown = rss_kib(self.hub.process.pid) - before
        print(f"  {len(self.kiosks)} kiosks connected in {took:.1f} s; holding them "
              f"idle for {self.args.hold_s:.0f} s")  # fmt: skip
        await asyncio.sleep(self.args.hold_s)
        held = sum(1 for k in self.kiosks if not k.closed.is_set())
        self.results["idle_kiosks_held"] = held
        print(f"  idle kiosks held: {held} of {len(self.kiosks)}")
        self.per_kiosk_kib = grown / len(self.kiosks)

    async def floor(self) -> None:
        n = len(self.kiosks)
        per_conn, flood = await relay_flood(self.relay, n, self.args.operators, self.args.window_s)
        self.figure("rss_per_kiosk_kib", self.per_kiosk_kib, per_conn,
                    "memory per idle connection", floor_key="rss_floor_per_conn_kib")  # fmt: skip
        self.floor_flood = flood
        self.floor_one = await relay_one_by_one(self.relay, self.args.head_calls)

    async def head_calls(self) -> None:
        """Presses one at a time into an empty queue, with every kiosk connected."""
        for console in self.consoles:
            await console.start_answering()
        latencies = []
        for i in range(self.args.head_calls):
            kiosk = self.kiosks[i * 7919 % len(self.kiosks)]
            await self.press(kiosk)
            await asyncio.wait_for(kiosk.ended.wait(), WAIT_S)
            assert kiosk.call_id is not None, f"{kiosk.id}: {kiosk.replies}"
            latencies.append((self.rings[kiosk.call_id] - kiosk.pressed_at) * 1000)
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            self.figure(f"head_press_to_ring_{name}_ms", percentile(latencies, q),
                        percentile(self.floor_one, q),
                        f"press-to-ring {name}, one call at a time")  # fmt: skip

    async def ring_stops(self) -> None:
        """A call rings every console; its kiosk hangs up: how long until the last
        console's ring stops (the hub promises within a second)."""
        for console in self.consoles:
            console.answering = False
        latencies = []
        for i in range(self.args.ring_stops):
            kiosk = self.kiosks[(i * 7919 + 1) % len(self.kiosks)]
            await self.press(kiosk)
            await asyncio.wait_for(kiosk.queued.wait(), WAIT_S)
            call_id = kiosk.call_id
            assert call_id is not None, f"{kiosk.id}: {kiosk.replies}"
            await until(partial(self.every_console, partial(rings_for, call_id)))
            hung_up = time.perf_counter()
            await kiosk.send({"type": "hangup", "call_id": call_id})
            await asyncio.wait_for(kiosk.ended.wait(), WAIT_S)
            await until(partial(self.every_console, partial(stopped_for, call_id)))
            latencies.append((max(c.stops[call_id] for c in self.consoles) - hung_up) * 1000)
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            self.figure(f"ring_stop_{name}_ms", percentile(latencies, q),
                        percentile(self.floor_one, q),
                        f"hang-up to the last ring stopped ({len(self.consoles)} consoles), "
                        f"{name}")  # fmt: skip

    def every_console(self, check: Callable[[Console], bool]) -> bool:
        return all(check(console) for console in self.consoles)

    async def press(self, kiosk: Kiosk) -> None:
        self.presses += 1
        await kiosk.press(f"bench-{self.presses:08d}")

    async def flood(self) -> None:
        for console in self.consoles:
            console.answering = False
        n, window = len(self.kiosks), self.args.window_s
        started = time.perf_counter() + 0.1

        async def press_at(i: int, kiosk: Kiosk) -> None:
            await asyncio.sleep(max(0.0, started + window * i / n - time.perf_counter()))
            await self.press(kiosk)

        await asyncio.gather(*(press_at(i, k) for i, k in enumerate(self.kiosks)))
        spread = max(k.pressed_at for k in self.kiosks) - min(k.pressed_at for k in self.kiosks)
        with contextlib.suppress(TimeoutError):  # counted below
            await asyncio.wait_for(asyncio.gather(*(k.queued.wait() for k in self.kiosks)), WAIT_S)
        told = sorted(k.told for k in self.kiosks if k.told is not None)
        self.results.update(
            flood_presses=n,
            flood_queued=len(told),
            flood_positions_exact=told == list(range(1, n + 1)),
        )
        print(f"  flood: {n} presses within {spread:.2f} s; queued {len(told)}; places told "
              f"exactly 1..{n}: {self.results['flood_positions_exact']}")  # fmt: skip
        if not self.results["flood_positions_exact"]:
            print(f"    places told: {describe_places(told, n)}")
        closed = sum(1 for k in self.kiosks if k.closed.is_set())
        errors = [r for k in self.kiosks for r in k.replies]
        if closed or errors or len(told) < n:
            print(f"    sockets closed: {closed}; error replies: {len(errors)} {errors[:3]}")
        await self.drain()

    async def drain(self) -> None:
        started = time.perf_counter()
        for console in self.consoles:
            await console.start_answering()
        pending = [k.ended.wait() for k in self.kiosks if k.call_id is not None]
        try:
            await asyncio.wait_for(asyncio.gather(*pending), self.args.drain_timeout_s)
        except TimeoutError:
            print(f"  the queue did not drain in {self.args.drain_timeout_s:.0f} s")
        took = time.perf_counter() - started
        latencies = [
            (self.rings[k.call_id] - k.pressed_at) * 1000
            for k in self.kiosks
            if k.call_id is not None and k.call_id in self.rings
        ]
        answered = sum(c.won for c in self.consoles) - self.args.head_calls
        print(f"  drained: {answered} calls answered and hung up in {took:.1f} s "
              f"({answered / took:.0f} calls/s by {len(self.consoles)} operators); "
              f"{len(latencies)} rang")  # fmt: skip
        self.results.update(flood_rang=len(latencies), flood_drain_s=round(took, 2))
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            self.figure(f"press_to_ring_{name}_ms", percentile(latencies, q),
                        percentile(self.floor_flood, q),
                        f"press-to-ring {name} in the flood (waits its turn)")  # fmt: skip

    def figure(
        self, key: str, value: float | None, floor: float | None, what: str,
        floor_key: str | None = None, floor_what: str = "bare relay",
    ) -> None:  # fmt: skip
        """Record a figure (and its floor), and print them side by side."""
        self.results[key] = None if value is None else round(value, 2)
        shown = "n/a" if value is None else f"{value:.1f}"
        line = f"  {what}: {shown}"
        if floor is not None:
            floor_key = floor_key or key.replace("_p50", "_floor_p50").replace("_p99", "_floor_p99")
            self.results[floor_key] = round(floor, 2)
            line += f"   (floor, {floor_what}: {floor:.1f})"
        print(line)


def describe_places(told: list[int], n: int) -> str:
    seen: dict[int, int] = {}
    for place in told:
        seen[place] = seen.get(place, 0) + 1
    twice = [p for p, c in seen.items() if c > 1]
    missing = sorted(set(range(1, n + 1)) - set(seen))
    return f"{len(twice)} told to several kiosks (e.g. {twice[:5]}); missing {missing[:5]}"


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2, sort_keys=True))
