"""What the queue's property test and flood benchmark found, each kept as a test.

The flood (bench/queue_bench.py: 1,000 kiosks press within one second) found the
first two; the property test's max-wait check found the third (a requeued call got
no new max-wait deadline and could wait forever). Reading the code for the two-hub
tests found the last two: deadlines set after the call was queued, and timers
removed before they ran, were lost with a hub that died in between.
"""

from __future__ import annotations

import asyncio
from unittest import mock

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.queue import calls as calls_module
from server.queue import timers as timers_module
from server.queue.calls import CallStore
from server.queue.timers import Timers
from server.store import keys
from server.store.redis_conn import POOL_SIZE, connect
from tests.test_queue import call_detail, press, ready_kiosk, ready_operator


async def test_a_burst_wider_than_the_pool_waits_for_connections(redis_url: str) -> None:
    """More commands in flight than the pool holds: they queue, none fails (redis-py's
    default pool raised MaxConnectionsError, and the hub closed the kiosk's socket)."""
    client = await connect(redis_url)
    try:
        waits = [client.blpop(["yj:test:nothing"], timeout=0.2) for _ in range(POOL_SIZE + 50)]
        results = await asyncio.gather(*waits, return_exceptions=True)
    finally:
        await client.aclose()
    assert [r for r in results if r is not None] == []


async def test_a_press_that_reaches_redis_late_queues_behind_those_already_told(
    redis: aioredis.Redis, accounts: Accounts, make_town
) -> None:
    """A press stamped earlier but run later must not take the place of a call whose
    kiosk was already told it: the places told stay 1..n."""
    town = await make_town(kiosks=2)
    first, late = [await accounts.kiosk(k) for k in town.kiosks]
    store = CallStore(redis)
    now = calls_module.now_ms()
    ahead, _ = await store.create(first, "burst-first-01")
    with mock.patch.object(calls_module, "now_ms", lambda: now - 50):
        behind, _ = await store.create(late, "burst-late-001")
    assert [await store.position(ahead), await store.position(behind)] == [1, 2]


async def test_a_requeued_call_nobody_answers_still_ends_unanswered(
    make_town, kiosk_ws, operator_ws, login
) -> None:
    town = await make_town(operators=2, max_wait_s=1, grace_s=0.5)
    taker = await ready_operator(operator_ws, town.operators[0])
    await ready_operator(operator_ws, town.operators[1], available=False)  # logged in, away
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "requeue-wait-1"))["call_id"]
    await taker.recv_type("ring")
    await taker.send({"type": "answer", "call_id": call_id})
    await taker.recv_type("answered")
    await taker.close()  # gone past grace_s: the call goes back to the head of the queue
    await kiosk.recv_type("call_queued")
    ended = await kiosk.recv_type("call_ended", timeout=1 + 5)  # max_wait_s, and the sweep
    call = await call_detail(login, town.operators[1], call_id)
    assert (ended["status"], call["status"]) == ("unanswered", "unanswered")


async def test_a_new_call_and_a_requeued_one_carry_their_deadlines_from_the_same_step(
    redis: aioredis.Redis, accounts: Accounts, make_town
) -> None:
    """A hub that dies between the press and the rest of its work leaves the call its
    max-wait and overflow deadlines: the scripts that queue a call set them."""
    town = await make_town()
    kiosk = await accounts.kiosk(next(iter(town.kiosks)))
    store = CallStore(redis)
    call, _ = await store.create(kiosk, "deadline-001", max_wait_s=120, overflow=("next", 60))
    maxwait = await redis.zscore(keys.TIMERS, f"maxwait|{call.id}")
    overflow = await redis.zscore(keys.TIMERS, f"overflow|{call.id}|next")
    assert (maxwait, overflow) == (call.created_at + 120_000, call.created_at + 60_000)

    operator = await accounts.operator(town.operators[0])
    assert (await store.claim(call.id, operator, "conn-1")).status == "connected"
    assert await redis.zscore(keys.TIMERS, f"maxwait|{call.id}") is None  # answered
    before = calls_module.now_ms()
    await store.requeue(call.id, reason="operator_disconnected", max_wait_s=30)
    again = await redis.zscore(keys.TIMERS, f"maxwait|{call.id}")
    assert again is not None and before + 30_000 <= again <= calls_module.now_ms() + 30_000


async def test_a_timer_whose_hub_died_while_running_it_runs_again_after_the_lease(
    redis: aioredis.Redis,
) -> None:
    first, second = Timers(redis), Timers(redis)
    now = calls_module.now_ms()
    await first.set(now - 1, "maxwait", "lease-test-1")
    await first.set(now - 1, "maxwait", "lease-test-2")
    claimed = [t for t in await first.claim_due(now) if "lease-test" in t.name]
    assert sorted(t.name for t in claimed) == ["maxwait|lease-test-1", "maxwait|lease-test-2"]
    assert [t for t in await second.claim_due(now) if "lease-test" in t.name] == []
    # the first runs lease-test-1 to the end, and lease-test-2 sets itself again; then dies
    one, two = sorted(claimed, key=lambda t: t.name)
    await first.done(one)
    await first.set(now + 5_000, "maxwait", "lease-test-2")
    await first.done(two)
    assert await redis.zscore(keys.TIMERS, one.name) is None
    assert await redis.zscore(keys.TIMERS, two.name) == now + 5_000
    # a timer claimed by a hub that never finished it is taken again once the lease is over
    await first.set(now - 1, "maxwait", "lease-test-3")
    lost = [t for t in await first.claim_due(now) if t.name == "maxwait|lease-test-3"]
    later = now + timers_module.LEASE_MS + 1
    retaken = [t for t in await second.claim_due(later) if t.name == "maxwait|lease-test-3"]
    assert len(lost) == len(retaken) == 1
    await second.done(retaken[0])
    await redis.zrem(keys.TIMERS, two.name)
