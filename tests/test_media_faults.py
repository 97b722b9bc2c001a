"""Faults in a live call, with a real kiosk process and a real console in Chromium.

Media lost while signalling stays up: the kiosk builds a new peer connection under
the same call, or, when media never comes back, the hub ends the call ``failed``.
Signalling lost while media stays up: the call carries on peer to peer, and the kiosk
comes back to it through a TCP proxy that the test cuts and restores.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser import MS, press_and_answer, take_calls
from tests.conftest import Town
from tests.kiosk_support import Link
from tests.support import TIMEOUT, HubProcess, KioskProcess

pytestmark = pytest.mark.browser

# The console's live peer connection: its state, the name a test gave it (``mark``) and
# what it has received, from the browser's own counters.
INBOUND_JS = """async () => {
  const pc = window.yijian && window.yijian.pc;
  if (!pc) return null;
  const out = {state: pc.connectionState, mark: pc.testMark || null, frames: 0, samples: 0};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") out.frames = r.framesDecoded || 0;
    if (r.type === "inbound-rtp" && r.kind === "audio") out.samples = r.totalSamplesReceived || 0;
  });
  return out;
}"""
MARK_JS = "(mark) => { window.yijian.pc.testMark = mark; }"
# The operator's media stack lets go of the call while its socket to the hub stays up:
# Chromium closes the connection (a DTLS close_notify reaches the kiosk).
CLOSE_PC_JS = "() => { window.yijian.pc.close(); }"
# From now on the browser finds no path to the kiosk: relay-only ICE with no relay
# configured gathers no candidate at all, as behind a firewall that drops all UDP.
NO_PATH_JS = """() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config) { super({...config, iceTransportPolicy: "relay"}); }
  };
}"""
RETRY_LINE = re.compile(r"no connection to the hub \(.*\); retrying in (\d+\.\d) s")
REBUILD_LINE = re.compile(r"again; a new connection in (\d+\.\d) s")


async def inbound(page: Page) -> dict[str, Any]:
    stats = await page.evaluate(INBOUND_JS)
    return stats or {"state": "none", "mark": None, "frames": 0, "samples": 0}


async def media_grows(page: Page, mark: str | None) -> dict[str, Any]:
    """Wait until the console's peer connection named ``mark`` (None: one not named by
    the test, i.e. built since) decodes video and plays audio, both growing."""
    deadline = time.monotonic() + TIMEOUT
    first: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        now = await inbound(page)
        if now["mark"] != mark or now["frames"] == 0:
            first = None
        elif first is None:
            first = now
        elif now["frames"] > first["frames"] and now["samples"] > first["samples"]:
            return now
        await asyncio.sleep(0.25)
    raise AssertionError(f"no media grew on the peer connection {mark!r}: {await inbound(page)}")


async def until(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Poll ``check`` (plain or async) until it gives something true; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def call_in_progress(
    town: Town,
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    server: str | None = None,
) -> tuple[Page, KioskProcess, str]:
    """A villager's call answered in the console, video and sound reaching the browser;
    its peer connection is named "first"."""
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    page = await console(operator)
    await take_calls(page)
    villager = kiosk_process(kiosk_id, token, server=server)
    call_id = await press_and_answer(villager, page)
    await until("the console's peer connection", lambda: page.evaluate("!!window.yijian.pc"))
    await page.evaluate(MARK_JS, "first")
    await media_grows(page, "first")
    return page, villager, call_id


def by_kiosk(call: dict[str, Any]) -> list[str]:
    return [e["type"] for e in call["events"] if e.get("by") == "kiosk"]


async def test_media_lost_in_a_call_comes_back_on_a_new_connection_under_the_same_call(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    page, villager, call_id = await call_in_progress(town, console, kiosk_process)
    http = await login(town.operators[0])

    async def detail() -> dict[str, Any]:
        return (await http.get(f"/api/calls/{call_id}")).json()  # type: ignore[no-any-return]

    await page.evaluate(CLOSE_PC_JS)
    # The kiosk offers anew; the console answers on a connection the test never named.
    rebuilt = await media_grows(page, None)
    await expect(page.get_by_test_id("media-state")).to_have_attribute(
        "data-state", "connected", timeout=MS
    )

    async def reported_again() -> dict[str, Any] | None:
        call = await detail()
        return call if by_kiosk(call).count("media_connected") == 2 else None

    during = await until("the kiosk's report of its new connection", reported_again)
    await page.get_by_test_id("hangup-call").click()
    ended = await villager.wait_state("ended")
    after_end = await villager.wait_for(lambda s: True)
    call = await detail()

    assert (rebuilt["state"], during["status"]) == ("connected", "connected")
    assert by_kiosk(call) == ["media_connected", "media_failed", "media_connected"]
    assert {s["call_id"] for s in villager.states if s["state"] != "idle"} == {call_id}
    assert (ended["call_status"], ended["end_reason"], after_end["state"]) == (
        "completed", "operator_hangup", "idle",
    )  # fmt: skip
    assert (call["status"], call["end_reason"]) == ("completed", "operator_hangup")
    assert [e["type"] for e in call["events"]].count("ended") == 1


async def test_media_that_never_comes_back_ends_the_call_failed_after_the_media_grace(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1, media_grace_s=3, wrap_up_s=0)
    page, villager, call_id = await call_in_progress(town, console, kiosk_process)

    await page.evaluate(NO_PATH_JS)
    await page.evaluate(CLOSE_PC_JS)
    ended = await villager.wait_state("ended")
    await expect(page.get_by_test_id("call-ended")).to_have_attribute(
        "data-status", "failed", timeout=MS
    )
    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()
    types = [e["type"] for e in call["events"]]
    last = call["events"][-1]

    pauses = [float(d) for d in REBUILD_LINE.findall(villager.log_path.read_text())]
    assert ended["call_id"] == call_id and ended.get("call_status") == "failed", ended
    # the first failure rebuilds at once; then a jittered pause doubling from 0.5 s
    for i, pause in enumerate(pauses):
        ceiling = min(8.0, 0.5 * 2**i)
        assert ceiling / 2 - 0.05 <= pause <= ceiling + 0.05, (i, pauses)
    assert (call["status"], call["end_reason"]) == ("failed", "media_failed")
    assert (last["type"], last["reason"], last["by"]) == ("ended", "media_failed", "hub")
    assert by_kiosk(call)[:2] == ["media_connected", "media_failed"]
    assert "media_connected" not in by_kiosk(call)[1:] and types.count("ended") == 1


@pytest.fixture
async def proxy(hub: HubProcess) -> AsyncIterator[Link]:
    proxy = await Link(hub.port).start()
    yield proxy
    await proxy.close()


async def test_signalling_lost_in_a_call_leaves_media_flowing_and_the_kiosk_comes_back_to_it(
    proxy: Link,  # first: set up before the kiosk, closed after it stops
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    page, villager, call_id = await call_in_progress(town, console, kiosk_process, proxy.base)
    http = await login(town.operators[0])

    async def detail() -> dict[str, Any]:
        return (await http.get(f"/api/calls/{call_id}")).json()  # type: ignore[no-any-return]

    proxy.cut()
    offline = await villager.wait_state("offline")
    before = await inbound(page)
    # Down until the kiosk has tried three times (its backoff sets how long that takes).
    await until("three refused reconnects", lambda: proxy.dropped >= 3)
    during = await media_grows(page, "first")
    await expect(page.get_by_test_id("in-call")).to_be_visible()
    await expect(page.get_by_test_id("call-ended")).to_be_hidden()
    call_during = await detail()
    proxy.restore()
    back = await villager.wait_state("connected")
    still = await media_grows(page, "first")
    await page.get_by_test_id("hangup-call").click()
    ended = await villager.wait_state("ended")
    after_end = await villager.wait_for(lambda s: True)
    call = await detail()
    delays = [float(d) for d in RETRY_LINE.findall(villager.log_path.read_text())]

    assert (offline["call_id"], back["call_id"], ended["call_id"]) == (call_id,) * 3
    assert during["frames"] > before["frames"] and still["frames"] > during["frames"]
    assert call_during["status"] == "connected"
    # Each retry waits between half and all of a doubling ceiling (0.5 s, 1 s, 2 s...),
    # and each was a real attempt at the proxy.
    assert len(delays) == proxy.dropped + 1 and proxy.carried == 2
    for attempt, delay in enumerate(delays):
        ceiling = min(10.0, 0.5 * 2**attempt)
        assert ceiling / 2 - 0.05 <= delay <= ceiling + 0.05, (attempt, delays)
    assert not {"media_failed", "requeued"} & {e["type"] for e in call["events"]}
    assert (ended["call_status"], ended["end_reason"], after_end["state"]) == (
        "completed", "operator_hangup", "idle",
    )  # fmt: skip
    assert (call["status"], [e["type"] for e in call["events"]].count("ended")) == (
        "completed", 1,
    )  # fmt: skip


async def test_an_operators_tab_closed_mid_call_and_reopened_resumes_on_a_new_connection(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    """The kiosk is told the operator dropped (its screen says so), and when the
    operator opens the console again within grace_s the call carries on: the new page
    asks for an offer and the kiosk builds a new connection under the same call."""
    town = await make_town(kiosks=1, operators=1, grace_s=20)
    page, villager, call_id = await call_in_progress(town, console, kiosk_process)
    await page.close()
    lost = await villager.wait_for(lambda s: bool(s.get("operator_lost")))
    again = await console(town.operators[0])
    back = await villager.wait_for(lambda s: s["state"] == "connected" and "operator_lost" not in s)
    await expect(again.get_by_test_id("media-state")).to_have_attribute(
        "data-state", "connected", timeout=MS
    )
    resumed = await media_grows(again, None)
    await again.get_by_test_id("hangup-call").click()
    ended = await villager.wait_state("ended")
    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()
    types = [e["type"] for e in call["events"]]

    assert (lost["state"], lost["call_id"], back["call_id"]) == ("connected", call_id, call_id)
    assert resumed["state"] == "connected"
    assert (ended["call_status"], call["status"]) == ("completed", "completed")
    assert "requeued" not in types and types.count("answered") == 1 and types.count("ended") == 1
    assert by_kiosk(call)[-1] == "media_connected"
