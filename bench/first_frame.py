"""Answer to first frame: from the operator's click on 接听 to the kiosk's first video
frame shown in the console, with the kiosk's offer gathered while the call waited
(``answer_to_first_frame_*``) and made only after the answer
(``answer_to_first_frame_no_prefetch_*``, the kiosk's ``prepare_offer`` off), each
beside the floor: the same aiortc-to-Chromium call with the signalling handed over
in-process, no hub and no queue.

Real parts, all on loopback and all stopped by their PIDs: a Redis, a hub
(``yijian serve``), two ``yijian kiosk --media test --headless`` processes (one with
``YIJIAN_KIOSK_PREPARE_OFFER=0``) and headless Chromium driven by Playwright, logged
in to the console as the town's one operator. The calls of the three kinds take
turns, after a warm-up call of each, so that load from elsewhere falls on all three.

    python -m bench first_frame [--calls 7] [--warm-up 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, async_playwright, expect

from bench.figures import Figures
from bench.first_frame_page import Floor, answer_to_first_frame
from bench.queue_bench import machine
from bench.queue_seed import PASSWORD, seed_town
from bench.stage import LOGS, RedisServer, start_hub, stop_hub
from kiosk_client.bitrate import cap_video_bitrate
from kiosk_client.capture import Capture, VideoCaps
from kiosk_client.media import GeneratedMedia
from kiosk_client.settings import KioskSettings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MS, TIMEZONE, take_calls
from tests.kiosk_support import Kiosk
from tests.support import TIMEOUT, HubProcess

# No rating window: the next press is a new call, not a rating of the last one.
KIOSK_ENV = {"YIJIAN_KIOSK_RATING_WINDOW_S": "0", "YIJIAN_KIOSK_SELF_TEST_AT": ""}
STEM, NO_PREFETCH = "answer_to_first_frame", "answer_to_first_frame_no_prefetch"
QUANTILES = ((0.5, "p50"), (0.9, "p90"))


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench first_frame",
                                 description=__doc__.split("\n")[0])  # fmt: skip
    ap.add_argument("--calls", type=int, default=7, help="timed calls of each kind")
    ap.add_argument("--warm-up", type=int, default=1, help="untimed calls of each kind first")
    return ap.parse_args(argv)


def main(argv: list[str]) -> dict[str, Any]:
    args = parse(argv)
    started = time.perf_counter()
    results = asyncio.run(run(args))
    results["first_frame_bench_s"] = round(time.perf_counter() - started, 1)
    return results


async def run(args: argparse.Namespace) -> dict[str, Any]:
    LOGS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yijian-bench-") as tmp:
        redis_server = RedisServer(Path(tmp) / "redis").start()
        hub: HubProcess | None = None
        kiosks: list[Kiosk] = []
        try:
            redis = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
            town = await seed_town(redis, kiosks=2, operators=1)
            await redis.aclose()
            hub = await asyncio.to_thread(start_hub, redis_server.url)
            print(f"  hub on port {hub.port}, log {hub.log_path}")
            for (kiosk_id, token), prepare in zip(sorted(town.kiosks.items()), "10", strict=True):
                env = {**KIOSK_ENV, "YIJIAN_KIOSK_PREPARE_OFFER": prepare}
                kiosks.append(Kiosk(hub.base, kiosk_id, token, LOGS, env=env))
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    console = await log_in(browser, hub, town.operators[0])
                    return await measure(args, browser, console, kiosks)
                finally:
                    await browser.close()
        finally:
            await asyncio.gather(*(asyncio.to_thread(k.close) for k in kiosks))
            if hub is not None:
                await asyncio.to_thread(stop_hub, hub)
            redis_server.stop()


async def log_in(browser: Browser, hub: HubProcess, username: str) -> Page:
    """The console, signed in and taking calls (as tests/browser.py's ``console``)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860},
                                        timezone_id=TIMEZONE)  # fmt: skip
    page = await context.new_page()
    await page.goto(hub.base + "/")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("availability")).to_be_enabled(timeout=MS)
    await take_calls(page)
    return page


async def measure(args: argparse.Namespace, browser: Browser, console: Page,
                  kiosks: list[Kiosk]) -> dict[str, Any]:  # fmt: skip
    out = Figures()
    out.fact("first_frame_machine", machine(), "machine")
    # The kiosk's own video settings, so that the floor sends what a kiosk sends.
    defaults = {name: f.default for name, f in KioskSettings.model_fields.items()}
    cap_video_bitrate(defaults["video_max_kbps"])
    width, _, height = str(defaults["video_size"]).partition("x")
    caps = VideoCaps(int(width), int(height), defaults["video_fps"])
    floor_page = await (await browser.new_context()).new_page()
    floor = await Floor.open(floor_page, Capture(GeneratedMedia(), caps))
    prefetch, no_prefetch = kiosks
    kinds: dict[str, Callable[[int], Awaitable[float]]] = {
        STEM: lambda i: hub_call(console, prefetch, prepared=True),
        NO_PREFETCH: lambda i: hub_call(console, no_prefetch, prepared=False),
        "floor": floor.call,
    }
    timed: dict[str, list[float]] = {kind: [] for kind in kinds}
    try:
        for i in range(args.warm_up + args.calls):
            for kind, call in kinds.items():
                ms = await call(i)
                if i >= args.warm_up:
                    timed[kind].append(ms)
            print(f"  call {i + 1}/{args.warm_up + args.calls}: "
                  + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in timed.items() if v))  # fmt: skip
    finally:
        await floor.close()
    out.fact("answer_to_first_frame_calls", args.calls, "timed calls of each kind")
    for stem, what in ((STEM, "offer gathered while queued"),
                       (NO_PREFETCH, "offer made after the answer")):  # fmt: skip
        out.latencies(stem, timed[stem], timed["floor"], f"answer to first frame, {what}",
                      quantiles=QUANTILES, floor_stem=STEM)  # fmt: skip
    return out.results


async def hub_call(console: Page, kiosk: Kiosk, prepared: bool) -> float:
    """One call through the hub: the press, the ring, then (the camera open and, with
    ``prepared``, the offer gathered, as when a villager has waited a moment) the
    click on 接听 timed to the first frame; then the operator hangs up."""
    await kiosk.wait_state("idle")
    opened = kiosk.log().count("capture open (")
    kiosk.press()
    call_id = (await kiosk.wait_state("queued"))["call_id"]
    await expect(console.get_by_test_id("incoming-call")).to_have_attribute(
        "data-call-id", call_id, timeout=MS
    )
    deadline = time.monotonic() + TIMEOUT
    while kiosk.log().count("capture open (") <= opened:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kiosk's camera never opened: {kiosk.log()[-1500:]}")
        await asyncio.sleep(0.02)
    if prepared:
        await kiosk.log_says(f"call {call_id}: offer gathered", TIMEOUT)
    ms = await answer_to_first_frame(console)
    await kiosk.wait_state("connected")
    await console.get_by_test_id("hangup-call").click()
    await kiosk.wait_state("ended")
    return ms


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, live
    print(json.dumps(main(sys.argv[1:]), indent=2, sort_keys=True, ensure_ascii=False))
