"""The queue bench's floor and measuring tools: the bare relay (``bench.ws_relay``) run
as a process of its own, driven in the flood's shape and one message at a time; RSS
from /proc; percentiles."""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.flood_clients import Reader, RelayReceiver, open_socket

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def settle_s(connections: int) -> float:
    """How long to let a server finish accepting sockets before reading its memory."""
    return min(1.0, 0.1 + connections / 1000)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None when there is nothing to measure."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Relay:
    process: subprocess.Popen[bytes]
    port: int

    @classmethod
    def start(cls) -> Relay:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.ws_relay", str(port)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        relay = cls(process, port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the relay exited with status {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return relay
            except OSError:
                time.sleep(0.05)
        relay.stop()
        raise RuntimeError("the relay did not start listening")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Sender(Reader):
    async def on_message(self, message: dict[str, object], at: float) -> None:
        pass  # senders are never written to


async def relay_flood(
    relay: Relay, senders: int, receivers: int, window_s: float
) -> tuple[float, list[float]]:
    """Memory per idle connection of the relay (KiB), and the latencies (ms) of one
    message from each of ``senders`` sockets, sent within ``window_s``, each to one of
    ``receivers``."""
    arrivals: dict[int, float] = {}
    inbound = [
        RelayReceiver(await open_socket(f"{relay.url}/recv/{i}"), arrivals)
        for i in range(receivers)
    ]
    before = rss_kib(relay.process.pid)
    gate = asyncio.Semaphore(50)

    async def connect() -> Sender:
        async with gate:
            return Sender(await open_socket(f"{relay.url}/send"))

    outbound = list(await asyncio.gather(*(connect() for _ in range(senders))))
    await asyncio.sleep(settle_s(senders))
    per_conn = (rss_kib(relay.process.pid) - before) / senders
    sent: dict[int, float] = {}
    started = time.perf_counter() + 0.1

    async def send_at(i: int, sender: Sender) -> None:
        await asyncio.sleep(max(0.0, started + window_s * i / senders - time.perf_counter()))
        sent[i] = time.perf_counter()
        await sender.send({"to": i % receivers, "i": i})

    await asyncio.gather(*(send_at(i, s) for i, s in enumerate(outbound)))
    deadline = time.monotonic() + 60
    while len(arrivals) < senders and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for client in [*outbound, *inbound]:
        await client.close()
    return per_conn, [(arrivals[i] - sent[i]) * 1000 for i in arrivals]


async def relay_one_by_one(relay: Relay, count: int) -> list[float]:
    """Latencies (ms) of ``count`` messages sent one at a time through the relay."""
    arrivals: dict[int, float] = {}
    receiver = RelayReceiver(await open_socket(f"{relay.url}/recv/0"), arrivals)
    sender = Sender(await open_socket(f"{relay.url}/send"))
    latencies = []
    for i in range(count):
        receiver.arrived.clear()
        sent = time.perf_counter()
        await sender.send({"to": 0, "i": i})
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        latencies.append((arrivals[i] - sent) * 1000)
    await sender.close()
    await receiver.close()
    return latencies
