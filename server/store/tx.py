"""Optimistic transactions: read under WATCH, then write in one MULTI/EXEC.

Used where a multi-key change depends on what is there (a request's status rules, a
call counted exactly once), so the check and the change are one atomic step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from server.errors import BadState

T = TypeVar("T")
ATTEMPTS = 50


async def atomic(
    redis: aioredis.Redis, watch: list[str], work: Callable[[Pipeline], Awaitable[T]]
) -> T:
    """Run ``work`` until its transaction commits untouched.

    ``work`` reads through the pipe (immediate mode while watching), then calls
    ``pipe.multi()`` and queues its writes; returning before ``multi()`` writes nothing.
    """
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(ATTEMPTS):
            try:
                await pipe.watch(*watch)
                result = await work(pipe)
                if pipe.explicit_transaction:
                    await pipe.execute()
                else:
                    await pipe.reset()
                return result
            except WatchError:
                await pipe.reset()
                continue
    raise BadState(f"{', '.join(watch)} kept changing; try again", code="busy")
