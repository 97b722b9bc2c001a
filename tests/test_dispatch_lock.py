"""The town dispatch lock never loses a request to dispatch (no lost wakeup).

Two dispatchers (two hubs) on the real Redis take turns at one town. Each pass is
recorded instead of ringing anyone, and takes a random short while; requests come
from many tasks at random moments. After every round, once all is quiet, a pass
must have started after the last request did: a request made while the other hub
was finishing must make it run again, not wait for the next periodic dispatch.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.queue import dispatch as dispatch_module
from server.queue.calls import CallStore
from server.queue.dispatch import Dispatcher
from server.queue.presence import PresenceStore
from server.queue.timers import Timers
from server.store import keys
from server.queue.deliver import Deliver
from server.store.bus import Bus

ROUNDS = 60
REQUESTS_PER_ROUND = 12


class RecordingDispatcher(Dispatcher):
    """A real dispatcher whose pass records its start instead of offering a call."""

    def __init__(self, redis: aioredis.Redis, clock: itertools.count[int], rng: random.Random):
        super().__init__(redis, Accounts(redis), CallStore(redis), PresenceStore(redis),
                         Towns(redis), Timers(redis), Deliver(Bus(redis)))  # fmt: skip
        self.clock, self.rng = clock, rng
        self.passes: list[int] = []
        self.running = 0

    async def _dispatch_once(self, town_id: str) -> None:
        self.running += 1
        assert self.running == 1, "two passes at once in one dispatcher"
        self.passes.append(next(self.clock))
        await asyncio.sleep(self.rng.choice([0, 0, 0.001, 0.003]))
        self.running -= 1


async def _request(dispatcher: Dispatcher, clock: itertools.count[int], rng: random.Random,
                   requests: list[int]) -> None:  # fmt: skip
    await asyncio.sleep(rng.random() * 0.02)
    requests.append(next(clock))
    await dispatcher.dispatch("lock-town")


async def _quiet(*dispatchers: Dispatcher) -> None:
    for _ in range(500):  # bounded: 5 s
        if not any(d._tasks for d in dispatchers):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a background dispatch never finished")


async def test_a_request_during_the_holders_last_look_is_not_lost(redis: aioredis.Redis) -> None:
    clock = itertools.count()
    rng = random.Random(20261126)
    hubs = [RecordingDispatcher(redis, clock, rng) for _ in range(2)]
    await redis.delete(keys.dispatch_lock("lock-town"), keys.dispatch_again("lock-town"))
    try:
        for round_ in range(ROUNDS):
            requests: list[int] = []
            await asyncio.gather(*(
                _request(rng.choice(hubs), clock, rng, requests)
                for _ in range(REQUESTS_PER_ROUND)
            ))  # fmt: skip
            await _quiet(*hubs)
            last_pass = max(p for hub in hubs for p in hub.passes)
            assert last_pass > max(requests), f"round {round_}: the last request never ran"
            assert not await redis.exists(keys.dispatch_lock("lock-town")), "lock left held"
    finally:
        for hub in hubs:
            await hub.close()


async def test_a_burst_is_carried_on_by_the_hub_not_the_caller(redis: aioredis.Redis) -> None:
    """A caller runs at most INLINE_PASSES passes; the rest run in the hub's own task,
    which stops by itself once nobody asks any more and leaves the lock free."""
    clock = itertools.count()
    hub = RecordingDispatcher(redis, clock, random.Random(1))
    ask_more = inline = dispatch_module.INLINE_PASSES

    async def asking_pass(town_id: str) -> None:
        nonlocal ask_more
        hub.passes.append(next(clock))
        if ask_more > 0:  # someone else asks during every pass, for a while
            ask_more -= 1
            await redis.set(keys.dispatch_again("burst-town"), "1", px=5000)

    hub._dispatch_once = asking_pass  # type: ignore[method-assign]
    try:
        await hub.dispatch("burst-town")
        assert len(hub.passes) == inline, "the caller ran more than its share"
        await _quiet(hub)
        assert len(hub.passes) == inline + 1, "the hub's task did not run the last request"
        assert not await redis.exists(keys.dispatch_lock("burst-town"))
    finally:
        await hub.close()
