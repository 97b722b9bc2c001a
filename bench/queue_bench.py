"""The queue at 10,000 kiosks: what one press costs, and a flood.

Starts its own Redis (reached over loopback TCP, as a deployment reaches it), a hub,
later a second hub on the same Redis, and the bare relay (``bench.ws_relay``, the
floor), all on loopback and all stopped by their PIDs. Seeds a town with 8
operators and N kiosks (wrap-up 0, nothing times out), and measures, in order:

1. Redis commands per press and per call (press, ring, answer, hang-up), from
   MONITOR over a few single calls, with 8 operators available and with one
   (``bench.queue_count``);
2. the floors: N idle sockets on the relay (memory per socket), and with them open,
   single messages through one Redis script call, fanned out to 8 receivers;
3. N idle kiosks connected (the hub's memory per socket), then held for at least
   ``--hold-s`` with uvicorn's 20 s WebSocket ping running; meanwhile single presses
   timed to the ring at the last of the 8 consoles, and the kiosk's hang-up to the
   last ring stopped; then presses on this hub ringing consoles on a second hub;
4. the flood (``bench.queue_flood``) from ``--flood`` of the connected kiosks.

    python -m bench queue [--kiosks 10000] [--head-presses 1000] ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.figures import Figures
from bench.flood_clients import Reader
from bench.queue_count import count_calls, set_available
from bench.queue_flood import flood
from bench.queue_floor import close_all, relay_floor, settled_rss_kib, still_heap
from bench.queue_seed import seed_town
from bench.queue_steps import Party, connect_kiosks, head_calls, held, log_in_consoles, wait_until
from bench.redis_count import BENCH_CLIENT_NAME, Monitor
from bench.stage import RedisServer, Relay, raise_fd_limit, start_hub, stop_hub
from tests.support import HubProcess


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench queue", description=__doc__.split("\n")[0])
    ap.add_argument("--kiosks", type=int, default=10_000, help="connected and held idle")
    ap.add_argument("--operators", type=int, default=8)
    ap.add_argument("--count-calls", type=int, default=5, help="calls counted with MONITOR")
    ap.add_argument("--head-presses", type=int, default=1000, help="at least 200")
    ap.add_argument("--cross-presses", type=int, default=100, help="0: no second hub")
    ap.add_argument("--hold-s", type=float, default=60.0)
    ap.add_argument("--flood", type=int, default=1000, help="kiosks pressing at once")
    ap.add_argument("--window-s", type=float, default=1.0, help="the flood's presses span this")
    ap.add_argument(
        "--exact-tail", type=int, default=100, help="calls left when places are checked"
    )
    ap.add_argument("--drain-timeout-s", type=float, default=300.0)
    return ap.parse_args(argv)


def main(argv: list[str]) -> dict[str, Any]:
    args = parse(argv)
    raise_fd_limit(args.kiosks + 2000)
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results["queue_bench_s"] = round(time.perf_counter() - started, 1)
    return results


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if line.startswith("Model name")), platform.processor())  # fmt: skip
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores, {model}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yijian-bench-") as tmp:
        redis_server = RedisServer(Path(tmp) / "redis").start()
        hubs: list[HubProcess] = []
        clients: list[Reader] = []
        try:
            return await Bench(args, redis_server, hubs, clients).run()
        finally:
            await close_all(clients)
            for hub in hubs:
                await asyncio.to_thread(stop_hub, hub)
            redis_server.stop()


class Bench:
    def __init__(self, args: argparse.Namespace, redis_server: RedisServer,
                 hubs: list[HubProcess], clients: list[Reader]) -> None:  # fmt: skip
        self.args, self.redis_server, self.hubs, self.clients = args, redis_server, hubs, clients
        self.out = Figures()

    async def start_hub(self) -> HubProcess:
        hub = await asyncio.to_thread(start_hub, self.redis_server.url)
        self.hubs.append(hub)
        print(f"  hub on port {hub.port}, log {hub.log_path}")
        return hub

    async def run(self) -> dict[str, Any]:
        a, out = self.args, self.out
        out.fact("bench_machine", machine(), "machine")
        out.fact("redis_transport", "tcp", "Redis reached over")
        redis = aioredis.Redis.from_url(
            self.redis_server.url, client_name=BENCH_CLIENT_NAME, decode_responses=True
        )
        took = time.perf_counter()
        town = await seed_town(redis, a.kiosks, a.operators)
        await redis.aclose()
        print(f"  seeded {a.kiosks} kiosks, {a.operators} operators in "
              f"{time.perf_counter() - took:.1f} s")  # fmt: skip
        hub = await self.start_hub()
        party = Party(town)
        party.consoles = await log_in_consoles(party, hub)
        self.clients += party.consoles
        ids = sorted(town.kiosks)
        few = min(len(ids), 2 * a.count_calls + 4)
        party.kiosks = await connect_kiosks(party, hub, ids[:few])
        self.clients += party.kiosks
        await self.count(party)
        await self.floors()
        await self.hold(party, hub, ids[few:])
        await self.flood(party)
        return out.results

    async def count(self, party: Party) -> None:
        monitor = Monitor(self.redis_server.url)
        await monitor.start()
        try:
            counts = await count_calls(party, monitor, self.args.count_calls, first=0)
            for key, value in counts.summary().items():
                self.out.fact(key, value, key.replace("_", " "))
            if len(party.consoles) > 1:
                await set_available(party, party.consoles[1:], "away")
                one = await count_calls(party, monitor, self.args.count_calls, first=1)
                await set_available(party, party.consoles[1:], "available")
                for key, value in one.summary("_1_operator").items():
                    if not key.endswith("_by_name"):
                        self.out.fact(key, value, key.replace("_", " "))
            self.out.fact("redis_commands_unattributed", monitor.unattributed(),
                          "commands from connections CLIENT LIST never named")  # fmt: skip
        finally:
            await monitor.close()

    async def floors(self) -> None:
        a = self.args
        relay = await asyncio.to_thread(Relay.start, self.redis_server.url)
        try:
            self.floor = await relay_floor(relay, a.kiosks, a.operators, max(200, a.head_presses))
        finally:
            await asyncio.to_thread(relay.stop)
        print(f"  relay floor: {a.kiosks} idle sockets, {len(self.floor.latencies_ms)} messages")

    async def hold(self, party: Party, hub: HubProcess, rest: list[str]) -> None:
        a, out = self.args, self.out
        assert hub.process is not None
        before = await settled_rss_kib(hub.process.pid)
        took = time.perf_counter()
        more = await connect_kiosks(party, hub, rest)
        party.kiosks += more
        self.clients += more
        grown = await settled_rss_kib(hub.process.pid) - before
        still_heap()
        hold_from = time.perf_counter()
        print(f"  {len(party.kiosks)} kiosks connected in {hold_from - took:.1f} s; holding "
              f"them at least {a.hold_s:.0f} s")  # fmt: skip
        out.figure("rss_per_kiosk_kib", grown / max(1, len(rest)), "hub memory per idle kiosk "
                   "socket (KiB)", self.floor.per_conn_kib, "rss_floor_per_conn_kib",
                   "rss_per_kiosk_ratio")  # fmt: skip
        head = await head_calls(party, a.head_presses, party.consoles)
        out.latencies("head_press_to_ring", head.to_ring_ms, self.floor.latencies_ms,
                      f"press to ring at the last of {len(party.consoles)} consoles")  # fmt: skip
        out.latencies("ring_stop", head.ring_stop_ms, self.floor.latencies_ms,
                      "kiosk hang-up to the last ring stopped")  # fmt: skip
        if a.cross_presses > 0:
            hub_b = await self.start_hub()
            consoles_b = await log_in_consoles(party, hub_b)
            self.clients += consoles_b
            cross = await head_calls(party, a.cross_presses, consoles_b)
            out.latencies("cross_node_press_to_ring", cross.to_ring_ms, None,
                          "press on hub A to ring at the last of 8 consoles on hub B")  # fmt: skip
            # The flood runs on one hub, as the figures did.
            await close_all(consoles_b)
            await asyncio.to_thread(stop_hub, hub_b)
        await wait_until(hold_from + a.hold_s)
        still, pings = held(party.kiosks)
        out.fact("idle_kiosks_held", still, f"kiosks still connected after "
                 f"{time.perf_counter() - hold_from:.0f} s (of {len(party.kiosks)})")  # fmt: skip
        out.fact("idle_hold_s", round(time.perf_counter() - hold_from, 1), "held for (s)")
        out.fact(
            "idle_kiosk_pings_min", pings, "WebSocket pings each held kiosk answered, at least"
        )

    async def flood(self, party: Party) -> None:
        a, out = self.args, self.out
        n = min(a.flood, len(party.kiosks))
        kiosks = [party.kiosk(i) for i in range(n)]
        if len({k.id for k in kiosks}) < n:
            kiosks = party.kiosks[:n]
        result = await flood(party, kiosks, a.window_s, min(a.exact_tail, n // 2),
                             a.drain_timeout_s)  # fmt: skip
        out.fact("flood_presses", result.presses, f"presses within {result.spread_s:.2f} s")
        out.fact("flood_queued", result.queued, "queued")
        out.fact("flood_places_told_exact", result.told_exact, f"places told exactly 1..{n}")
        out.fact("flood_positions_never_worse", result.never_worse,
                 "no kiosk told a worse place during the drain")  # fmt: skip
        out.fact("flood_positions_exact_at_end", result.exact_at_end,
                 "waiting kiosks told their true place when the operators paused")  # fmt: skip
        out.fact("flood_positions_exact",
                 result.told_exact and result.never_worse and result.exact_at_end,
                 "places exact (all three)")  # fmt: skip
        out.fact("flood_drained", result.drained, "calls answered and hung up")
        out.figure("flood_drain_calls_per_s", result.calls_per_s,
                   f"drain by {len(party.consoles)} operators (calls/s, {result.drain_s:.1f} s "
                   "answering)")  # fmt: skip


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, live
    print(json.dumps(main(sys.argv[1:]), indent=2, sort_keys=True, ensure_ascii=False))
