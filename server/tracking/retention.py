"""Retention: calls and requests older than ``YIJIAN_RETENTION_DAYS`` are deleted.

A request goes when its last change (``updated_at``) is past the cutoff, together with
every call linked to it; a call without a request goes when it was made past the
cutoff. Everything that points at a deleted record (indexes, the text index, the
due-date index, the kiosk's open-request pointer) goes in the same transaction. The
aggregate counters (``keys.stats_day``, ``keys.stats_waits``) are kept, so the
numbers of past years stay as they were.

The job is owned by the app's lifespan: it runs at start and every
``YIJIAN_RETENTION_INTERVAL_S``; with several hubs, a short Redis lock lets one run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.clock import now_ms
from server.queue.records import LIVE, CallRecord
from server.store import keys, scripts
from server.store.index_scan import id_bound
from server.tracking import text_index
from server.tracking.request_model import RequestRecord, index_keys

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
BATCH = 200
LOCK_MS = 30 * 60 * 1000
CATCH_UP_MS = 2 * DAY_MS


@dataclass
class Swept:
    requests: int = 0
    calls: int = 0


def queue_request_delete(
    pipe: Pipeline, town_id: str, request_id: str, rec: RequestRecord | None, notes: list[str]
) -> None:
    """Queue the deletion of a request with its notes, history, indexes and search
    tokens (``notes``: its notes as stored). Its calls and its kiosk's open-request
    pointer are the caller's: retention deletes the calls, a PIPL deletion
    (``server.tracking.pipl``) unlinks them."""
    pipe.delete(keys.request(request_id), keys.request_notes(request_id),
                keys.request_history(request_id))  # fmt: skip
    pipe.zrem(keys.request_index("town", town_id), request_id)
    pipe.zrem(keys.town_due(town_id), request_id)
    if rec is not None:
        for index in index_keys(rec):
            pipe.zrem(index, request_id)
        text = "\n".join([rec.summary, *(json.loads(n)["text"] for n in notes)])
        for token in text_index.tokens(text):
            pipe.srem(keys.search_token(town_id, token), request_id)


class Retention:
    def __init__(
        self, redis: aioredis.Redis, days: int, interval_s: float,
        catch_up: Callable[[int], Awaitable[int]] | None = None,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.days = days
        self.interval_s = interval_s
        # Run first on each round (server.tracking.hooks.Tracking.catch_up): counts what a
        # crash left uncounted over the last CATCH_UP_MS.
        self.catch_up = catch_up
        self._task: asyncio.Task[None] | None = None
        self._release = redis.register_script(scripts.RELEASE_LOCK)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="retention")

    async def close(self) -> None:
        """Stop the job; a sweep in progress stops between two records. Idempotent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            token = secrets.token_hex(8)
            try:
                if await self.redis.set(keys.RETENTION_LOCK, token, nx=True, px=LOCK_MS):
                    if self.catch_up is not None:
                        await self._catch_up(self.catch_up)
                    swept = await self.sweep() if self.days > 0 else Swept()
                    if swept.requests or swept.calls:
                        log.info("retention deleted %d requests and %d calls",
                                 swept.requests, swept.calls)  # fmt: skip
            except Exception:
                log.exception("the retention sweep failed; trying again later")
            finally:  # ours only: compare and delete in one step
                await self._release(keys=[keys.RETENTION_LOCK], args=[token])
            await asyncio.sleep(self.interval_s)

    async def _catch_up(self, catch_up: Callable[[int], Awaitable[int]]) -> None:
        backfilled = await self.redis.exists(keys.TRACKING_BACKFILLED)
        done = await catch_up(now_ms() - CATCH_UP_MS if backfilled else 0)
        if done:
            log.info("counted %d ended calls that had not been", done)
        await self.redis.set(keys.TRACKING_BACKFILLED, now_ms())

    async def sweep(self, at_ms: int | None = None, towns: list[str] | None = None) -> Swept:
        """Delete what is past the cutoff, in every town (or those given)."""
        cutoff = (now_ms() if at_ms is None else at_ms) - self.days * DAY_MS
        swept = Swept()
        for town_id in (
            towns if towns is not None else sorted(await self.redis.smembers(keys.TOWNS))
        ):
            await self._requests(town_id, cutoff, swept)
            swept.calls += await self._calls(town_id, cutoff)
        return swept

    async def _old(self, index: str, cutoff: int, after: str) -> list[str]:
        upper = "(" + id_bound(cutoff)
        return await self.redis.zrangebylex(index, after, upper, start=0, num=BATCH)  # type: ignore[no-any-return]

    async def _requests(self, town_id: str, cutoff: int, swept: Swept) -> None:
        after = "-"
        while ids := await self._old(keys.request_index("town", town_id), cutoff, after):
            after = "(" + ids[-1]
            for request_id in ids:
                data = await self.redis.hgetall(keys.request(request_id))
                rec = RequestRecord.from_hash(data) if data else None
                if rec is None or rec.updated_at < cutoff:
                    swept.calls += await self._delete_request(town_id, request_id, rec)
                    swept.requests += 1

    async def _delete_request(
        self, town_id: str, request_id: str, rec: RequestRecord | None
    ) -> int:
        """Delete a request and its calls; returns how many calls went with it."""
        notes = await self.redis.lrange(keys.request_notes(request_id), 0, -1)
        calls = [await self.redis.hgetall(keys.call(c)) for c in (rec.call_ids if rec else ())]
        pointer = keys.kiosk_open_request(rec.kiosk_id) if rec else None
        async with self.redis.pipeline(transaction=True) as pipe:
            queue_request_delete(pipe, town_id, request_id, rec, notes)
            for data in calls:
                if data:
                    self._queue_call_delete(pipe, CallRecord.from_hash(data))
            await pipe.execute()
        if pointer is not None and await self.redis.get(pointer) == request_id:
            await self.redis.delete(pointer)
        return sum(1 for data in calls if data)

    async def _calls(self, town_id: str, cutoff: int) -> int:
        deleted, after = 0, "-"
        while ids := await self._old(keys.town_calls(town_id), cutoff, after):
            after = "(" + ids[-1]
            for call_id in ids:
                data = await self.redis.hgetall(keys.call(call_id))
                if data and data.get("status") in LIVE:
                    continue
                if data.get("request_id") and await self.redis.exists(
                    keys.request(data["request_id"])
                ):
                    continue  # kept while its request is kept
                async with self.redis.pipeline(transaction=True) as pipe:
                    if data:
                        self._queue_call_delete(pipe, CallRecord.from_hash(data))
                    pipe.zrem(keys.town_calls(town_id), call_id)
                    pipe.zrem(keys.CALLS, call_id)
                    await pipe.execute()
                deleted += 1
        return deleted

    @staticmethod
    def _queue_call_delete(pipe: aioredis.client.Pipeline, call: CallRecord) -> None:
        pipe.delete(keys.call(call.id), keys.call_events(call.id), keys.call_offered(call.id))
        for index in (keys.CALLS, keys.town_calls(call.town_id), keys.kiosk_calls(call.kiosk_id),
                      keys.call_index("status", call.town_id, call.status)):  # fmt: skip
            pipe.zrem(index, call.id)
        if call.operator:
            pipe.zrem(keys.call_index("operator", call.operator), call.id)
