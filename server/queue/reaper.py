"""Repairs that no deadline covers, every few seconds on every hub, in proportion to
what changed: a socket whose lease lapsed (its hub killed, its connection silently
gone) is found in one range read of every lease (``keys.LEASES``); if its kiosk has
no other live socket, its waiting call's grace starts; if its operator has no other
live console, their call's grace starts and their town is dispatched again (a ring
for them must move on). Every town with waiting calls is also dispatched again, so
nothing waits on a lost step. Each lease and town on its own: one that fails (broken
data) holds up no other."""

from __future__ import annotations

import logging

from server.clock import now_ms
from server.queue.lifecycle import CallQueue
from server.store import keys

log = logging.getLogger(__name__)
BATCH = 500  # lapsed leases read at once; the reaper reads until none is left


class Reaper:
    def __init__(self, queue: CallQueue) -> None:
        self.queue = queue

    async def reap(self) -> None:
        redis = self.queue.redis
        while lapsed := await redis.zrangebyscore(keys.LEASES, "-inf", now_ms(),
                                                  start=0, num=BATCH):  # fmt: skip
            for member in lapsed:
                try:
                    await self._lapsed(member)
                except Exception:
                    log.exception("handling the lapsed lease %s failed", member)
                await redis.zrem(keys.LEASES, member)
            if len(lapsed) < BATCH:
                break
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

    async def _lapsed(self, member: str) -> None:
        side, owner, _conn = member.split("|", 2)
        queue, redis, now = self.queue, self.queue.redis, now_ms()
        if side == "k":
            if await redis.zcount(keys.kiosk_conns(owner), now, "+inf"):
                return  # another socket of the kiosk is live
            call = await queue.calls.live_call_of_kiosk(owner)
            if call is not None and call.status == "queued":
                settings = await queue.towns.settings(call.town_id)
                due = now + int(settings.grace_s * 1000)
                await queue.timers.set_first(due, "grace_kiosk", call.id)
        elif side == "o":
            if (await queue.presence.get(owner)).alive:
                return
            call = await queue.calls.live_call_of_operator(owner)
            if call is not None and call.status == "connected":
                await queue.operator_dropped(call)
            operator = await queue.accounts.operator(owner)
            await queue.dispatcher.dispatch(operator.town_id)
