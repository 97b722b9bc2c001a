"""What the call store tells request tracking and the numbers: a call was answered, a
call ended. Wired in by the app (``CallStore.on_answered`` / ``on_ended``).

A failure here is logged and never undoes the call's own step; whatever was missed
is made good later: a save or a rating opens a missing request, and each retention
round's ``catch_up`` counts an ended call that went uncounted (the ``counted`` guard
makes every count happen once).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from server.accounts.accounts import Kiosk
from server.accounts.town_config import TownConfigs
from server.errors import Forbidden
from server.queue.calls import CallStore
from server.queue.records import FINAL, CallRecord
from server.store import keys
from server.store.index_scan import id_bound
from server.tracking.request_store import RequestStore
from server.tracking.stats import Stats
from yijian import protocol as p

log = logging.getLogger(__name__)


class Tracking:
    def __init__(
        self, redis: aioredis.Redis, calls: CallStore, requests: RequestStore, stats: Stats
    ) -> None:
        self.redis = redis
        self.calls = calls
        self.requests = requests
        self.stats = stats
        self.towns = stats.towns

    async def call_answered(self, call: CallRecord) -> None:
        """Open (or join) the call's request at once, so the operator fills it in
        during the call."""
        try:
            if call.operator:
                await self.redis.zadd(keys.call_index("operator", call.operator), {call.id: 0})
            await self.requests.open_for_call(call, by=call.operator or "hub")
        except Exception:
            log.exception("opening the request of call %s failed", call.id)

    async def call_ended(self, call: CallRecord) -> None:
        try:
            if call.status in FINAL:
                await self.redis.zadd(keys.call_index("status", call.town_id, call.status),
                                      {call.id: 0})  # fmt: skip
            await self.requests.open_for_call(call)  # a callback request when unanswered
        except Exception:
            log.exception("the request of ended call %s failed", call.id)
        try:
            await self.stats.record_call_ended(call)
        except Exception:
            log.exception("counting ended call %s failed", call.id)

    async def catch_up(self, since_ms: int) -> int:
        """Make good what a crash between a call's end and its hooks left undone: count
        (and open the request of) every ended call since ``since_ms`` not yet counted."""
        done = 0
        for town_id in await self.towns.town_ids():
            ids = await self.redis.zrangebylex(
                keys.town_calls(town_id), "[" + id_bound(since_ms), "+"
            )
            for start in range(0, len(ids), 500):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for call_id in ids[start : start + 500]:
                        pipe.hgetall(keys.call(call_id))
                    rows = await pipe.execute()
                for row in rows:
                    if row and row.get("status") in FINAL and not row.get("counted"):
                        await self.call_ended(CallRecord.from_hash(row))
                        done += 1
        return done

    async def rate(self, kiosk: Kiosk, call_id: str, value: str, ref: str | None) -> p.Rated:
        """A kiosk's one-press rating: only of its own call, only once it has ended."""
        call = await self.calls.get(call_id)
        if call.kiosk_id != kiosk.id:
            raise Forbidden(f"call {call_id} is not this kiosk's", code="not_your_call")
        await self.requests.rate(call, value)
        return p.Rated(call_id=call_id, value=value, ref=ref)  # type: ignore[arg-type]


def wire(redis: aioredis.Redis, calls: CallStore) -> Tracking:
    """Request tracking and the numbers, told of every claim and end of a call."""
    towns = TownConfigs(redis)
    tracking = Tracking(redis, calls, RequestStore(redis, towns), Stats(redis, towns))
    calls.on_answered.append(tracking.call_answered)
    calls.on_ended.append(tracking.call_ended)
    return tracking
