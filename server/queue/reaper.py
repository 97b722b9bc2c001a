"""Repairs that no deadline covers, every few seconds on every hub, in proportion to
what changed: a lease that lapsed is found in one range read of every lease
(``keys.LEASES``). A hub's (it was killed): its kiosk sockets are removed, a batch per
script (``lease_scripts.REAP_HUB``), and each kiosk left with no live socket has its
waiting call's grace started. A console's (its hub killed, or the tab silently gone):
if its operator has no other live console, their call's grace starts and their town
is dispatched again (a ring for them must move on). Every town with waiting calls is
also dispatched again, so nothing waits on a lost step. Each lease and town on its
own: one that fails (broken data) holds up no other."""

from __future__ import annotations

import logging

from server.clock import now_ms
from server.queue.lifecycle import CallQueue
from server.store import keys
from server.store.lease_scripts import BATCH as KIOSK_BATCH
from server.store.lease_scripts import REAP_HUB

log = logging.getLogger(__name__)
BATCH = 500  # lapsed leases read at once; the reaper reads until none is left


class Reaper:
    def __init__(self, queue: CallQueue) -> None:
        self.queue = queue
        self._reap_hub = queue.redis.register_script(REAP_HUB)

    async def reap(self) -> None:
        redis = self.queue.redis
        while lapsed := await redis.zrangebyscore(keys.LEASES, "-inf", now_ms(),
                                                  start=0, num=BATCH):  # fmt: skip
            for member in lapsed:
                try:
                    await self._lapsed(member)
                except Exception:
                    log.exception("handling the lapsed lease %s failed", member)
                if not member.startswith("h|"):  # a hub's goes with its last socket
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
        queue, now = self.queue, now_ms()
        if side == "h":
            while True:
                left, *waiting = await self._reap_hub(args=[owner, now, KIOSK_BATCH])
                for call_id in waiting:
                    try:
                        await self._kiosk_gone(call_id, now)
                    except Exception:
                        log.exception("starting the grace of call %s failed", call_id)
                if int(left) <= 0:
                    break
        elif side == "o":
            if (await queue.presence.get(owner)).alive:
                return
            call = await queue.calls.live_call_of_operator(owner)
            if call is not None and call.status == "connected":
                await queue.operator_dropped(call)
            operator = await queue.accounts.operator(owner)
            await queue.dispatcher.dispatch(operator.town_id)

    async def _kiosk_gone(self, call_id: str, now: int) -> None:
        """The call's kiosk has no live socket left: its grace to come back starts."""
        queue = self.queue
        call = await queue.calls.get(call_id)
        settings = await queue.towns.settings(call.town_id)
        await queue.timers.set_first(now + int(settings.grace_s * 1000), "grace_kiosk", call.id)
