"""A town's dispatch never loses a request (no lost wakeup), with no lock at all.

A pass is one Lua script, so two hubs asking at once run two whole passes one after
the other. Two dispatchers (two hubs) on the real Redis serve one town while tasks
change it at random moments (an operator comes and goes, a call arrives, the head
call ends), each change followed by a request to dispatch, as the hub does. Once all
is quiet, the rings must be what the final state calls for: the first waiting calls,
as many as there are free operators, ring the free operators shared out over them
(``queue_model.ring_problems``), and nobody else rings. (With the older multi-step pass under a
lock, a request made while the other hub finished its pass was lost.)
"""

from __future__ import annotations

import asyncio
import random
import secrets

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns
from server.clock import now_ms
from server.queue.calls import CallStore
from server.queue.deliver import Deliver
from server.queue.dispatch import Dispatcher
from server.queue.presence import PresenceStore
from server.queue.timers import Timers
from server.store import keys
from server.store.bus import Bus
from tests.queue_model import ring_problems

ROUNDS = 25
CHANGES_PER_ROUND = 10


def dispatcher(redis: aioredis.Redis) -> Dispatcher:
    return Dispatcher(redis, Accounts(redis), CallStore(redis), PresenceStore(redis),
                      Towns(redis), Timers(redis), Deliver(Bus(redis)))  # fmt: skip


async def test_concurrent_dispatches_leave_the_rings_the_final_state_calls_for(
    redis: aioredis.Redis, make_town
) -> None:
    town = await make_town(kiosks=0, operators=3, kiosk_calls_per_min=1000)
    hubs = [dispatcher(redis), dispatcher(redis)]
    presence, calls, rng = PresenceStore(redis), CallStore(redis), random.Random(20261202)
    for name in town.operators:
        await presence.connect(name, f"console-{name}")
    kiosks = [Kiosk(f"{town.id}-lk{i}", town.id, "点", "村") for i in range(6)]

    async def change_then_dispatch() -> None:
        await asyncio.sleep(rng.random() * 0.01)
        match rng.choice(["availability", "press", "end"]):
            case "availability":
                name = rng.choice(town.operators)
                await presence.connect(name, f"console-{name}")  # keep its lease fresh
                await presence.set_availability(name, rng.choice(["available", "away"]))
            case "press":
                await calls.create(rng.choice(kiosks), secrets.token_hex(8))
            case "end":
                head = await redis.zrange(keys.town_queue(town.id), 0, 0)
                if head:
                    await calls.end(head[0], reason="kiosk_hangup", by="test")
        await rng.choice(hubs).dispatch(town.id)

    for round_ in range(ROUNDS):
        await presence.renew({name: [f"console-{name}"] for name in town.operators})
        await asyncio.gather(*(change_then_dispatch() for _ in range(CHANGES_PER_ROUND)))
        queue = await redis.zrange(keys.town_queue(town.id), 0, -1)
        people = await presence.many(town.operators)
        problems = ring_problems(queue, people, now_ms(), "ringall")
        assert not problems, f"round {round_}: {problems}"
