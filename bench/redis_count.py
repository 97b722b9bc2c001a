"""Counting the commands the hubs send to Redis, from Redis's own ``MONITOR`` stream.

A ``Monitor`` reads the stream on a connection of its own; the bench marks the start
and end of a step (a press, an answer, a hang-up) with ``ECHO`` on its own named
connection, so a step's commands are exactly those between its two marks in the
stream's order. A command counts when it came from a connection the hub named
``HUB_CLIENT_NAME`` (``CLIENT LIST`` maps each address to its name; MONITOR names
the address). Not counted: commands a Lua script runs (MONITOR shows them as
``lua``), the bench's own commands, the MONITOR connection's.

A step ends once the bench has seen its outcome and the hubs then stay quiet for
``QUIET_S``: work a step starts after its outcome (re-reads, pushes) is counted. A
hub's periodic work (the sweep each second, the leases and the reaper every two)
may fall inside a window; over several steps the most frequent count is the step's
own, and the spread is reported beside it.
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from server.store.redis_conn import HUB_CLIENT_NAME

BENCH_CLIENT_NAME = "yijian-bench"
QUIET_S = 0.25  # no hub command for this long: the step's work is over
STEP_MAX_S = 5.0
# 1700000000.123456 [0 127.0.0.1:50000] "EVALSHA" "..."   (or [0 lua], [0 unix:/path])
LINE = re.compile(r'^(\d+\.\d+) \[\d+ ([^\]]+)\] "((?:[^"\\]|\\.)*)"(?: "((?:[^"\\]|\\.)*)")?')
MARK = "bench:mark:"


@dataclass
class Command:
    at: float  # Redis's clock, seconds since the epoch
    client: str  # "127.0.0.1:50000", "lua" or "unix:..."
    name: str
    first_arg: str


@dataclass
class Monitor:
    url: str
    commands: list[Command] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # address -> client name
    _task: asyncio.Task[None] | None = None
    _client: aioredis.Redis | None = None
    _marks: int = 0

    async def start(self) -> None:
        self._client = aioredis.Redis.from_url(self.url, client_name=BENCH_CLIENT_NAME)
        self._pool = aioredis.ConnectionPool.from_url(self.url)
        connection = self._pool.make_connection()
        await connection.connect()
        await connection.send_command("MONITOR")
        if await connection.read_response() not in (b"OK", "OK"):
            raise RuntimeError("Redis refused MONITOR")
        self._task = asyncio.create_task(self._read(connection), name="bench-monitor")

    async def _read(self, connection: aioredis.connection.AbstractConnection) -> None:
        while True:
            raw = await connection.read_response()
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            found = LINE.match(text)
            if found:
                at, client, name, first = found.groups()
                self.commands.append(Command(float(at), client, name.upper(), first or ""))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            await self._pool.disconnect(inuse_connections=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def mark(self) -> str:
        """Write a mark into the stream; return it once the stream has shown it."""
        assert self._client is not None
        self._marks += 1
        mark = f"{MARK}{self._marks}"
        await self._client.echo(mark)
        deadline = time.monotonic() + STEP_MAX_S
        while not any(c.first_arg == mark for c in reversed(self.commands[-2000:])):
            if time.monotonic() > deadline:
                raise TimeoutError(f"MONITOR did not show {mark}")
            await asyncio.sleep(0.01)
        return mark

    async def quiet(self) -> None:
        """Wait until the hubs sent nothing for QUIET_S (at most STEP_MAX_S)."""
        deadline = time.time() + STEP_MAX_S
        while time.time() < deadline:
            await self.learn_names()
            last = next((c.at for c in reversed(self.commands) if self._from_hub(c)), 0.0)
            if time.time() - last >= QUIET_S:
                return
            await asyncio.sleep(0.05)

    async def learn_names(self) -> None:
        assert self._client is not None
        unknown = {c.client for c in self.commands[-500:] if c.client not in self.names}
        if unknown - {"lua"}:
            for entry in await self._client.client_list():
                name = entry.get("name", "")
                self.names[entry["addr"]] = name.decode() if isinstance(name, bytes) else name

    def _from_hub(self, command: Command) -> bool:
        return self.names.get(command.client, "").startswith(HUB_CLIENT_NAME)

    async def count_between(self, start: str, end: str) -> collections.Counter[str]:
        """The hubs' commands between two marks, by command name."""
        await self.learn_names()
        inside, counted = False, collections.Counter[str]()
        for command in self.commands:
            if command.first_arg == start:
                inside = True
            elif command.first_arg == end:
                break
            elif inside and self._from_hub(command):
                counted[command.name] += 1
        return counted

    def unattributed(self) -> int:
        """Commands from addresses CLIENT LIST never named (closed too soon to ask)."""
        return sum(1 for c in self.commands if c.client != "lua" and c.client not in self.names)


def most_frequent(counts: list[int]) -> int:
    """The count seen most often (the smaller one on a tie): a step's own count, with
    the windows a periodic job fell into set aside."""
    seen = collections.Counter(counts)
    return min(seen, key=lambda n: (-seen[n], n))
