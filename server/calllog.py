"""Reading the call log: filtered, newest first, paged with a cursor.

Call ids start with their creation time, and each index (all calls, a town's, a
kiosk's) is a sorted set with every score 0, so a lexical range over the ids is a
time range and the cursor is simply the last id returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from server import keys
from server.calls import CallRecord, id_bound

MAX_LIMIT = 200


@dataclass(frozen=True)
class CallFilter:
    town_id: str | None = None
    kiosk_id: str | None = None
    status: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None  # exclusive


class CallLog:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def page(
        self, flt: CallFilter, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CallRecord], str | None]:
        if flt.kiosk_id:
            index = keys.kiosk_calls(flt.kiosk_id)
        elif flt.town_id:
            index = keys.town_calls(flt.town_id)
        else:
            index = keys.CALLS
        upper = "+"
        if flt.until_ms is not None:
            upper = "(" + id_bound(flt.until_ms)
        if cursor is not None and (upper == "+" or cursor < upper[1:]):
            upper = "(" + cursor
        lower = "[" + id_bound(flt.since_ms) if flt.since_ms is not None else "-"

        found: list[CallRecord] = []
        batch = max(limit, 50) if flt.status else limit + 1
        while True:
            ids = await self.redis.zrevrangebylex(index, upper, lower, start=0, num=batch)
            if not ids:
                return found, None
            async with self.redis.pipeline(transaction=False) as pipe:
                for call_id in ids:
                    pipe.hgetall(keys.call(call_id))
                rows = await pipe.execute()
            for data in rows:
                if not data:
                    continue
                call = CallRecord.from_hash(data)
                if flt.town_id and call.town_id != flt.town_id:
                    continue
                if flt.status and call.status != flt.status:
                    continue
                if len(found) == limit:
                    return found, found[-1].id
                found.append(call)
            if len(ids) < batch:
                return found, None
            upper = "(" + ids[-1]
