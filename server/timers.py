"""Deadlines of the call queue, shared by every hub through one Redis sorted set.

A timer is a member ``kind|arg|arg...`` scored by its due time in milliseconds.
Setting it again moves it; cancelling removes it. When it falls due, the hub that
removes it from the set first (``ZREM`` answers 1 to exactly one of them) runs it,
so each deadline is handled once even with several hubs, and a hub that restarts
finds every deadline still there.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from server import keys
from server.clock import now_ms

BATCH = 200


def member(kind: str, *args: str) -> str:
    return "|".join((kind, *args))


class Timers:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def set(self, at_ms: int, kind: str, *args: str) -> None:
        await self.redis.zadd(keys.TIMERS, {member(kind, *args): at_ms})

    async def set_in(self, seconds: float, kind: str, *args: str) -> None:
        await self.set(now_ms() + int(seconds * 1000), kind, *args)

    async def cancel(self, kind: str, *args: str) -> None:
        await self.redis.zrem(keys.TIMERS, member(kind, *args))

    async def claim_due(self, at_ms: int | None = None) -> list[list[str]]:
        """Remove and return the timers due now that no other hub took first."""
        due = await self.redis.zrangebyscore(
            keys.TIMERS, "-inf", at_ms if at_ms is not None else now_ms(), start=0, num=BATCH
        )
        if not due:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in due:
                pipe.zrem(keys.TIMERS, name)
            won = await pipe.execute()
        return [name.split("|") for name, mine in zip(due, won, strict=True) if mine]

    async def restart_clocks(self, kinds: tuple[str, ...], not_before_ms: int) -> None:
        """After an outage nobody could come back in time: move these kinds' overdue
        deadlines to ``not_before_ms``."""
        overdue = await self.redis.zrangebyscore(keys.TIMERS, "-inf", not_before_ms)
        moved = {m: not_before_ms for m in overdue if m.split("|", 1)[0] in kinds}
        if moved:
            await self.redis.zadd(keys.TIMERS, moved, xx=True)  # type: ignore[arg-type]
