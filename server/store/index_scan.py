"""Paging over time-ordered ids, newest first, for the call log and the request list.

Call and request ids start with their creation time, and every index is a sorted set
whose scores are all 0, so a lexical range over ids is a time range and a cursor is
simply the last id returned: stable under inserts, no offsets. A filter with several
conditions walks the index that holds the fewest ids in the range (``ZLEXCOUNT`` is
O(log n)) and checks the other conditions on each record it loads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

import redis.asyncio as aioredis

T = TypeVar("T")
MAX_BATCH = 1000
EXPORT_BATCH = 500


async def every(
    page: Callable[[int, str | None], Awaitable[tuple[list[T], str | None]]], max_rows: int
) -> AsyncIterator[T]:
    """Every item a paged query gives, newest first, up to ``max_rows`` (the exports)."""
    cursor, sent = None, 0
    while sent < max_rows:
        items, cursor = await page(min(EXPORT_BATCH, max_rows - sent), cursor)
        for item in items:
            yield item
        sent += len(items)
        if cursor is None:
            return


def id_bound(at_ms: int) -> str:
    """The smallest id made at ``at_ms``: ids are 11 hex digits of ms, then randomness."""
    return f"{max(at_ms, 0):011x}"


def lex_range(since_ms: int | None, until_ms: int | None, cursor: str | None) -> tuple[str, str]:
    """(lower, upper) for ZREVRANGEBYLEX: since inclusive, until and cursor exclusive."""
    upper = "+"
    if until_ms is not None:
        upper = "(" + id_bound(until_ms)
    if cursor is not None and (upper == "+" or cursor < upper[1:]):
        upper = "(" + cursor
    lower = "[" + id_bound(since_ms) if since_ms is not None else "-"
    return lower, upper


def in_range(item_id: str, lower: str, upper: str) -> bool:
    if lower != "-" and item_id < lower[1:]:
        return False
    return upper == "+" or item_id < upper[1:]


async def smallest_index(
    redis: aioredis.Redis, indexes: Sequence[str], lower: str, upper: str
) -> str:
    """The index with the fewest ids in the range (the first on a tie)."""
    if len(indexes) == 1:
        return indexes[0]
    async with redis.pipeline(transaction=False) as pipe:
        for index in indexes:
            pipe.zlexcount(index, lower, upper)
        counts = await pipe.execute()
    return min(zip(counts, range(len(indexes)), indexes, strict=True))[2]


async def page(
    redis: aioredis.Redis,
    source: str | Sequence[str],
    lower: str,
    upper: str,
    limit: int,
    load: Callable[[list[str]], Awaitable[list[T | None]]],
    keep: Callable[[T], bool],
    id_of: Callable[[T], str],
) -> tuple[list[T], str | None]:
    """Up to ``limit`` items kept by ``keep``, newest first, and the cursor for more.

    ``source`` is an index key, or a list of candidate ids already sorted newest first.
    ``load`` turns ids into items (None for one that has gone).
    """
    found: list[T] = []
    batch = limit + 1
    remaining = (
        None if isinstance(source, str) else [i for i in source if in_range(i, lower, upper)]
    )
    while True:
        if remaining is None:
            assert isinstance(source, str)
            ids = await redis.zrevrangebylex(source, upper, lower, start=0, num=batch)
        else:
            ids, remaining = remaining[:batch], remaining[batch:]
        if not ids:
            return found, None
        for item in await load(ids):
            if item is None or not keep(item):
                continue
            if len(found) == limit:
                return found, id_of(found[-1])
            found.append(item)
        if len(ids) < batch and (remaining is None or not remaining):
            return found, None
        upper = "(" + ids[-1]
        batch = min(batch * 2, MAX_BATCH)  # the filter is rejecting; read more at a time
