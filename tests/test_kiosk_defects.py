# ruff: noqa: RUF002 - Chinese text takes full-width punctuation

"""Three things the kiosk said wrongly, each seen from a real kiosk process against a
real hub, with an operator answering through a real aiortc peer connection.

- After an operator dropped and another answered, the new call still said 镇里的网络
  断了一下 (``operator_lost`` was never cleared).
- A declined town callback said 现在暂时无人接听，镇里会尽快给您回电.
- With only the kiosk's signalling down mid-call, the screen said 网络断了，正在恢复通话
  although sound and picture carried on peer to peer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.conftest import Town
from tests.kiosk_support import AiortcOperator, Kiosk, Link
from tests.support import TIMEOUT, HubProcess, WsClient

WINDOW = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
          "YIJIAN_KIOSK_SCREEN_SIZE": "800x480", "YIJIAN_KIOSK_ENDED_DWELL_S": "0.5"}  # fmt: skip


@pytest.fixture
async def link(hub: HubProcess):
    link = await Link(hub.port).start()
    yield link
    await link.close()


@pytest.fixture
def kiosk(hub: HubProcess, artifacts: Path):
    started: list[Kiosk] = []

    def start(kiosk_id: str, token: str, *args: str, server: str | None = None,
              **options) -> Kiosk:  # fmt: skip
        process = Kiosk(server or hub.base, kiosk_id, token, artifacts, *args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture
async def operators():
    made: list[AiortcOperator] = []
    yield made
    for operator in made:
        await operator.close()


def screens(kiosk: Kiosk) -> list[str]:
    return re.findall(r"the screen shows (\w+)", kiosk.log())


async def screens_until(kiosk: Kiosk, done: Callable[[list[str]], bool]) -> list[str]:
    """The screens the kiosk has shown, once ``done`` says they are enough."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not done(shown := screens(kiosk)):
        assert asyncio.get_running_loop().time() < deadline, f"the screens were {shown}"
        await asyncio.sleep(0.05)
    return shown


async def test_a_second_operator_answering_after_the_first_dropped_is_not_a_lost_operator(
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk: Callable[..., Kiosk],
    operators: list[AiortcOperator],
) -> None:
    town = await make_town(kiosks=1, operators=2, grace_s=1)
    kiosk_id, token = next(iter(town.kiosks.items()))
    first = await AiortcOperator.ready(operator_ws, town.operators[0])
    operators.append(first)
    villager = kiosk(kiosk_id, token)
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    await first.answer(call_id)
    await villager.wait_state("connected")
    await first.console.close()  # the first operator's console is gone
    await villager.wait_for(lambda s: bool(s.get("operator_lost")))
    await villager.wait_state("queued")  # their grace is over: back in the queue
    second = await AiortcOperator.ready(operator_ws, town.operators[1])
    operators.append(second)
    await second.console.recv_type("ring")
    await second.answer(call_id)

    answered = await villager.wait_state("connected")
    assert (answered["call_id"], answered.get("operator_lost")) == (call_id, None)


async def test_a_declined_callback_says_it_was_declined(
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk: Callable[..., Kiosk],
) -> None:
    town = await make_town(kiosks=1, operators=1, auto_answer_s=30)
    kiosk_id, token = next(iter(town.kiosks.items()))
    villager = kiosk(kiosk_id, token, headless=False, env=WINDOW)
    await villager.wait_state("idle")
    console = await operator_ws(town.operators[0])
    await console.recv_type("welcome")
    await console.send({"type": "callback", "kiosk_id": kiosk_id})
    call_id = (await console.recv_type("callback_ringing"))["call"]["id"]
    await villager.wait_for(lambda s: s.get("incoming_call") == call_id)
    villager.press()  # not now, thank you
    ended = await villager.wait_state("ended")
    shown = await screens_until(villager, lambda s: len(s) > 2 and s[-1] == "idle")

    assert (ended["end_reason"], ended["call_status"]) == ("kiosk_declined", "unanswered")
    assert "declined" in shown and "unanswered" not in shown, shown
    assert "已拒接镇里的回电" in villager.log() and "无人接听" not in villager.log()


async def test_signalling_lost_mid_call_keeps_the_call_on_the_screen(
    link: Link,
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk: Callable[..., Kiosk],
    operators: list[AiortcOperator],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    kiosk_id, token = next(iter(town.kiosks.items()))
    operator = await AiortcOperator.ready(operator_ws, town.operators[0])
    operators.append(operator)
    villager = kiosk(kiosk_id, token, server=link.base, headless=False, env=WINDOW)
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    await operator.answer(call_id)
    await villager.wait_state("connected")
    await villager.log_says("the screen shows connected", TIMEOUT)
    link.cut()
    offline = await villager.wait_state("offline")
    frames_then = operator.frames["video"]
    await villager.log_says("retrying in", TIMEOUT)  # the screen has had its time to change
    link.restore()
    back = await villager.wait_state("connected")

    assert (offline["call_id"], back["call_id"]) == (call_id, call_id)  # JSON as before
    assert operator.frames["video"] > frames_then  # media carried on meanwhile
    assert "offline_in_call" not in screens(villager), screens(villager)
