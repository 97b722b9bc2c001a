"""Finding requests: filtered, searched, newest first, paged with a cursor.

A filter walks the narrowest index in its time range (``server.store.index_scan``); a text
query starts from its tokens' intersection instead (``server.tracking.text_index``) and checks
each candidate's text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.clock import now_ms
from server.store import index_scan, keys
from server.tracking.request_model import RequestRecord
from server.tracking.text_index import Query, parse_query

MAX_LIMIT = 200


@dataclass(frozen=True)
class RequestFilter:
    town_id: str | None = None
    town_ids: tuple[str, ...] = ()  # every town, for a query across towns
    village: str | None = None
    kiosk_id: str | None = None
    operator: str | None = None
    assignee: str | None = None
    status: str | None = None
    category: str | None = None
    kind: str | None = None
    q: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None  # exclusive
    overdue: bool | None = None

    def keeps(self, rec: RequestRecord, at_ms: int) -> bool:
        return (
            (self.town_id is None or rec.town_id == self.town_id)
            and (self.village is None or rec.village == self.village)
            and (self.kiosk_id is None or rec.kiosk_id == self.kiosk_id)
            and (self.operator is None or rec.operator == self.operator)
            and (self.assignee is None or rec.assignee == self.assignee)
            and (self.status is None or rec.status == self.status)
            and (self.category is None or rec.category == self.category)
            and (self.kind is None or rec.kind == self.kind)
            and (self.overdue is None or rec.overdue(at_ms) == self.overdue)
        )

    def indexes(self) -> list[str]:
        """Every index that holds all matches; the scan picks the narrowest."""
        found = [keys.request_index("town", self.town_id) if self.town_id else keys.REQUESTS]
        if self.kiosk_id:
            found.append(keys.request_index("kiosk", self.kiosk_id))
        if self.operator:
            found.append(keys.request_index("operator", self.operator))
        if self.assignee:
            found.append(keys.request_index("assignee", self.assignee))
        if self.town_id and self.village:
            found.append(keys.request_index("village", self.town_id, self.village))
        if self.town_id and self.status:
            found.append(keys.request_index("status", self.town_id, self.status))
        if self.town_id and self.category:
            found.append(keys.request_index("category", self.town_id, self.category))
        return found


class RequestQuery:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def load(self, ids: list[str]) -> list[RequestRecord | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for request_id in ids:
                pipe.hgetall(keys.request(request_id))
            rows = await pipe.execute()
        return [RequestRecord.from_hash(row) if row else None for row in rows]

    async def text_of(self, recs: list[RequestRecord]) -> list[str]:
        """Summary and notes of each request, as one text to search."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for rec in recs:
                pipe.lrange(keys.request_notes(rec.id), 0, -1)
            notes = await pipe.execute()
        return [
            "\n".join([rec.summary, *(json.loads(n)["text"] for n in raw)])
            for rec, raw in zip(recs, notes, strict=True)
        ]

    async def matching_ids(self, flt: RequestFilter, query: Query) -> list[str] | None:
        """Candidates for a text query, newest first; None when no token narrows it."""
        tokens = sorted(query.tokens)
        if not tokens:
            return None
        towns = [flt.town_id] if flt.town_id else list(flt.town_ids)
        found: set[str] = set()
        for town in towns:
            found.update(await self.redis.sinter([keys.search_token(town, t) for t in tokens]))
        return sorted(found, reverse=True)

    async def page(
        self, flt: RequestFilter, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[RequestRecord], str | None]:
        at = now_ms()
        lower, upper = index_scan.lex_range(flt.since_ms, flt.until_ms, cursor)
        query = parse_query(flt.q) if flt.q else None
        source: str | list[str] | None = None
        if query is not None and not query.empty:
            source = await self.matching_ids(flt, query)
        if source is None:
            source = await index_scan.smallest_index(self.redis, flt.indexes(), lower, upper)

        async def load(ids: list[str]) -> list[RequestRecord | None]:
            recs = [r for r in await self.load(ids) if r is not None and flt.keeps(r, at)]
            if query is None or query.empty:
                return list(recs)
            # The summary usually decides; only the others need their notes read.
            undecided = [r for r in recs if not query.matches(r.summary)]
            by_notes = {
                r.id for r, text in zip(undecided, await self.text_of(undecided), strict=True)
                if query.matches(text)
            }  # fmt: skip
            return [r for r in recs if r.id in by_notes or query.matches(r.summary)]

        return await index_scan.page(
            self.redis, source, lower, upper, limit, load, lambda _r: True, lambda r: r.id
        )

    def all(self, flt: RequestFilter, max_rows: int) -> AsyncIterator[RequestRecord]:
        """Every match, newest first, in pages (for the exports)."""
        return index_scan.every(lambda limit, cursor: self.page(flt, limit, cursor), max_rows)
