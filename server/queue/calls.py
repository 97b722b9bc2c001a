"""The calls, their queue and their event logs, in Redis. Knows nothing of HTTP.

A call is a hash (``keys.call``), a place in its town's queue while it waits
(``keys.town_queue``) and an append-only stream of events (``keys.call_events``).
Every change that touches more than one key is one Lua script (``server.store.scripts``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from server.accounts.accounts import Operator
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Known, Towns, TownSettings
from server.clock import iso, now_ms
from server.errors import BadState, CallTaken, NotFound, TooManyRequests
from server.queue.outcomes import Placed, Step, TownChanged
from server.queue.records import FINAL, CallRecord, new_call_id
from server.store import call_scripts, keys, scripts
from server.store.hangup_script import HANG_UP
from server.store.press_script import PRESS

RECENT_ANSWERS = 20  # answer times kept per town, for the estimated wait
Hook = Callable[[CallRecord, TownSettings], Awaitable[None]]


class CallStore:
    def __init__(self, redis: aioredis.Redis, towns: Towns | None = None) -> None:
        self.redis = redis
        self.towns = towns or Towns(redis)
        self._create = redis.register_script(scripts.CREATE_CALL)
        self._press = redis.register_script(PRESS)
        self._hang_up = redis.register_script(HANG_UP)
        self._claim = redis.register_script(call_scripts.CLAIM_CALL)
        self._end = redis.register_script(call_scripts.END_CALL)
        self._offered = redis.register_script(scripts.MARK_OFFERED)
        self._requeue = redis.register_script(scripts.REQUEUE_CALL)
        # Told of each claim and each end, with the town's settings the step read
        # (request tracking and the numbers, server.tracking.hooks).
        self.on_answered: list[Hook] = []
        self.on_ended: list[Hook] = []

    async def create(
        self, kiosk: Kiosk, idempotency_key: str, kind: str = "call", operator: str = "",
        max_wait_s: float | None = None, overflow: tuple[str, float] | None = None,
        calls_per_min: int | None = None, callback_after_s: float | None = None,
    ) -> tuple[CallRecord, bool]:  # fmt: skip
        """The kiosk's live call, or a new queued one: (call, created)."""
        placed = await self.place(
            kiosk, idempotency_key, kind=kind, operator=operator, max_wait_s=max_wait_s,
            overflow=overflow, calls_per_min=calls_per_min, callback_after_s=callback_after_s,
        )  # fmt: skip
        return placed.call, placed.created

    async def place(
        self, kiosk: Kiosk, idempotency_key: str, kind: str = "call", operator: str = "",
        max_wait_s: float | None = None, overflow: tuple[str, float] | None = None,
        calls_per_min: int | None = None, callback_after_s: float | None = None,
        ring: Known | None = None,
    ) -> Placed:  # fmt: skip
        """The kiosk's live call, or a new queued one, with its place, in one step. A
        new call's deadlines (``max_wait_s``; ``overflow``: town and seconds) are set
        with it, as is a call-back's wait for the kiosk's answer (``callback_after_s``);
        past ``calls_per_min`` new calls this minute a press is refused
        (``TooManyRequests``). ``ring`` (a press): the town's settings these came from,
        checked in the same step (``TownChanged`` if they are not the town's any more),
        where a new call is also dispatched if the town is open now."""
        at = now_ms()
        maxwait_due = at + int(max_wait_s * 1000) if max_wait_s is not None else ""
        overflow_town, overflow_due = (
            (overflow[0], at + int(overflow[1] * 1000)) if overflow else ("", "")
        )
        script, more = self._create, []
        if ring is not None:
            script, town = self._press, ring.settings
            more = [ring.names, ring.digest, "1" if town.open_at(at) else "", town.strategy,
                    town.ring_timeout_s]  # fmt: skip
        result = await script(
            keys=[
                keys.idempotency(kiosk.id, idempotency_key),
                keys.kiosk_live(kiosk.id),
                keys.call(new_id := new_call_id(at)),
                keys.call_events(new_id),
                keys.town_queue(kiosk.town_id),
                keys.CALLS,
                keys.town_calls(kiosk.town_id),
                keys.kiosk_calls(kiosk.id),
                keys.LIVE_CALLS,
                keys.ACTIVE_TOWNS,
                keys.operator_live(operator or "-"),
                keys.TIMERS,
                keys.kiosk_calls_made(kiosk.id),
                keys.town_answers(kiosk.town_id),
            ],
            args=[new_id, at, kiosk.id, kiosk.town_id, kiosk.name, kiosk.village,
                  keys.IDEMPOTENCY_TTL_S, kind, operator, maxwait_due, overflow_town,
                  overflow_due, calls_per_min or "",
                  at + int(callback_after_s * 1000) if callback_after_s is not None else "",
                  *more],
        )  # fmt: skip
        call_id, outcome = result[0], result[1]
        if outcome == "stale":
            raise TownChanged(_hash(result[2]))
        if outcome == "limited":
            raise TooManyRequests(
                f"this kiosk placed {calls_per_min} calls in the last minute; "
                f"press again in {result[2]} s", retry_after_s=int(result[2]),
                code="too_many_calls",
            )  # fmt: skip
        if outcome == "busy":
            raise BadState(f"you are already in call {call_id}", code="operator_busy")
        call, answers = _record(result[2]), [int(a) for a in result[4]]
        rang = result[5] if len(result) > 5 else None
        return Placed(call, outcome == "new", result[3] or None, answers, rang)

    async def get(self, call_id: str) -> CallRecord:
        data = await self.redis.hgetall(keys.call(call_id))
        if not data:
            raise NotFound(f"no call {call_id!r}", code="call_not_found")
        return CallRecord.from_hash(data)

    async def live_call_of_kiosk(self, kiosk_id: str) -> CallRecord | None:
        call_id = await self.redis.get(keys.kiosk_live(kiosk_id))
        return await self._get_live(call_id)

    async def live_call_of_operator(self, username: str) -> CallRecord | None:
        call_id = await self.redis.get(keys.operator_live(username))
        return await self._get_live(call_id)

    async def _get_live(self, call_id: str | None) -> CallRecord | None:
        if call_id is None:
            return None
        try:
            call = await self.get(call_id)
        except NotFound:
            return None
        return call if call.live else None

    async def position(self, call: CallRecord) -> int | None:
        rank = await self.redis.zrank(keys.town_queue(call.town_id), call.id)
        return None if rank is None else rank + 1

    async def head(self, town_id: str) -> CallRecord | None:
        ids = await self.redis.zrange(keys.town_queue(town_id), 0, 0)
        return await self._get_live(ids[0]) if ids else None

    async def claim(self, call_id: str, operator: Operator, conn_id: str) -> CallRecord:
        step = await self.claim_step(call_id, operator, conn_id)
        await self.answered(step)
        return step.call

    async def claim_step(self, call_id: str, operator: Operator, conn_id: str) -> Step:
        """Give the call to this operator, atomically; exactly one claimant wins. One
        script (``call_scripts.CLAIM_CALL``). The caller tells ``answered`` after."""
        result = await self._claim(keys=[], args=[
            call_id, operator.username, now_ms(), conn_id, operator.town_id, RECENT_ANSWERS,
            self.towns.default("media_grace_s"),
        ])  # fmt: skip
        match result[0]:
            case "ok":
                call = _record(result[1])
                return Step(call, self.towns.parse(call.town_id, _hash(result[2])))
            case "taken" if result[1] == "connected":
                raise CallTaken(f"call {call_id} was answered by {result[2]}")
            case "taken":
                raise BadState(f"call {call_id} has ended ({result[1]})", code="call_ended")
            case "busy":
                raise BadState(f"you are already in call {result[1]}", code="operator_busy")
        raise NotFound(f"no call {call_id!r}", code="call_not_found")

    async def end(
        self, call_id: str, *, reason: str, by: str,
        if_queued: str = "abandoned", if_connected: str = "completed",
    ) -> CallRecord | None:  # fmt: skip
        step = await self.end_step(call_id, reason=reason, by=by, if_queued=if_queued,
                                   if_connected=if_connected)  # fmt: skip
        if step is None:
            return None
        await self.ended(step)
        return step.call

    async def end_step(
        self, call_id: str, *, reason: str, by: str,
        if_queued: str = "abandoned", if_connected: str = "completed",
        known: CallRecord | None = None, operator: str | None = None,
        kiosk: str | None = None, ring_in: str | None = None,
    ) -> Step | None:  # fmt: skip
        """End a live call (one script, ``call_scripts.END_CALL``, which also starts
        its operator's wrap-up); None when it had already ended. ``known``: the
        caller's fresh copy, read again only if the call changed meanwhile;
        ``operator`` or ``kiosk``: end it only if it is this operator's or kiosk's
        (nothing read first; None when it is not); ``ring_in``: the call's town, for the
        script to tell both sides and dispatch it in the same step, under its settings
        as this hub knows them (``hangup_script``; ``Step.dispatched`` says whether it
        did). The caller tells ``ended`` after."""
        guarded = operator is not None or kiosk is not None
        for _ in range(3):
            if not guarded:
                call, known = known or await self.get(call_id), None
                if not call.live:
                    return None
            whose = operator if operator is not None else "*" if kiosk else call.operator or ""
            args = [call_id, now_ms(), reason, by, if_queued, if_connected, whose,
                    self.towns.default("wrap_up_s"), ",".join(FINAL), kiosk or ""]  # fmt: skip
            script = self._end
            if ring_in is not None:
                kept = await self.towns.known(ring_in)
                script = self._hang_up
                args += [ring_in, kept.names, kept.digest, kept.settings.strategy,
                         kept.settings.ring_timeout_s]  # fmt: skip
            result = await script(keys=[], args=args)
            if result[0] == "ok":
                ended, data = _record(result[2]), _hash(result[3])
                dispatched = len(result) > 4 and result[4] is not None
                stale = not dispatched and ring_in == ended.town_id
                if stale:  # the town's settings changed: keep them as they are now
                    self.towns.learn(ended.town_id, data)
                return Step(ended, self.towns.parse(ended.town_id, data), dispatched)
            if result[0] != "stale" or guarded:
                return None  # (stale: answered between our read and the script: retry)
        raise BadState(f"call {call_id} keeps changing; try again")

    async def requeue(
        self, call_id: str, *, reason: str, max_wait_s: float | None = None
    ) -> CallRecord | None:
        """Put a connected call back at the head of its queue, with a fresh max-wait
        deadline when given; None if it was not connected."""
        call = await self.get(call_id)
        if call.status != "connected" or not call.operator:
            return None
        result = await self._requeue(
            keys=[keys.call(call_id), keys.town_queue(call.town_id),
                  keys.operator_live(call.operator), keys.call_events(call_id), keys.TIMERS],
            args=[call_id, at := now_ms(), reason, call.operator,
                  at + int(max_wait_s * 1000) if max_wait_s is not None else ""],
        )  # fmt: skip
        return await self.get(call_id) if result[0] == "ok" else None

    async def add_overflow(self, call: CallRecord, town_id: str) -> bool:
        """Let the call ring in another town too, keeping its place at home."""
        if town_id in call.overflow or town_id == call.town_id:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.call(call.id), "overflow", ",".join((*call.overflow, town_id)))
            pipe.zadd(keys.town_overflow(town_id), {call.id: call.created_at})
            pipe.xadd(
                keys.call_events(call.id), {"type": "overflowed", "at": now_ms(), "town": town_id}
            )
            await pipe.execute()
        return True

    async def answered(self, step: Step) -> None:
        """Tell the hooks (``on_answered``) of a claim."""
        for hook in self.on_answered:
            await hook(step.call, step.settings)

    async def ended(self, step: Step) -> None:
        """Tell the hooks (``on_ended``) of an end."""
        for hook in self.on_ended:
            await hook(step.call, step.settings)

    async def mark_offered(self, call_id: str, username: str) -> None:
        await self._offered(
            keys=[keys.call_offered(call_id), keys.call_events(call_id)], args=[username, now_ms()]
        )

    async def set_operator_conn(self, call_id: str, conn_id: str) -> None:
        await self.redis.hset(keys.call(call_id), "operator_conn", conn_id)

    async def add_event(self, call_id: str, type_: str, **fields: str) -> None:
        await self.redis.xadd(keys.call_events(call_id), {"type": type_, "at": now_ms(), **fields})

    async def save_request(self, call: CallRecord, request: dict[str, Any], by: str) -> CallRecord:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.call(call.id), "request", json.dumps(request, ensure_ascii=False))
            pipe.xadd(
                keys.call_events(call.id),
                {"type": "request_saved", "at": now_ms(), "by": by, "status": request["status"]},
            )
            await pipe.execute()
        return await self.get(call.id)

    async def events(self, call_id: str) -> list[dict[str, Any]]:
        entries = await self.redis.xrange(keys.call_events(call_id))
        return [{**fields, "at": iso(fields.get("at"))} for _id, fields in entries]


def _hash(flat: list[str]) -> dict[str, str]:
    """The flat field/value list a script's HGETALL gives back, as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _record(flat: list[str]) -> CallRecord:
    return CallRecord.from_hash(_hash(flat))
