"""The call queue driven directly, with no hub and no socket: its verbs against the
session's real Redis, and what it tells the parties read off their real bus channels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts, Operator
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns
from server.clock import now_ms
from server.errors import CallTaken
from server.queue.calls import CallStore
from server.queue.deliver import Deliver
from server.queue.dispatch import Dispatcher
from server.queue.lifecycle import CallQueue
from server.queue.presence import PresenceStore
from server.queue.timers import Timers
from server.store import keys
from server.store.bus import Bus
from tests.conftest import Town
from tests.support import TIMEOUT


@dataclass
class Core:
    queue: CallQueue
    accounts: Accounts
    listener: Any  # a pub/sub connection of the test's own

    async def one_free(self, make_town: Any) -> tuple[Town, Kiosk, Operator]:
        """A town (no wrap-up) with a kiosk, and its operator available on a console."""
        town = await make_town(wrap_up_s=0)
        kiosk = await self.accounts.kiosk(next(iter(town.kiosks)))
        operator = await self.accounts.operator(town.operators[0])
        await self.queue.presence.connect(operator.username, "console-1")  # its lease
        await self.queue.set_availability(operator, "available")
        return town, kiosk, operator

    async def heard(self, channel: str, type_or_kind: str) -> dict[str, Any]:
        """The next message on a channel with this type (or kind), as published on the
        channel itself or as a part of a batch on a fan the listener follows too."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = await self.listener.get_message(timeout=1.0)
                if message is None:
                    continue
                envelope = json.loads(message["data"])  # the bus's envelope
                parts = envelope.get("batch", [{**envelope, "ch": message["channel"]}])
                for part in parts:
                    data = part["m"]
                    if part["ch"] == channel and type_or_kind in (
                        data.get("type"),
                        data.get("kind"),
                    ):
                        return data  # fmt: skip


@pytest.fixture
async def core(redis: aioredis.Redis) -> AsyncIterator[Core]:
    bus = Bus(redis)
    accounts, towns = Accounts(redis), Towns(redis)
    calls = CallStore(redis, towns)  # one copy of the towns, as the hub wires it
    presence, timers, deliver = PresenceStore(redis), Timers(redis), Deliver(bus)
    dispatcher = Dispatcher(redis, accounts, calls, presence, towns, timers, deliver)
    queue = CallQueue(calls, accounts, towns, presence, timers, dispatcher, deliver)
    listener = redis.pubsub(ignore_subscribe_messages=True)
    yield Core(queue, accounts, listener)
    await listener.aclose()


async def test_press_ring_answer_and_hang_up_without_a_hub(core: Core, make_town, redis):
    town, kiosk, operator = await core.one_free(make_town)
    q = core.queue
    await core.listener.subscribe(keys.operator_channel(operator.username),
                                  keys.town_operators_channel(town.id),
                                  keys.kiosk_channel(kiosk.id))  # fmt: skip

    pressed = await q.press(kiosk, "core-press-1")
    again = await q.press(kiosk, "core-press-1")  # the same press: the same call
    await q.start(pressed)
    await core.heard(keys.operator_channel(operator.username), "sync")
    ringing = (await q.presence.get(operator.username)).ringing
    answer = await q.answer(operator, pressed.call.id, "console-1")
    call, fresh = answer.call, answer.fresh
    await q.announce_answer(answer)
    answered = await core.heard(keys.kiosk_channel(kiosk.id), "call_answered")
    again_answer = await q.answer(operator, call.id, "console-1")
    repeat, repeat_fresh = again_answer.call, again_answer.fresh
    with pytest.raises(CallTaken):
        await q.answer(operator, call.id, "another-tab")
    ended = await q.end(call, reason="kiosk_hangup", by=f"kiosk:{kiosk.id}")
    told_end = await core.heard(keys.kiosk_channel(kiosk.id), "call_ended")

    assert again.call.id == pressed.call.id and not again.created
    assert (pressed.created, pressed.position) == (True, 1)
    assert ringing == pressed.call.id and fresh and call.status == "connected"
    assert answered["operator"] == operator.username
    assert (repeat.id, repeat_fresh) == (call.id, False)
    assert ended is not None and ended.status == "completed"
    assert (told_end["call_id"], told_end["status"]) == (call.id, "completed")
    assert await redis.get(keys.kiosk_live(kiosk.id)) is None


