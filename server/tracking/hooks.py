"""What the call store tells request tracking and the numbers: a call was answered, a
call ended. Wired in by the app (``CallStore.on_answered`` / ``on_ended``), each hook
given the call and, when the caller has them, its town's settings.

Given the settings, the answer costs two script calls (the request opens, numbered; the
answer goes to the audit log) and the end one (the call is counted); the end reads no
request.

A failure here is logged and never undoes the call's own step; whatever was missed
is made good later: a save or a rating opens a missing request, and each retention
round's ``catch_up`` counts an ended call that went uncounted (the ``counted`` guard
makes every count happen once).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from server.accounts.audit import Audit
from server.accounts.categories import Categories
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns, TownSettings
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
        self.categories = requests.categories
        self.audit = Audit(redis)

    async def call_answered(self, call: CallRecord, settings: TownSettings | None = None) -> None:
        """Open (or join) the call's request at once, so the operator fills it in
        during the call."""
        try:
            await self.requests.ensure_for_call(call, call.operator or "hub", settings)
        except Exception:
            log.exception("opening the request of call %s failed", call.id)

    async def call_ended(self, call: CallRecord, settings: TownSettings | None = None) -> None:
        """Count the call; one that ended unanswered gets its callback request (and one
        whose answer hook failed, its request)."""
        try:
            if "request_id" not in call.extra:
                settings = settings or await self.towns.settings(call.town_id)
                await self.requests.ensure_for_call(call, "hub", settings)
        except Exception:
            log.exception("the request of ended call %s failed", call.id)
        try:
            await self.stats.record_call_ended(call, settings)
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

    async def audit_answer(self, call: CallRecord, settings: TownSettings | None = None) -> None:
        """The answer in the town's audit log: one script call (the role read inside)."""
        try:
            await self.audit.call_answered(call.operator or "hub", call.town_id, call.id,
                                           call.operator_conn or "", kiosk_id=call.kiosk_id,
                                           kind=call.kind)  # fmt: skip
        except Exception:
            log.exception("auditing the answer of call %s failed", call.id)

    async def rate(self, kiosk: Kiosk, call_id: str, value: str, ref: str | None) -> p.Rated:
        """A kiosk's one-press rating: only of its own call, only once it has ended."""
        call = await self.calls.get(call_id)
        if call.kiosk_id != kiosk.id:
            raise Forbidden(f"call {call_id} is not this kiosk's", code="not_your_call")
        await self.requests.rate(call, value)
        return p.Rated(call_id=call_id, value=value, ref=ref)  # type: ignore[arg-type]


def wire(redis: aioredis.Redis, calls: CallStore, towns: Towns | None = None) -> Tracking:
    """Request tracking and the numbers, told of every claim and end of a call.
    ``towns``: the hub's (with its defaults); tools that seed data may leave it out."""
    towns = towns or Towns(redis)
    requests = RequestStore(redis, towns, Categories(redis))
    tracking = Tracking(redis, calls, requests, Stats(redis, towns))
    calls.on_answered.append(tracking.call_answered)
    calls.on_answered.append(tracking.audit_answer)
    calls.on_ended.append(tracking.call_ended)
    return tracking
