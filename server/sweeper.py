"""The queue's clock: runs the deadlines in ``server.timers`` and reaps what was left.

Every hub runs one. Each due timer is handled by exactly one hub. Every few seconds
the reaper also looks at the live calls and starts the grace period of any side whose
connection has silently vanished (its hub killed, its lease expired), and re-runs
the dispatch of every active town, so a lost pub/sub nudge costs seconds, not a call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server import keys
from server.clock import now_ms
from server.errors import NotFound
from server.redis_conn import REDIS_UNAVAILABLE

if TYPE_CHECKING:
    from server.signalling import SignallingHub

log = logging.getLogger(__name__)
REAP_EVERY_S = 2.0
GRACE_KINDS = ("grace_kiosk", "grace_op", "media", "assign")


class Sweeper:
    def __init__(self, hub: SignallingHub, interval_s: float) -> None:
        self.hub = hub
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A hub that was down gave nobody a chance to come back: restart those clocks.
        grace_ms = int(self.hub.settings.grace_s * 1000)
        await self.hub.timers.restart_clocks(GRACE_KINDS, now_ms() + grace_ms)
        self._task = asyncio.create_task(self._run(), name="queue-sweeper")

    async def _run(self) -> None:
        last_reap = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.sweep_once()
                if loop.time() - last_reap >= REAP_EVERY_S:
                    last_reap = loop.time()
                    await self.reap()
            except Exception:
                log.exception("queue sweep failed; trying again")
            await asyncio.sleep(self.interval_s)

    async def sweep_once(self) -> int:
        handled = 0
        for timer in await self.hub.timers.claim_due():
            try:
                await self.fire(*timer.parts)
                handled += 1
            except NotFound:
                pass
            except REDIS_UNAVAILABLE as exc:  # left claimed: it runs again after the lease
                log.warning("timer %s: Redis unavailable (%s); retried later", timer.name, exc)
                continue
            except Exception:
                log.exception("timer %s failed", timer.name)
            await self.hub.timers.done(timer)
        return handled

    async def fire(self, kind: str, *args: str) -> None:
        hub = self.hub
        match kind, args:
            case "grace_kiosk", (call_id,):
                call = await hub.calls.get(call_id)
                if not await self._back(keys.kiosk_conns(call.kiosk_id)):
                    await hub.end_call(call, reason="kiosk_disconnected", by="hub",
                                       if_connected="")  # fmt: skip
            case "grace_op", (call_id,):
                call = await hub.calls.get(call_id)
                if not await self._back(keys.operator_conns(call.operator or "-"),
                                        call.operator_conn):  # fmt: skip
                    await hub.requeue(call_id, reason="operator_disconnected")
            case "assign", (call_id,):
                await hub.requeue(call_id, reason="not_connected")
            case "media", (call_id,):
                await hub.end_call(await hub.calls.get(call_id), reason="media_failed",
                                   by="hub", if_queued="", if_connected="failed")  # fmt: skip
            case "maxwait", (call_id,):
                await hub.end_call(await hub.calls.get(call_id), reason="max_wait",
                                   by="hub", if_queued="unanswered", if_connected="")  # fmt: skip
            case "overflow", (call_id, town_id):
                await hub.overflow(call_id, town_id)
            case "callback", (call_id,):
                await hub.end_call(await hub.calls.get(call_id), reason="kiosk_no_answer",
                                   by="hub", if_queued="unanswered", if_connected="")  # fmt: skip
            case "ring", (town_id, call_id, username):
                await hub.dispatcher.ring_timed_out(town_id, call_id, username)
            case "wrapup", (username, town_id):
                await hub.presence.end_wrap_up(username)
                await hub.bus.publish(keys.operator_channel(username), {"kind": "sync"})
                await hub.dispatcher.dispatch(town_id)
            case _:
                log.error("unknown timer %s %s", kind, args)

    async def _back(self, conns_key: str, conn_id: str | None = None) -> bool:
        """Whether the side came back in time (a connection that left and one that
        returned may be handled in either order, so the facts decide, not the order)."""
        redis, now = self.hub.calls.redis, now_ms()
        if conn_id is None:
            return bool(await redis.zcount(conns_key, now, "+inf"))
        lease = await redis.zscore(conns_key, conn_id)
        return lease is not None and lease > now

    async def reap(self) -> None:
        """Start the grace of sides that vanished; dispatch every active town. Each
        call and town on its own: one that fails (broken data) holds up no other."""
        redis = self.hub.calls.redis
        for call_id in await redis.zrange(keys.LIVE_CALLS, 0, 999):
            try:
                await self._reap_call(call_id, now_ms())
            except Exception:
                log.exception("reaping call %s failed", call_id)
        for town_id in await redis.smembers(keys.ACTIVE_TOWNS):
            try:
                if await redis.zcard(keys.town_queue(town_id)) or await redis.zcard(
                    keys.town_overflow(town_id)
                ):
                    await self.hub.dispatcher.dispatch(town_id)
                else:
                    await redis.srem(keys.ACTIVE_TOWNS, town_id)
            except Exception:
                log.exception("dispatching town %s failed", town_id)

    async def _reap_call(self, call_id: str, now: int) -> None:
        hub, redis = self.hub, self.hub.calls.redis
        try:
            call = await hub.calls.get(call_id)
        except NotFound:
            await redis.zrem(keys.LIVE_CALLS, call_id)
            return
        if not call.live:
            await redis.zrem(keys.LIVE_CALLS, call_id)
            return
        settings = await hub.towns.settings(call.town_id)
        if call.status == "queued" and not await redis.zcount(
            keys.kiosk_conns(call.kiosk_id), now, "+inf"
        ):
            await self._start_grace(f"grace_kiosk|{call.id}", now, settings.grace_s)
        if call.status == "connected" and call.operator:
            presence = await hub.presence.get(call.operator)
            if not presence.alive:
                await hub.operator_dropped(call)

    async def _start_grace(self, member: str, now: int, grace_s: float) -> None:
        await self.hub.calls.redis.zadd(keys.TIMERS, {member: now + int(grace_s * 1000)}, nx=True)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
