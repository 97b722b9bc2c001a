"""An operator's browser killed with SIGKILL, by its PID: while ringing, the ring moves
on to the others; in a call, the kiosk is told, and past ``grace_s`` the call goes
back to the head of the queue, never counted as completed.

The test starts this Chromium itself (not the session's shared browser) so that it
knows the PID it kills, and drives it over the DevTools protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser import CHROMIUM_ARGS, MS, TIMEZONE, press_and_answer, take_calls
from tests.conftest import PASSWORD, Town, event_types
from tests.support import TIMEOUT, HubProcess, KioskProcess
from tests.test_queue import press, ready_kiosk, ready_operator

pytestmark = pytest.mark.browser
DEVTOOLS = re.compile(rb"DevTools listening on (ws://\S+)")


class OwnChromium:
    """A headless Chromium process of this test's own."""

    def __init__(self, chromium: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", *CHROMIUM_ARGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    async def endpoint(self) -> str:
        assert self.process.stderr is not None

        def read() -> str:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                if found := DEVTOOLS.search(line):
                    return found.group(1).decode()
            raise RuntimeError(f"chromium exited ({self.process.poll()}) without DevTools")

        return await asyncio.wait_for(asyncio.to_thread(read), TIMEOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(TIMEOUT)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
async def killable(
    chromium: str, tmp_path: Path, hub: HubProcess
) -> AsyncIterator[Callable[[str], Awaitable[tuple[OwnChromium, Page]]]]:
    """Open a console in a Chromium of its own: (the process, the logged-in page)."""
    started: list[OwnChromium] = []
    async with async_playwright() as pw:
        connected: list[Browser] = []

        async def open_console(username: str) -> tuple[OwnChromium, Page]:
            own = OwnChromium(chromium, tmp_path / f"profile-{len(started)}")
            started.append(own)
            browser = await pw.chromium.connect_over_cdp(await own.endpoint())
            connected.append(browser)
            context = await browser.new_context(
                viewport={"width": 1280, "height": 860}, timezone_id=TIMEZONE
            )
            page = await context.new_page()
            await page.goto(hub.base + "/")
            await page.get_by_test_id("login-username").fill(username)
            await page.get_by_test_id("login-password").fill(PASSWORD)
            await page.get_by_test_id("login-submit").click()
            await expect(page.get_by_test_id("availability")).to_be_enabled(timeout=MS)
            await take_calls(page)
            return own, page

        try:
            yield open_console
        finally:
            for own in started:
                own.kill()
            for browser in connected:
                with contextlib.suppress(Exception):
                    await browser.close()


async def test_a_browser_killed_while_ringing_passes_the_ring_on(
    make_town: Callable[..., Awaitable[Town]],
    killable: Callable[[str], Awaitable[tuple[OwnChromium, Page]]],
    kiosk_ws: Callable[[str], Awaitable[object]],
    operator_ws: Callable[[str], Awaitable[object]],
) -> None:
    town = await make_town(operators=2, strategy="longest_idle", ring_timeout_s=120)
    own, page = await killable(town.operators[0])  # free longest: rings first
    other = await ready_operator(operator_ws, town.operators[1])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "killed-browser-1"))["call_id"]
    await expect(page.get_by_test_id("incoming-call")).to_have_attribute(
        "data-call-id", call_id, timeout=MS
    )
    own.kill()
    ring = await other.recv_type("ring")  # not after the 120 s ring timeout
    assert ring["call"]["id"] == call_id


async def test_a_browser_killed_in_a_call_tells_the_kiosk_then_requeues_at_the_head(
    make_town: Callable[..., Awaitable[Town]],
    killable: Callable[[str], Awaitable[tuple[OwnChromium, Page]]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1, grace_s=3, wrap_up_s=0)
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    own, page = await killable(operator)
    villager = kiosk_process(kiosk_id, token)
    call_id = await press_and_answer(villager, page)
    own.kill()
    lost = await villager.wait_for(lambda s: bool(s.get("operator_lost")))
    requeued = await villager.wait_state("queued")  # grace_s passed: back in the queue
    http = await login(operator)
    call = (await http.get(f"/api/calls/{call_id}")).json()
    villager.press()  # the villager gives up: abandoned, not completed
    ended = await villager.wait_state("ended")
    after = (await http.get(f"/api/calls/{call_id}")).json()

    assert (lost["call_id"], requeued["call_id"], requeued["position"]) == (call_id, call_id, 1)
    assert call["status"] == "queued" and "requeued" in event_types(call)
    requeue = next(e for e in call["events"] if e["type"] == "requeued")
    assert (requeue["reason"], requeue["operator"]) == ("operator_disconnected", operator)
    assert (ended["call_status"], after["status"]) == ("abandoned", "abandoned")
