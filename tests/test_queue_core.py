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

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.errors import CallTaken
from server.queue.calls import CallStore
from server.queue.deliver import Deliver
from server.queue.dispatch import Dispatcher
from server.queue.lifecycle import CallQueue
from server.queue.presence import PresenceStore
from server.queue.timers import Timers
from server.store import keys
from server.store.bus import Bus
from tests.support import TIMEOUT


@dataclass
class Core:
    queue: CallQueue
    accounts: Accounts
    listener: Any  # a pub/sub connection of the test's own

    async def heard(self, channel: str, type_or_kind: str) -> dict[str, Any]:
        """The next message on a channel with this type (or kind)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = await self.listener.get_message(timeout=1.0)
                if message is None or message["channel"] != channel:
                    continue
                data = json.loads(message["data"])["m"]  # the bus's envelope
                if type_or_kind in (data.get("type"), data.get("kind")):
                    return data


@pytest.fixture
async def core(redis: aioredis.Redis) -> AsyncIterator[Core]:
    bus = Bus(redis)
    accounts, towns, calls = Accounts(redis), Towns(redis), CallStore(redis)
    presence, timers, deliver = PresenceStore(redis), Timers(redis), Deliver(bus)
    dispatcher = Dispatcher(redis, accounts, calls, presence, towns, timers, deliver)
    queue = CallQueue(calls, accounts, towns, presence, timers, dispatcher, deliver)
    listener = redis.pubsub(ignore_subscribe_messages=True)
    yield Core(queue, accounts, listener)
    await listener.aclose()


async def test_press_ring_answer_and_hang_up_without_a_hub(core: Core, make_town, redis):
    town = await make_town(wrap_up_s=0)
    kiosk = await core.accounts.kiosk(next(iter(town.kiosks)))
    operator = await core.accounts.operator(town.operators[0])
    q = core.queue
    await q.presence.connect(operator.username, "console-1")  # a console holds a lease
    await q.set_availability(operator, "available")
    await core.listener.subscribe(keys.operator_channel(operator.username),
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
