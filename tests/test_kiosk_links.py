"""The kiosk's link to the hub, through a real TCP hop the test cuts, silences or
turns into a refusing proxy: a dead link is noticed within its keepalive, a press
while offline is said, kept and sent when the link returns (or dropped, and said,
when it does not), and only the hub's own refusal of the token stops the kiosk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from kiosk_client.connection import CLOSE_TIMEOUT_S
from kiosk_client.settings import KioskSettings
from tests.conftest import Town
from tests.kiosk_support import Kiosk, Link
from tests.support import TIMEOUT, HubProcess

QUICK = {"YIJIAN_KIOSK_RECONNECT_MIN_S": "0.2", "YIJIAN_KIOSK_RECONNECT_MAX_S": "0.5"}


@pytest.fixture
async def link(hub: HubProcess) -> AsyncIterator[Link]:
    link = await Link(hub.port).start()
    yield link
    await link.close()


@pytest.fixture
def kiosk(link: Link, artifacts: Path):
    started: list[Kiosk] = []

    def start(town: Town, **env: str) -> Kiosk:
        kiosk_id, token = next(iter(town.kiosks.items()))
        process = Kiosk(link.base, kiosk_id, token, artifacts, env={**QUICK, **env})
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def test_the_default_keepalive_notices_a_dead_link_within_ten_seconds() -> None:
    settings = KioskSettings(kiosk_id="k1", token=SecretStr("t"))
    assert settings.ping_interval_s + settings.ping_timeout_s + CLOSE_TIMEOUT_S <= 10


async def test_a_silent_link_is_noticed_within_the_keepalive(
    link: Link, make_town: Callable[..., Awaitable[Town]], kiosk: Callable[..., Kiosk]
) -> None:
    town = await make_town(kiosks=1, operators=0)
    villager = kiosk(town, YIJIAN_KIOSK_PING_INTERVAL_S="1", YIJIAN_KIOSK_PING_TIMEOUT_S="1")
    await villager.wait_state("idle")
    link.silence()  # the sockets stay open; nothing gets through any more
    started = asyncio.get_running_loop().time()
    await villager.wait_state("offline", timeout=10)
    noticed = asyncio.get_running_loop().time() - started

    # a ping's interval, its timeout, the goodbye not waited for, and some slack
    assert noticed < 1 + 1 + CLOSE_TIMEOUT_S + 0.5


async def test_a_press_while_offline_is_kept_and_sent_when_the_link_returns(
    link: Link, make_town: Callable[..., Awaitable[Town]], kiosk: Callable[..., Kiosk]
) -> None:
    town = await make_town(kiosks=1, operators=1, max_wait_s=120)
    link.cut()
    villager = kiosk(town)
    await villager.wait_state("offline")
    villager.press()
    await villager.log_says("the press is kept for 120 s", TIMEOUT)
    link.restore()
    queued = await villager.wait_state("queued")

    # "idle" is the press on its way (the screen says 正在呼叫) once the link is back
    assert queued["call_id"] and [s["state"] for s in villager.states] == [
        "offline", "idle", "queued"
    ]  # fmt: skip


async def test_a_press_kept_too_long_is_dropped_and_the_villager_told(
    link: Link,
    make_town: Callable[..., Awaitable[Town]],
    kiosk: Callable[..., Kiosk],
) -> None:
    town = await make_town(kiosks=1, operators=1, max_wait_s=120)
    link.cut()
    villager = kiosk(town, YIJIAN_KIOSK_OFFLINE_PRESS_KEEP_S="0.5")
    await villager.wait_state("offline")
    villager.press()
    await villager.log_says("dropped, the villager is told", TIMEOUT)
    link.restore()
    await villager.wait_state("idle")
    villager.close()  # nothing more to come: every line it said is in

    assert [s["state"] for s in villager.states] == ["offline", "idle"]  # never queued


async def test_a_proxy_refusing_with_403_is_retried_until_it_lets_the_kiosk_through(
    link: Link, make_town: Callable[..., Awaitable[Town]], kiosk: Callable[..., Kiosk]
) -> None:
    town = await make_town(kiosks=1, operators=0)
    link.refuse_with(403)
    villager = kiosk(town)
    await villager.wait_state("offline")
    await villager.log_says("HTTP 403", TIMEOUT)
    while link.refusals < 3:
        assert villager.process.poll() is None, villager.log()[-1000:]
        await asyncio.sleep(0.05)
    link.restore()
    idle = await villager.wait_state("idle")

    assert idle["state"] == "idle" and villager.process.poll() is None


async def test_the_hubs_own_refusal_of_the_token_stops_the_kiosk(
    hub: HubProcess, make_town: Callable[..., Awaitable[Town]], artifacts: Path
) -> None:
    town = await make_town(kiosks=1, operators=0)
    kiosk_id = next(iter(town.kiosks))
    villager = Kiosk(hub.base, kiosk_id, f"{kiosk_id}.wrong", artifacts)
    code = await asyncio.to_thread(villager.process.wait, TIMEOUT)
    villager.close()

    assert code == 2 and "bad_token" in villager.log()