async def test_a_press_rings_in_its_own_step_under_the_towns_settings_as_they_are(
    core: Core, make_town, redis
):
    """The press script rings at once (no dispatch after it), under settings the hub
    keeps between presses; changed behind its back (another hub, the CLI), they are
    read again before the call is made, never used stale."""
    town, kiosk, operator = await core.one_free(make_town)
    q = core.queue

    first = await q.press(kiosk, "known-1")  # the town's settings now kept here
    ringing = (await q.presence.get(operator.username)).ringing  # before any start()
    await q.end(first.call, reason="kiosk_hangup", by=f"kiosk:{kiosk.id}")
    local = (now_ms() // 60_000 + 8 * 60) % (24 * 60)  # the town's minute (UTC+8)
    later = [(local + m) % (24 * 60) for m in (120, 180)]
    hours = "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in later)
    await redis.hset(keys.town(town.id), mapping={"hours": hours, "max_wait_s": "7"})
    second = await q.press(kiosk, "known-2")
    ringing_then = (await q.presence.get(operator.username)).ringing
    due = await redis.zscore(keys.TIMERS, f"maxwait|{second.call.id}")
    await q.start(second)  # ends it: the town is closed
    closed = await q.calls.get(second.call.id)

    assert first.rang == first.call.id and ringing == first.call.id
    assert (second.settings.hours, second.settings.max_wait_s) == (hours, 7)
    assert second.rang is None and ringing_then is None  # closed: nobody rang
    assert (closed.status, closed.end_reason) == ("unanswered", "closed")
    assert due == closed.created_at + 7000


async def test_a_kiosks_hang_up_tells_both_sides_and_rings_anew_in_its_own_step(
    core: Core, make_town, redis
):
    """The kiosk's hang-up ends the call, tells it and stops its ring in one script
    (``hangup_script``); with the town's settings changed behind the hub's back the
    call still ends and the ring still stops, by a dispatch of its own, and the hub
    keeps the settings as they are now."""
    town, kiosk, operator = await core.one_free(make_town)
    q = core.queue
    await core.listener.subscribe(keys.kiosk_channel(kiosk.id))

    first = await q.press(kiosk, "hang-up-1")
    step = await q.calls.end_step(first.call.id, reason="kiosk_hangup", by=f"kiosk:{kiosk.id}",
                                  kiosk=kiosk.id, ring_in=town.id)  # fmt: skip
    after_first = (await q.presence.get(operator.username)).ringing  # nothing else ran
    told = await core.heard(keys.kiosk_channel(kiosk.id), "call_ended")
    assert step is not None
    ended = await q.announce_end(step)  # the hooks, and the towns it overflowed to
    second = await q.press(kiosk, "hang-up-2")
    await redis.hset(keys.town(town.id), "ring_timeout_s", "9")  # not known here yet
    step_ended = await q.kiosk_hang_up(kiosk, second.call.id)
    after_second = (await q.presence.get(operator.username)).ringing
    known = await q.towns.known(town.id)

    assert first.rang == first.call.id and step.dispatched
    assert (ended.status, ended.end_reason) == ("abandoned", "kiosk_hangup")
    assert told == {"type": "call_ended", "call_id": first.call.id, "status": "abandoned",
                    "reason": "kiosk_hangup"}  # fmt: skip
    assert after_first is None  # its ring stopped in the same step
    assert step_ended is not None and step_ended.status == "abandoned"
    assert after_second is None and known.settings.ring_timeout_s == 9
