"""Who rings for which call: the town's dispatch.

The call that has waited longest among the town's own queue and the calls that
overflow into it (FIFO by first enqueue time) is offered to:

- ``ringall`` (the default): every operator of the town who can take a call;
- ``longest_idle``: the one who has been free longest, alone, for ``ring_timeout_s``;
  then the next, skipping those who let it ring out (until all have).

The result is written to each operator's presence (``ringing``) and the operator's
channel is nudged, so every tab of theirs on every hub shows the same ring. One hub
dispatches a town at a time (a short Redis lock); a request that arrives meanwhile
makes the holder run once more, so no change is missed. Taking the lock or leaving
a request for its holder is one Redis step, and so is the holder's last look for
requests together with its release (``scripts.DISPATCH_ENTER``/``DISPATCH_LEAVE``).
A caller runs at most ``INLINE_PASSES`` passes itself; if more keep being asked
for (a burst of presses), a task of this hub's carries on holding the lock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns, TownSettings
from server.clock import now_ms
from server.errors import NotFound
from server.queue.calls import CallRecord, CallStore
from server.queue.deliver import Deliver
from server.queue.presence import Presence, PresenceStore
from server.queue.timers import Timers
from server.store import keys, scripts

log = logging.getLogger(__name__)
LOCK_MS = 5_000
INLINE_PASSES = 10


class Dispatcher:
    def __init__(
        self, redis: aioredis.Redis, accounts: Accounts, calls: CallStore,
        presence: PresenceStore, towns: Towns, timers: Timers, deliver: Deliver,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.accounts = accounts
        self.calls = calls
        self.presence = presence
        self.towns = towns
        self.timers = timers
        self.deliver = deliver
        self._enter = redis.register_script(scripts.DISPATCH_ENTER)
        self._leave = redis.register_script(scripts.DISPATCH_LEAVE)
        self._release = redis.register_script(scripts.RELEASE_LOCK)
        self._tasks: set[asyncio.Task[None]] = set()

    async def dispatch(self, town_id: str) -> None:
        """Offer the town's head call now, or have the hub dispatching it run again."""
        token = secrets.token_hex(8)
        lock_keys = [keys.dispatch_lock(town_id), keys.dispatch_again(town_id)]
        if await self._enter(keys=lock_keys, args=[token, LOCK_MS]):
            await self._hold(town_id, token, INLINE_PASSES)

    async def _hold(self, town_id: str, token: str, passes: int | None) -> None:
        """Run passes under the lock while asked to; ``passes`` None: no limit."""
        lock_keys = [keys.dispatch_lock(town_id), keys.dispatch_again(town_id)]
        done = 0
        try:
            while passes is None or done < passes:
                await self._dispatch_once(town_id)
                done += 1
                if await self._leave(keys=lock_keys, args=[token, LOCK_MS]) != 1:
                    return
        except BaseException:
            await asyncio.shield(self._release(keys=lock_keys[:1], args=[token]))
            raise
        log.debug("town %s: still asked after %d passes, carrying on in the background",
                  town_id, done)  # fmt: skip
        self._spawn(self._hold_in_background(town_id, token))

    async def _hold_in_background(self, town_id: str, token: str) -> None:
        try:
            await self._hold(town_id, token, None)
        except Exception:  # the lock is released; the periodic dispatch retries
            log.exception("dispatch of town %s failed", town_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def head(self, town_id: str) -> CallRecord | None:
        """The call that should ring in this town now, if any."""
        own = await self.redis.zrange(keys.town_queue(town_id), 0, 0, withscores=True)
        guests = await self.redis.zrange(keys.town_overflow(town_id), 0, 0, withscores=True)
        for call_id, _score in sorted([*own, *guests], key=lambda item: item[1]):
            try:
                call = await self.calls.get(call_id)
            except NotFound:
                call = None
            if call is not None and call.status == "queued":
                return call
            # a stale entry (the script missed it): drop it so it cannot block the queue
            await self.redis.zrem(keys.town_overflow(town_id), call_id)
            await self.redis.zrem(keys.town_queue(town_id), call_id)
            return await self.head(town_id)
        return None

    async def _dispatch_once(self, town_id: str) -> None:
        settings = await self.towns.settings(town_id)
        head = await self.head(town_id)
        operators = await self.presence.many(await self.accounts.town_operators(town_id))
        now = now_ms()
        free = [op for op in operators if op.can_ring(now)]
        targets: set[str] = set()
        if head is not None and free:
            if settings.strategy == "ringall":
                targets = {op.username for op in free}
            else:
                targets = {await self._longest_idle(head, free, settings)}
        for op in operators:
            want = head.id if head is not None and op.username in targets else None
            if op.ringing == want:
                continue
            await self.presence.set_ringing(op.username, want)
            if op.ringing:
                await self.timers.cancel("ring", town_id, op.ringing, op.username)
            if want is not None:
                await self.calls.mark_offered(want, op.username)
                await self.timers.set_in(
                    settings.ring_timeout_s, "ring", town_id, want, op.username
                )
            await self.deliver.sync_operator(op.username)

    async def _longest_idle(
        self, call: CallRecord, free: list[Presence], settings: TownSettings
    ) -> str:
        current = next((op.username for op in free if op.ringing == call.id), None)
        if current is not None:
            return current
        declined = await self.redis.smembers(keys.call_declined(call.id))
        fresh = [op for op in free if op.username not in declined]
        if not fresh:  # everyone let it ring out: start another round
            await self.redis.delete(keys.call_declined(call.id))
            fresh = free
        return min(fresh, key=lambda op: (op.idle_since, op.username)).username

    async def ring_timed_out(self, town_id: str, call_id: str, username: str) -> None:
        """A ring ran for ``ring_timeout_s`` unanswered."""
        op = await self.presence.get(username)
        if op.ringing != call_id:
            return
        settings = await self.towns.settings(town_id)
        ringing_too = [
            other
            for other in await self.presence.many(await self.accounts.town_operators(town_id))
            if other.ringing == call_id and other.username != username
        ]
        if settings.strategy == "ringall" and ringing_too:
            # others ring as well: nobody in particular is missing it
            await self.timers.set_in(settings.ring_timeout_s, "ring", town_id, call_id, username)
            return
        missed = await self.presence.missed_ring(username)
        await self.calls.add_event(call_id, "ring_timeout", operator=username, missed=str(missed))
        if settings.strategy == "longest_idle":
            await self.redis.sadd(keys.call_declined(call_id), username)
            await self.redis.expire(keys.call_declined(call_id), 24 * 3600)
        if missed >= settings.max_missed_rings:
            await self.presence.set_availability(username, "away")
            await self.calls.add_event(call_id, "operator_away", operator=username,
                                       reason="missed_rings")  # fmt: skip
            log.info("%s missed %d rings in a row: now away", username, missed)
        if settings.strategy == "longest_idle" or missed >= settings.max_missed_rings:
            await self.presence.set_ringing(username, None)
            await self.deliver.sync_operator(username)
        else:  # ringing alone under ringall: keep ringing, count the next timeout too
            await self.timers.set_in(settings.ring_timeout_s, "ring", town_id, call_id, username)
        await self.dispatch(town_id)
