"""Reading the call log: filtered, newest first, paged with a cursor.

Call ids start with their creation time, and each index (all calls, a town's, a
kiosk's, an operator's, a town's ended calls of one status) is a sorted set with
every score 0, so a lexical range over the ids is a time range and the cursor is
simply the last id returned (``server.store.index_scan``). A text query (``q``) searches
the calls' requests and pages over their calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.queue.records import FINAL, CallRecord
from server.store import index_scan, keys
from server.tracking.request_query import RequestFilter, RequestQuery
from server.tracking.text_index import parse_query

MAX_LIMIT = 200
MAX_TEXT_MATCHES = 20_000  # requests a text query on the call log may expand


@dataclass(frozen=True)
class CallFilter:
    town_id: str | None = None
    kiosk_id: str | None = None
    status: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None  # exclusive
    village: str | None = None
    operator: str | None = None
    q: str | None = None  # text of the call's request
    town_ids: tuple[str, ...] = ()  # every town, for a text query across towns

    def keeps(self, call: CallRecord) -> bool:
        return (
            (self.town_id is None or call.town_id == self.town_id)
            and (self.kiosk_id is None or call.kiosk_id == self.kiosk_id)
            and (self.status is None or call.status == self.status)
            and (self.village is None or call.village == self.village)
            and (self.operator is None or call.operator == self.operator)
        )

    def indexes(self) -> list[str]:
        """Indexes that hold every match (the scan walks the narrowest). The extra
        indexes are written when a call is answered (operator) or ends (status)."""
        if self.kiosk_id:
            found = [keys.kiosk_calls(self.kiosk_id)]
        elif self.town_id:
            found = [keys.town_calls(self.town_id)]
        else:
            found = [keys.CALLS]
        if self.operator:
            found.append(keys.call_index("operator", self.operator))
        if self.town_id and self.status in FINAL:
            found.append(keys.call_index("status", self.town_id, self.status))
        return found


class CallLog:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.requests = RequestQuery(redis)

    async def load(self, ids: list[str]) -> list[CallRecord | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(keys.call(call_id))
            rows = await pipe.execute()
        return [CallRecord.from_hash(row) if row else None for row in rows]

    async def page(
        self, flt: CallFilter, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[CallRecord], str | None]:
        lower, upper = index_scan.lex_range(flt.since_ms, flt.until_ms, cursor)
        source: str | list[str]
        if flt.q and not parse_query(flt.q).empty:
            source = await self._calls_of_matching_requests(flt)
        else:
            source = await index_scan.smallest_index(self.redis, flt.indexes(), lower, upper)
        return await index_scan.page(
            self.redis, source, lower, upper, limit, self.load, flt.keeps, lambda c: c.id
        )

    async def _calls_of_matching_requests(self, flt: CallFilter) -> list[str]:
        """The calls linked to requests whose text matches, newest first."""
        rq = RequestFilter(town_id=flt.town_id, town_ids=flt.town_ids, kiosk_id=flt.kiosk_id,
                           village=flt.village, q=flt.q)  # fmt: skip
        call_ids: set[str] = set()
        async for rec in self.requests.all(rq, MAX_TEXT_MATCHES):
            call_ids.update(rec.call_ids)
        return sorted(call_ids, reverse=True)

    def all(self, flt: CallFilter, max_rows: int) -> AsyncIterator[CallRecord]:
        """Every match, newest first, in pages (for the export)."""
        return index_scan.every(lambda limit, cursor: self.page(flt, limit, cursor), max_rows)
