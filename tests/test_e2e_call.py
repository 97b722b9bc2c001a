"""The whole call, as a town's operator lives it: a real kiosk process presses its
button, the console rings in headless Chromium, the operator answers, media flows
both ways, the operator hangs up and records the villager's request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import MS, press_and_answer, take_calls
from tests.conftest import Town, event_types
from tests.support import TIMEOUT, HubProcess, KioskProcess

pytestmark = pytest.mark.browser

SUMMARY = "村口路灯坏了三盏, 请安排维修。"

# What the console's live peer connection receives, from the browser's own counters.
INBOUND_JS = """async () => {
  const pc = window.yijian && window.yijian.pc;
  if (!pc) return null;
  const out = {state: pc.connectionState, frames: 0, samples: 0};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") out.frames = r.framesDecoded || 0;
    if (r.type === "inbound-rtp" && r.kind === "audio") out.samples = r.totalSamplesReceived || 0;
  });
  return out;
}"""


async def inbound(page: Page) -> dict[str, Any]:
    stats = await page.evaluate(INBOUND_JS)
    return stats or {"state": "none", "frames": 0, "samples": 0}


async def until_media_grows(page: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two samples of the browser's inbound counters, the second strictly above the first."""
    deadline = time.monotonic() + TIMEOUT
    first = await inbound(page)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = await inbound(page)
        if (
            first["frames"] > 0
            and now["frames"] > first["frames"]
            and now["samples"] > first["samples"]
        ):
            return first, now
        if first["frames"] == 0:
            first = now
    raise AssertionError(f"no media grew in the browser; last {await inbound(page)}")


async def test_an_operator_answers_talks_hangs_up_and_records_the_request(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    page = await console(operator)
    await take_calls(page)
    villager = kiosk_process(kiosk_id, token)
    call_id = await press_and_answer(villager, page)
    await expect(page.get_by_test_id("remote-video")).to_be_visible()
    await until_media_grows(page)
    await page.get_by_test_id("hangup-call").click()
    ended = await villager.wait_state("ended")

    await page.get_by_test_id("request-summary").fill(SUMMARY)
    await page.get_by_test_id("request-category").select_option("环境卫生")
    await page.get_by_test_id("request-status").select_option("in_progress")
    await page.get_by_test_id("request-save").click()
    await expect(page.get_by_test_id("request-summary")).to_be_hidden(timeout=MS)
    await page.get_by_test_id("tab-log").click()
    await expect(
        page.locator(f'[data-testid="call-row"][data-call-id="{call_id}"]')
    ).to_contain_text(SUMMARY, timeout=MS)

    http = await login(operator)
    call = (await http.get(f"/api/calls/{call_id}")).json()
    assert (ended["video_frames_received"] > 0, ended["audio_frames_received"] > 0) == (True, True)
    assert (call["status"], call["operator"], call["request"]) == (
        "completed",
        operator,
        {"summary": SUMMARY, "category": "环境卫生", "status": "in_progress"},
    )
    assert call["created_at"] < call["answered_at"] < call["ended_at"]
    assert (call["end_reason"], ended["end_reason"]) == ("operator_hangup", "operator_hangup")
    steps = [t for t in event_types(call) if not t.startswith("media_")]
    assert steps == ["created", "queued", "offered", "answered", "ended", "request_saved"]
    media = event_types(call)[
        event_types(call).index("answered") : event_types(call).index("ended")
    ]
    assert "media_connected" in media


async def test_the_first_answer_takes_the_call_and_the_other_console_stops_ringing(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
) -> None:
    town = await make_town(kiosks=1, operators=2)
    (kiosk_id, token) = next(iter(town.kiosks.items()))
    first, second = [await console(name) for name in town.operators]
    for page in (first, second):
        await page.get_by_test_id("availability").click()
        await expect(page.get_by_test_id("availability")).to_have_attribute(
            "data-state", "available", timeout=MS
        )

    villager = kiosk_process(kiosk_id, token)
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    for page in (first, second):
        await expect(page.get_by_test_id("incoming-call")).to_have_attribute(
            "data-call-id", call_id, timeout=MS
        )
    await second.get_by_test_id("answer-call").click()
    await expect(second.get_by_test_id("hangup-call")).to_be_visible(timeout=MS)

    await expect(first.get_by_test_id("incoming-call")).to_be_hidden(timeout=MS)
    assert await first.evaluate("window.yijian.ringer.playing") is False


async def test_the_console_speaks_chinese_first_and_remembers_english(
    hub: HubProcess, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(hub.base + "/")
    await expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    await page.get_by_test_id("lang-en").click()
    await page.reload()

    await expect(page.get_by_test_id("login-submit")).to_have_text("Sign in")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await context.close()
