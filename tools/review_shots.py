"""Screenshots of the console's review views, from a real hub with a month of history.

    .venv/bin/python -m tools.review_shots --out /tmp/review-shots \\
        [--readme-image docs/img/dashboard.png] [--keep]

Starts its own Redis (in a temporary folder) and hub (on a free port), seeds the
demo town 圣堂镇 with a month of calls and requests through the hub's own stores
(``tools.demo_history``), then drives headless Chromium, signed in as the town's
supervisor, through the dashboard, the request list, a request, a call and the call
log, in Chinese and in English. ``--keep`` leaves the hub running for a look by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from pathlib import Path

import redis.asyncio as aioredis
from playwright.async_api import Page, ViewportSize, async_playwright

from tools.demo_history import seed
from tools.stage import stage

CHROMIUM = os.environ.get("YIJIAN_CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
TIMEZONE = "Asia/Shanghai"  # the town's


async def settle(page: Page) -> None:
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(250)


async def shoot(base: str, user: str, password: str, out: Path) -> list[Path]:
    shots: list[Path] = []
    async with async_playwright() as pw:
        for lang in ("zh-CN", "en"):
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", f"--lang={lang}"]
            )
            context = await browser.new_context(
                viewport=VIEWPORT, timezone_id=TIMEZONE, locale=lang, device_scale_factor=1
            )
            page = await context.new_page()
            page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))
            await page.goto(base + "/")
            await page.evaluate(f"localStorage.setItem('yijian.lang', '{lang}')")
            await page.reload()
            await page.get_by_test_id("login-username").fill(user)
            await page.get_by_test_id("login-password").fill(password)
            await page.get_by_test_id("login-submit").click()
            await page.get_by_test_id("tab-dashboard").click()
            await page.get_by_test_id("range-30d").click()
            await page.get_by_test_id("chart-daily-calls").wait_for()
            await settle(page)

            async def snap(
                name: str, full: bool = False, page: Page = page, lang: str = lang
            ) -> None:
                path = out / f"{name}-{lang}.png"
                await page.screenshot(path=str(path), full_page=full)
                shots.append(path)

            await snap("dashboard", full=True)
            await page.get_by_test_id("tab-requests").click()
            await page.get_by_test_id("request-row").first.wait_for()
            await settle(page)
            await snap("requests")
            await page.get_by_test_id("filter-overdue").check()
            await page.wait_for_selector(
                '[data-testid="request-row"][data-overdue="false"]', state="detached"
            )
            await settle(page)
            await snap("requests-overdue")
            await page.get_by_test_id("filter-clear").click()
            await settle(page)
            worked = page.locator(
                '[data-testid="request-row"][data-status="closed"],'
                '[data-testid="request-row"][data-status="resolved"]'
            )
            await worked.first.click()
            await page.get_by_test_id("request-number").wait_for()
            await settle(page)
            await snap("request-detail")
            await page.get_by_test_id("request-note-add").scroll_into_view_if_needed()
            await settle(page)
            await snap("request-notes")
            await page.get_by_test_id("request-call").first.click()
            await page.get_by_test_id("call-request").wait_for()
            await settle(page)
            await snap("call-from-request")
            await page.get_by_test_id("call-detail-close").click()
            await page.get_by_test_id("request-detail-close").click()
            await page.get_by_test_id("categories-edit").click()
            await page.get_by_test_id("categories-list").wait_for()
            await snap("categories")
            await page.keyboard.press("Escape")
            await page.get_by_test_id("tab-log").click()
            await page.get_by_test_id("filter-village").fill("石头村")
            await page.get_by_test_id("filter-village").press("Enter")
            await page.wait_for_function(
                """() => [...document.querySelectorAll('[data-testid="call-row"]')]
                    .every((row) => row.children[2].textContent === "石头村")"""
            )
            await settle(page)
            await snap("log-filtered")
            await page.get_by_test_id("call-row").first.click()
            await page.get_by_test_id("call-request").wait_for()
            await page.get_by_test_id("call-request").scroll_into_view_if_needed()
            await settle(page)
            await snap("call-detail")
            await context.close()
            await browser.close()
    return shots


async def seed_into(url: str) -> tuple[str, str, int]:
    redis = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        town = await seed(redis)
    finally:
        await redis.aclose()
    return town.supervisor, town.password, town.calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/review-shots"))
    parser.add_argument("--readme-image", type=Path, help="copy the Chinese dashboard here")
    parser.add_argument("--keep", action="store_true", help="leave the hub running")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt), stage("yijian-shots-") as scratch:
        user, password, count = asyncio.run(seed_into(scratch.redis_url))
        print(f"seeded {count} calls into 圣堂镇")
        base = scratch.start_hub()
        for path in asyncio.run(shoot(base, user, password, args.out)):
            print(path)
        if args.readme_image:
            args.readme_image.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out / "dashboard-zh-CN.png", args.readme_image)
            print(f"copied the dashboard to {args.readme_image}")
        if args.keep and scratch.hub is not None:
            print(f"hub at {base}/ (log in as {user} / {password}), Redis at {scratch.redis_url}")
            print("Ctrl-C stops both")
            scratch.hub.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
