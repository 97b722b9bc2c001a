"""Who rings for which call: the town's dispatch.

The calls that have waited longest among the town's own queue and the calls that
overflow into it (FIFO by first enqueue time), as many as there are free operators
(autofill), are offered to:

- ``ringall`` (the default): the free operators, shared out over those calls, the
  earlier calls getting the odd ones (one call waiting: everyone rings for it);
- ``longest_idle``: one operator per call, the longest free first, for
  ``ring_timeout_s``; then the next, skipping those who let it ring out (until all have).

A pass is one Lua script (``store.dispatch_script``): it reads the town, decides,
writes each changed ring and tells each changed operator, with the call's view, in
one atomic step. So no lock is needed and no request is lost: two hubs asking at
once run two whole passes one after the other. When a ring times out
(``ring_timed_out``, a deadline) the missed ring is counted here.
"""

from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis
from pydantic import BaseModel

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns, TownSettings
from server.clock import now_ms
from server.queue.calls import CallStore
from server.queue.deliver import Deliver, dump
from server.queue.presence import PresenceStore
from server.queue.timers import Timers
from server.store import keys
from server.store.dispatch_script import DISPATCH

log = logging.getLogger(__name__)
NOBODY = "nobody"


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
        self._dispatch = redis.register_script(DISPATCH)

    async def dispatch(
        self, town_id: str, settings: TownSettings | None = None, *,
        check: bool = False, announce: bool = False,
        tell: tuple[tuple[str, BaseModel], ...] = (), sync: tuple[str, ...] = (),
    ) -> str:  # fmt: skip
        """Offer the town's waiting calls now. ``check``: first make sure someone can
        answer here or down the overflow chain (else nothing more is done and
        ``NOBODY`` comes back); ``announce``: tell the town's channel its queue changed
        (the waiting kiosks' places). In the same step: ``tell`` (channel, message)
        first, and ``sync`` these operators' consoles after. Returns the head call's
        id, or ''."""
        settings = settings or await self.towns.settings(town_id)
        told = [[channel, json.dumps(dump(m), ensure_ascii=False)] for channel, m in tell]
        result: str = await self._dispatch(keys=[], args=[
            town_id, now_ms(), settings.strategy, settings.ring_timeout_s,
            "1" if check else "", "1" if announce else "",
            json.dumps(told, ensure_ascii=False), ",".join(sync),
        ])  # fmt: skip
        return result

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
