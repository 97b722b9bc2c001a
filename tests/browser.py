"""Browser fixtures shared by the console's tests: Debian's Chromium, headless, driven by
Playwright, with a fake camera and microphone; and consoles logged in as an operator.

A test module uses them by importing them: ``from tests.browser import browser, ...``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import PASSWORD
from tests.support import TIMEOUT, HubProcess, KioskProcess

CHROMIUM = os.environ.get("YIJIAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # a fake camera and microphone, granted without a prompt: this also makes Chromium
    # offer real host candidates instead of mDNS names that aiortc cannot resolve
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
MS = int(TIMEOUT * 1000)
# The towns' default time zone (UTC+8), so that the console's days are the town's.
TIMEZONE = "Asia/Shanghai"


@pytest.fixture(scope="session")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}; set YIJIAN_CHROMIUM"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def console(
    hub: HubProcess, browser: Browser, artifacts: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """A console page logged in as the given operator (on the session's hub, or
    ``on_hub``); each leaves a last screenshot."""
    pages: list[Page] = []

    async def open_console(username: str, on_hub: HubProcess | None = None) -> Page:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 860}, timezone_id=TIMEZONE
        )
        page = await context.new_page()
        pages.append(page)
        await page.goto((on_hub or hub).base + "/")
        await page.get_by_test_id("login-username").fill(username)
        await page.get_by_test_id("login-password").fill(PASSWORD)
        await page.get_by_test_id("login-submit").click()
        availability = page.get_by_test_id("availability")
        # Shown once signed in, enabled once the hub's socket is open (the element and
        # its data-state are in the page before that, hidden).
        await expect(availability).to_be_visible(timeout=MS)
        await expect(availability).to_be_enabled(timeout=MS)
        await expect(availability).to_have_attribute("data-state", "away")
        return page

    yield open_console
    for i, page in enumerate(pages):
        if not page.is_closed():  # a test may close a tab itself
            await page.screenshot(path=str(artifacts / f"{request.node.name}-{i}.png"))
        await page.context.close()


async def take_calls(page: Page) -> None:
    """Switch the console to available (every console starts away)."""
    await page.get_by_test_id("availability").click()
    await expect(page.get_by_test_id("availability")).to_have_attribute(
        "data-state", "available", timeout=MS
    )


async def press_and_answer(villager: KioskProcess, page: Page) -> str:
    """The villager presses, the call rings this console, which answers; the call's id
    once the kiosk says it is connected."""
    await villager.wait_state("idle")
    villager.press()
    call_id: str = (await villager.wait_state("queued"))["call_id"]
    await expect(page.get_by_test_id("incoming-call")).to_have_attribute(
        "data-call-id", call_id, timeout=MS
    )
    await page.get_by_test_id("answer-call").click()
    await villager.wait_state("connected")
    return call_id
