"""Deadlines of the call queue, shared by every hub through one Redis sorted set.

A timer is a member ``kind|arg|arg...`` scored by its due time in milliseconds, built
by ``member`` here (the scripts that set or clear a call's own deadlines in the same
step as the call's change write the same layout: ``maxwait|ID``, ``overflow|ID|TOWN``,
``callback|ID``, ``ring|TOWN|ID|USER``).
Setting it again moves it; cancelling removes it. When it falls due, one hub claims
it (``scripts.CLAIM_TIMERS``: one atomic step pushes it to a lease ``LEASE_MS``
ahead, so no other hub sees it due), runs it, and then removes it. A hub killed
while running a timer leaves it in the set: another hub runs it again when the
lease is over, so every handler may run twice and must not mind. A hub that
restarts finds every deadline still there.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from server.clock import now_ms
from server.store import keys, scripts

BATCH = 200
LEASE_MS = 30_000


def member(kind: str, *args: str) -> str:
    return "|".join((kind, *args))


@dataclass(frozen=True)
class Claimed:
    name: str  # the member, ``kind|arg|...``
    lease: float  # its score while this hub runs it

    @property
    def parts(self) -> list[str]:
        return self.name.split("|")


class Timers:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(scripts.CLAIM_TIMERS)
        self._done = redis.register_script(scripts.TIMER_DONE)

    async def set(self, at_ms: int, kind: str, *args: str) -> None:
        await self.redis.zadd(keys.TIMERS, {member(kind, *args): at_ms})

    async def set_in(self, seconds: float, kind: str, *args: str) -> None:
        await self.set(now_ms() + int(seconds * 1000), kind, *args)

    async def set_first(self, at_ms: int, kind: str, *args: str) -> bool:
        """Set it unless it is set already (a clock that must not restart); True if set."""
        return bool(await self.redis.zadd(keys.TIMERS, {member(kind, *args): at_ms}, nx=True))

    async def cancel(self, kind: str, *args: str) -> bool:
        """Remove it; True if it was there."""
        return bool(await self.redis.zrem(keys.TIMERS, member(kind, *args)))

    async def claim_due(self, at_ms: int | None = None) -> list[Claimed]:
        """Take the timers due now that no other hub took first; call ``done`` on each
        once it has run."""
        now = at_ms if at_ms is not None else now_ms()
        lease = now + LEASE_MS + 0.25
        due = await self._claim(keys=[keys.TIMERS], args=[now, repr(lease), BATCH])
        return [Claimed(name, lease) for name in due]

    async def done(self, timer: Claimed) -> None:
        await self._done(keys=[keys.TIMERS], args=[timer.name, repr(timer.lease)])

    async def restart_clocks(self, kinds: tuple[str, ...], not_before_ms: int) -> None:
        """After an outage nobody could come back in time: move these kinds' overdue
        deadlines to ``not_before_ms``."""
        overdue = await self.redis.zrangebyscore(keys.TIMERS, "-inf", not_before_ms)
        moved = {m: not_before_ms for m in overdue if m.split("|", 1)[0] in kinds}
        if moved:
            await self.redis.zadd(keys.TIMERS, moved, xx=True)  # type: ignore[arg-type]
