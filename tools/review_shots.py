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
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from playwright.async_api import Page, ViewportSize, async_playwright

from server.redis_conn import EmbeddedRedis
from tools.demo_history import seed

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("YIJIAN_CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
TIMEZONE = "Asia/Shanghai"  # the town's


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(redis_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yijian.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--redis-url", redis_url],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the hub did not start")


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
    # A plain kill stops the hub and Redis too (the finally below), not only this script.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    folder = Path(tempfile.mkdtemp(prefix="yijian-shots-"))
    redis_server = EmbeddedRedis(folder)
    redis_server.start()
    hub = None
    try:
        user, password, count = asyncio.run(seed_into(redis_server.url))
        print(f"seeded {count} calls into 圣堂镇")
        hub, base = start_hub(redis_server.url, folder / "hub.log")
        for path in asyncio.run(shoot(base, user, password, args.out)):
            print(path)
        if args.readme_image:
            args.readme_image.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.out / "dashboard-zh-CN.png", args.readme_image)
            print(f"copied the dashboard to {args.readme_image}")
        if args.keep:
            print(f"hub at {base}/ (log in as {user} / {password}), Redis at {redis_server.url}")
            print("Ctrl-C stops both")
            hub.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if hub is not None and hub.poll() is None:
            hub.terminate()
            hub.wait(timeout=15)
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
