"""Tracked requests in Redis: opened when a call is answered (or ends unanswered),
followed to resolution, every change an event with who and when. Knows nothing of HTTP.

Every change is one MULTI/EXEC under WATCH (``server.store.tx``): the request's hash, its
indexes, its text index, its history, its linked calls' ``request`` view and the
town's counters move together or not at all.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.accounts.access import of_town
from server.accounts.accounts import Operator
from server.accounts.categories import Categories
from server.accounts.towns import Towns, TownSettings
from server.clock import now_ms
from server.errors import BadRequest, BadState, NotFound
from server.queue.records import CallRecord
from server.store import keys
from server.store.tx import atomic
from server.tracking import request_changes, stats, text_index
from server.tracking.request_model import (
    FINISHED,
    REQUEST_STATUSES,
    SATISFACTION,
    UNFINISHED,
    Changes,
    RequestRecord,
    decode_entries,
    event,
    index_keys,
    new_request_id,
    number_head,
)
from server.tracking.scripts import CREATE_REQUEST, Marks, Recorder, Writer

MAX_WRAP_UP_MS = 30 * 60 * 1000  # a save later than this is follow-up work, not wrap-up


def queue_create(pipe: Writer, rec: RequestRecord, call_id: str | None, by: str) -> None:
    """Queue the writes of a new request: into the script that opens a call's request
    (``RequestStore.ensure_for_call``), or the benchmark's bulk seeding."""
    pipe.hset(keys.request(rec.id), mapping=rec.to_hash())
    for index in index_keys(rec):
        pipe.zadd(index, {rec.id: 0})
    fields = {"kind": rec.kind, "number": rec.number}
    pipe.rpush(keys.request_history(rec.id), event("created", by, rec.created_at, **fields))
    if rec.status in UNFINISHED:
        pipe.set(keys.kiosk_open_request(rec.kiosk_id), rec.id)
    stats.queue_request_status(pipe, rec.town_id, rec.day, None, rec.status)
    for token in text_index.tokens(rec.summary):
        pipe.sadd(keys.search_token(rec.town_id, token), rec.id)
    if call_id is not None:
        pipe.hset(keys.call(call_id), mapping={"request_id": rec.id, "request_number": rec.number})


def _has_request(call: CallRecord) -> bool:
    """Whether the call has (or should have) a request: it was answered, or it ended
    unanswered and the town calls back."""
    return call.answered_at is not None or call.status == "unanswered"


