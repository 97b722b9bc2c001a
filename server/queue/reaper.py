"""Repairs that no deadline covers, every few seconds on every hub: a side whose
connection vanished silently (its hub killed, its lease lapsed) gets its grace
period started, and every town with waiting calls is dispatched again, so a lost
pub/sub nudge costs seconds, not a call. Each call and town on its own: one that
fails (broken data) holds up no other."""

from __future__ import annotations

import logging

from server.clock import now_ms
from server.errors import NotFound
from server.queue.lifecycle import CallQueue
from server.store import keys

log = logging.getLogger(__name__)
LIVE_BATCH = 1000


class Reaper:
    def __init__(self, queue: CallQueue) -> None:
        self.queue = queue

    async def reap(self) -> None:
        redis = self.queue.redis
        for call_id in await redis.zrange(keys.LIVE_CALLS, 0, LIVE_BATCH - 1):
            try:
                await self._reap_call(call_id, now_ms())
            except Exception:
                log.exception("reaping call %s failed", call_id)
        for town_id in await redis.smembers(keys.ACTIVE_TOWNS):
            try:
                if await redis.zcard(keys.town_queue(town_id)) or await redis.zcard(
                    keys.town_overflow(town_id)
                ):
                    await self.queue.dispatcher.dispatch(town_id)
                else:
                    await redis.srem(keys.ACTIVE_TOWNS, town_id)
            except Exception:
                log.exception("dispatching town %s failed", town_id)

    async def _reap_call(self, call_id: str, now: int) -> None:
        queue, redis = self.queue, self.queue.redis
        try:
            call = await queue.calls.get(call_id)
        except NotFound:
            await redis.zrem(keys.LIVE_CALLS, call_id)
            return
        if not call.live:
            await redis.zrem(keys.LIVE_CALLS, call_id)
            return
        settings = await queue.towns.settings(call.town_id)
        if call.status == "queued" and not await redis.zcount(
            keys.kiosk_conns(call.kiosk_id), now, "+inf"
        ):
            due = now + int(settings.grace_s * 1000)
            await redis.zadd(keys.TIMERS, {f"grace_kiosk|{call.id}": due}, nx=True)
        if call.status == "connected" and call.operator:
            presence = await queue.presence.get(call.operator)
            if not presence.alive:
                await queue.operator_dropped(call)