class RequestStore:
    def __init__(self, redis: aioredis.Redis, towns: Towns, categories: Categories) -> None:
        self.redis = redis
        self.towns = towns
        self.categories = categories
        self._create = redis.register_script(CREATE_REQUEST)

    # --- reading -------------------------------------------------------------------

    async def get(self, request_id: str) -> RequestRecord:
        data = await self.redis.hgetall(keys.request(request_id))
        if not data:
            raise NotFound(f"no request {request_id!r}", code="request_not_found")
        return RequestRecord.from_hash(data)

    async def town_of(self, request_id: str) -> str | None:
        """The request's town; None when there is no such request."""
        town_id: str | None = await self.redis.hget(keys.request(request_id), "town_id")
        return town_id

    async def notes(self, request_id: str) -> list[dict[str, Any]]:
        return decode_entries(await self.redis.lrange(keys.request_notes(request_id), 0, -1))

    async def history(self, request_id: str) -> list[dict[str, Any]]:
        return decode_entries(await self.redis.lrange(keys.request_history(request_id), 0, -1))

    # --- opening and linking ---------------------------------------------------------

    async def open_for_call(self, call: CallRecord, by: str = "hub") -> RequestRecord | None:
        """The call's request: its own, the kiosk's open one (a callback joins it), or a
        new one (``call`` when answered, ``callback`` when it ended unanswered)."""
        if not _has_request(call):
            return None
        if not (known := await self.redis.hget(keys.call(call.id), "request_id")):
            await self.ensure_for_call(call, by)
            known = await self.redis.hget(keys.call(call.id), "request_id")
        return await self.get(known)

    async def ensure_for_call(
        self, call: CallRecord, by: str = "hub", settings: TownSettings | None = None
    ) -> None:
        """Make sure the call has its request, reading nothing back: one script call
        when the town's settings are given and the call is not a callback."""
        if not _has_request(call):
            return
        # Only the town's callback follows up the kiosk's unfinished request; a new
        # press is a new villager (kiosks are shared) and gets a request of its own.
        if call.kind == "callback" and await self._join_open(call, by):
            return
        settings = settings or await self.towns.settings(call.town_id)
        # Made at the answer (or the end); a call from before requests were tracked
        # brings what its operator wrote then.
        at = min(now_ms(), call.answered_at or call.ended_at or now_ms())
        old = call.request or {}
        status = old["status"] if old.get("status") in REQUEST_STATUSES else "open"
        year, marks = settings.local(at).year, Marks.new()
        rec = RequestRecord(
            id=new_request_id(at), number=marks.number, town_id=call.town_id,
            kiosk_id=call.kiosk_id, kiosk_name=call.kiosk_name, village=call.village,
            status=status, created_at=at, updated_at=at, day=settings.day(at),
            kind="call" if call.answered_at else "callback",
            summary=str(old.get("summary", "")), category=str(old.get("category", "")),
            resolved_at=at if status in FINISHED else None,
            operator=call.operator, call_ids=(call.id,), lat=marks.lat, long=marks.long,
        )  # fmt: skip
        writes = Recorder()
        queue_create(writes, rec, call.id, by)
        await self._create(
            keys=[keys.call(call.id), keys.request_counter(call.town_id, year),
                  keys.kiosk(call.kiosk_id)],
            args=[number_head(settings.number_prefix, year), marks.number, marks.lat, marks.long,
                  *writes.argv()],
        )  # fmt: skip

    async def _join_open(self, call: CallRecord, by: str) -> bool:
        """Join the call to its kiosk's unfinished request; whether it has one now."""
        call_key, pointer = keys.call(call.id), keys.kiosk_open_request(call.kiosk_id)

        async def work(pipe: Pipeline) -> bool:
            if await pipe.hget(call_key, "request_id"):
                return True
            if not (open_id := await pipe.get(pointer)):
                return False
            await pipe.watch(keys.request(open_id))
            data = await pipe.hgetall(keys.request(open_id))
            if not data or data["status"] not in UNFINISHED:
                return False
            pipe.multi()
            self._queue_link(pipe, RequestRecord.from_hash(data), call.id, by, now_ms())
            return True

        return await atomic(self.redis, [call_key, pointer], work)

    async def link_call(self, request_id: str, call_id: str, by: str = "hub") -> RequestRecord:
        """Join a call to a request (a follow-up or a callback). Idempotent."""
        key, call_key = keys.request(request_id), keys.call(call_id)

        async def work(pipe: Pipeline) -> None:
            data = await pipe.hgetall(key)
            if not data:
                raise NotFound(f"no request {request_id!r}", code="request_not_found")
            rec = RequestRecord.from_hash(data)
            if call_id in rec.call_ids:
                return
            current = await pipe.hget(call_key, "request_id")
            if current and current != request_id:
                raise BadState(f"call {call_id} belongs to request {current}", code="call_linked")
            pipe.multi()
            self._queue_link(pipe, rec, call_id, by, now_ms())

        await atomic(self.redis, [key, call_key], work)
        return await self.get(request_id)

    def _queue_link(
        self, pipe: Pipeline, rec: RequestRecord, call_id: str, by: str, at: int
    ) -> None:
        linked = dataclasses.replace(rec, call_ids=(*rec.call_ids, call_id), updated_at=at)
        pipe.hset(keys.request(rec.id), mapping={
            "call_ids": ",".join(linked.call_ids), "updated_at": str(at)})  # fmt: skip
        pipe.rpush(keys.request_history(rec.id), event("linked_call", by, at, call_id=call_id))
        view = {"request_id": rec.id, "request_number": rec.number}
        if rec.saved:
            view["request"] = json.dumps(rec.call_view(), ensure_ascii=False)
        pipe.hset(keys.call(call_id), mapping=view)

    # --- changing ----------------------------------------------------------------------

    async def update(self, request_id: str, changes: Changes, actor: Operator) -> RequestRecord:
        key = keys.request(request_id)

        async def work(pipe: Pipeline) -> None:
            plan = await request_changes.plan(
                pipe, self.categories, await self._read(pipe, request_id), changes, actor
            )
            pipe.multi()
            request_changes.queue_plan(pipe, plan)

        await atomic(self.redis, [key, keys.request_notes(request_id)], work)
        return await self.get(request_id)

    async def add_note(self, request_id: str, text: str, actor: Operator) -> RequestRecord:
        return await self.update(request_id, Changes(note=text), actor)

    async def save_from_call(
        self, call: CallRecord, changes: Changes, actor: Operator
    ) -> RequestRecord:
        """The console's save of the call's request (``PUT /api/calls/{id}/request``).

        Setting ``resolved`` this way takes the summary as the resolution note. The
        first save after the call ended counts as its wrap-up time.
        """
        rec = await self.open_for_call(call, by=actor.username)
        if rec is None:
            raise BadState(f"call {call.id} was never answered; it has no request to save")
        of_town(call.town_id, rec.town_id, "request", rec.id)  # never another town's, via a call
        if changes.status in FINISHED and changes.status != rec.status and not changes.note:
            changes.note = changes.summary
        town = await self.towns.settings(call.town_id)
        call_key = keys.call(call.id)

        async def work(pipe: Pipeline) -> None:
            plan = await request_changes.plan(
                pipe, self.categories, await self._read(pipe, rec.id), changes, actor
            )
            wrapped, counted, ended = await pipe.hmget(
                call_key, ["wrap_up_ms", "counted", "ended_at"]
            )
            at = now_ms()
            pipe.multi()
            request_changes.queue_plan(pipe, plan)
            pipe.xadd(keys.call_events(call.id), {"type": "request_saved", "at": at,
                      "by": actor.username, "status": plan.new.status})  # fmt: skip
            if not wrapped and actor.username == call.operator:
                cap = min(MAX_WRAP_UP_MS, int(town.wrap_up_s * 1000))
                wrap = min(at - int(ended), cap) if ended else 0
                pipe.hset(call_key, "wrap_up_ms", wrap)
                if wrap and counted:
                    stats.queue_wrap_up(pipe, call.town_id, counted, wrap)

        await atomic(self.redis, [keys.request(rec.id), keys.request_notes(rec.id), call_key], work)
        return await self.get(rec.id)

    async def rate(self, call: CallRecord, value: str) -> RequestRecord:
        """The villager's one-press rating after the call: once per call."""
        if value not in SATISFACTION:
            raise BadRequest(f"a rating is one of {', '.join(SATISFACTION)}; got {value!r}")
        if call.live or call.answered_at is None:
            raise BadState(f"call {call.id} is {call.status}; only an answered call that "
                           "has ended can be rated", code="bad_state")  # fmt: skip
        rec = await self.open_for_call(call)
        assert rec is not None
        town = await self.towns.settings(call.town_id)
        call_key = keys.call(call.id)

        async def work(pipe: Pipeline) -> None:
            rated, counted = await pipe.hmget(call_key, ["rating", "counted"])
            if rated:
                raise BadState(f"call {call.id} was already rated ({rated})", code="already_rated")
            at = now_ms()
            pipe.multi()
            pipe.hset(call_key, "rating", value)
            pipe.hset(keys.request(rec.id), mapping={"satisfaction": value, "updated_at": at})
            rated_event = event("rated", f"kiosk:{call.kiosk_id}", at, value=value, call_id=call.id)
            pipe.rpush(keys.request_history(rec.id), rated_event)
            stats.queue_rating(pipe, call.town_id, counted or town.day(call.created_at), value)

        await atomic(self.redis, [call_key, keys.request(rec.id)], work)
        return await self.get(rec.id)

    async def _read(self, pipe: Pipeline, request_id: str) -> RequestRecord:
        data = await pipe.hgetall(keys.request(request_id))
        if not data:
            raise NotFound(f"no request {request_id!r}", code="request_not_found")
        return RequestRecord.from_hash(data)
