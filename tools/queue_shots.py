"""Screenshots of the console's queue views, from a real hub, in Chinese and in English.

    .venv/bin/python -m tools.queue_shots --out /tmp/queue-shots

Starts its own Redis (in a temporary folder) and hub (on a free port), makes one town
per language with two kiosks, three operators and a supervisor, and plays the queue's
moments with scripted kiosks and a second operator (raw WebSocket clients) while
headless Chromium photographs the console: the shared presence (available, ringing,
in a call, wrap-up), the auto-away notice, a call put back in the queue, 值班情况 on a
supervisor's desk, a call-back ringing, declined and answered, the 回电 buttons, and
the queue settings (a supervisor's, and an operator's read-only view).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, async_playwright, expect

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from tests.support import WsClient
from tools.review_shots import CHROMIUM, TIMEZONE, VIEWPORT
from tools.stage import stage

PASSWORD = "yijian-demo"
MS = 15_000
NAMES = {  # per language: operators (the first is photographed), the supervisor
    "zh-CN": (["wangfang", "liqiang", "zhaomin"], "zhangwei"),
    "en": (["fang_wang", "qiang_li", "min_zhao"], "wei_zhang"),
}


@dataclass
class Town:
    id: str
    operators: list[str]
    supervisor: str
    kiosks: dict[str, str] = field(default_factory=dict)  # id -> token


async def make_town(redis: aioredis.Redis, lang: str) -> Town:
    accounts = Accounts(redis)
    town_id = f"st{secrets.token_hex(2)}"
    await accounts.add_town(town_id, "圣堂镇" if lang == "zh-CN" else "Shengtang")
    towns = Towns(redis)
    for name, value in {"request_prefix": "ST", "wrap_up_s": "45"}.items():
        await towns.set(town_id, name, value)
    operators, supervisor = NAMES[lang]
    town = Town(town_id, operators, supervisor)
    for i, (kiosk, village) in enumerate((("村委会服务点", "石头村"), ("河口服务点", "河口村"))):
        kiosk_id = f"{town_id}-k{i}"
        town.kiosks[kiosk_id] = await accounts.add_kiosk(kiosk_id, town_id, kiosk, village)
    for name in operators:
        await accounts.add_operator(name, town_id, "operator", PASSWORD)
    await accounts.add_operator(supervisor, town_id, "supervisor", PASSWORD)
    return town


def print_console_error(kind: str, text: str) -> None:
    if kind == "error":
        print("console:", text, file=sys.stderr)


class Scene:
    """One language's run: the hub, the town, its clients and the pages."""

    def __init__(self, base: str, redis: aioredis.Redis, town: Town, lang: str, out: Path) -> None:
        self.base, self.redis, self.town, self.lang, self.out = base, redis, town, lang, out
        self.ws_base = base.replace("http://", "ws://")
        self.clients: list[WsClient] = []
        self.pages: list[Page] = []
        self.shots: list[Path] = []

    async def setting(self, name: str, value: str) -> None:
        await Towns(self.redis).set(self.town.id, name, value)

    async def kiosk(self, index: int) -> WsClient:
        token = list(self.town.kiosks.values())[index]
        client = await WsClient.connect(
            self.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}
        )
        self.clients.append(client)
        await client.recv_type("welcome")
        return client

    async def operator(self, username: str) -> WsClient:
        async with httpx.AsyncClient(base_url=self.base) as http:
            r = await http.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            r.raise_for_status()
            cookie = http.cookies["yijian_session"]
        client = await WsClient.connect(
            self.ws_base + "/ws/operator", {"Cookie": f"yijian_session={cookie}"}
        )
        self.clients.append(client)
        await client.recv_type("welcome")
        return client

    async def page(self, browser: Browser, username: str) -> Page:
        context = await browser.new_context(
            viewport=VIEWPORT, timezone_id=TIMEZONE, locale=self.lang, device_scale_factor=1
        )
        page = await context.new_page()
        self.pages.append(page)
        page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))
        page.on("console", lambda m: print_console_error(m.type, m.text))
        await page.goto(self.base + "/")
        await page.evaluate(f"localStorage.setItem('yijian.lang', '{self.lang}')")
        await page.reload()
        await page.get_by_test_id("login-username").fill(username)
        await page.get_by_test_id("login-password").fill(PASSWORD)
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("presence")).to_be_visible(timeout=MS)
        return page

    async def snap(self, page: Page, name: str, full: bool = False) -> None:
        await page.wait_for_timeout(300)
        path = self.out / f"{name}-{self.lang}.png"
        await page.screenshot(path=str(path), full_page=full)
        self.shots.append(path)

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()


async def press(kiosk: WsClient) -> str:
    """A villager presses the button: the new call's id."""
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    return str((await kiosk.recv_type("call_queued"))["call_id"])


async def state(page: Page, value: str) -> None:
    await expect(page.get_by_test_id("presence")).to_have_attribute("data-state", value, timeout=MS)


async def play(scene: Scene, browser: Browser) -> None:
    town = scene.town
    me, other, _ = town.operators
    page = await scene.page(browser, me)
    boss = await scene.page(browser, town.supervisor)
    colleague = await scene.operator(other)
    await colleague.send({"type": "set_availability", "state": "available"})

    # Available, then ringing, then in a call; the supervisor watches.
    await page.get_by_test_id("availability").click()
    await state(page, "available")
    await scene.snap(page, "presence-available")
    village = await scene.kiosk(0)
    await press(village)
    await state(page, "ringing")
    await scene.snap(page, "presence-ringing")
    await expect(boss.locator(f'[data-testid="team-row"][data-username="{me}"]')).to_have_attribute(
        "data-state", "ringing", timeout=MS
    )
    await scene.snap(boss, "team-ringing")
    await page.get_by_test_id("answer-call").click()
    await state(page, "busy")
    await scene.snap(page, "presence-busy")
    await expect(boss.locator(f'[data-testid="team-row"][data-username="{me}"]')).to_have_attribute(
        "data-state", "busy", timeout=MS
    )
    await boss.get_by_test_id("team-call").first.wait_for()
    await scene.snap(boss, "team-busy")

    # Hung up: wrap-up, with the request still to save.
    await page.get_by_test_id("hangup-call").click()
    await state(page, "wrap_up")
    await page.get_by_test_id("request-summary").fill("村口路灯坏了三盏，请安排维修。")  # noqa: RUF001
    await scene.snap(page, "presence-wrap-up")
    await expect(boss.locator(f'[data-testid="team-row"][data-username="{me}"]')).to_have_attribute(
        "data-state", "wrap_up", timeout=MS
    )
    await scene.snap(boss, "team-wrap-up")
    await page.get_by_test_id("request-save").click()
    await state(page, "available")

    # A call whose media never comes up goes back to the head of the queue.
    await scene.setting("media_grace_s", "2")
    await colleague.send({"type": "set_availability", "state": "away"})
    river = await scene.kiosk(1)
    await press(river)
    await state(page, "ringing")
    await page.get_by_test_id("answer-call").click()
    await state(page, "busy")
    await page.get_by_test_id("availability").click()  # away: the call rings someone else
    await expect(page.get_by_test_id("call-ended")).to_have_attribute(
        "data-status", "requeued", timeout=MS
    )
    await scene.snap(page, "requeued")
    await scene.setting("media_grace_s", "30")
    call = (await river.recv_type("call_queued"))["call_id"]
    await river.send({"type": "hangup", "call_id": call})
    await page.get_by_test_id("ended-dismiss").click()

    # Rings missed twice in a row while ringing alone: away, and told so.
    await scene.setting("ring_timeout_s", "0.5")
    await page.get_by_test_id("availability").click()
    await state(page, "available")
    missed = await press(village)
    await expect(page.get_by_test_id("auto-away")).to_be_visible(timeout=MS)
    await scene.snap(page, "auto-away")
    await village.send({"type": "hangup", "call_id": missed})
    await scene.setting("ring_timeout_s", "20")
    await page.get_by_test_id("auto-away-dismiss").click()

    # A call-back from the missed call's detail: ringing, declined.
    await page.get_by_test_id("tab-log").click()
    await expect(page.get_by_test_id("call-row")).to_have_count(3, timeout=MS)
    await page.wait_for_load_state("networkidle")
    await page.locator(f'[data-testid="call-row"][data-call-id="{missed}"]').click()
    await page.get_by_test_id("call-events").locator('[data-event="operator_away"]').wait_for()
    await scene.snap(page, "call-detail-callback")
    await page.get_by_test_id("call-detail").get_by_test_id("callback-call").click()
    rung = await village.recv_type("incoming_call")
    await expect(page.get_by_test_id("callback-ringing")).to_have_attribute(
        "data-call-id", rung["call_id"], timeout=MS
    )
    await scene.snap(page, "callback-ringing")
    await village.send({"type": "callback_answer", "call_id": rung["call_id"], "accept": False})
    await expect(page.get_by_test_id("call-ended")).to_have_attribute(
        "data-reason", "kiosk_declined", timeout=MS
    )
    await scene.snap(page, "callback-declined")

    # From a request's dialog: the kiosk takes the call-back.
    await page.get_by_test_id("tab-requests").click()
    await page.get_by_test_id("request-row").first.click()
    await page.get_by_test_id("request-number").wait_for()
    await scene.snap(page, "request-callback")
    await page.get_by_test_id("request-detail").get_by_test_id("callback-call").click()
    rung = await river.recv_type("incoming_call")  # the request is the river kiosk's
    await river.send({"type": "callback_answer", "call_id": rung["call_id"], "accept": True})
    await expect(page.get_by_test_id("hangup-call")).to_be_visible(timeout=MS)
    await scene.snap(page, "callback-answered")
    await page.get_by_test_id("hangup-call").click()

    # The supervisor's queue settings, and a value the hub would refuse.
    await boss.get_by_test_id("queue-settings-open").click()
    await boss.get_by_test_id("setting-strategy").wait_for()
    await scene.snap(boss, "queue-settings")
    await boss.get_by_test_id("setting-hours").fill("8-17")
    await boss.get_by_test_id("queue-settings-save").click()
    await expect(boss.get_by_test_id("queue-settings-error")).to_be_visible()
    await scene.snap(boss, "queue-settings-error")

    # An operator reads the same settings and can change nothing.
    await page.get_by_test_id("queue-settings-view").click()
    await page.get_by_test_id("setting-strategy").wait_for()
    await scene.snap(page, "queue-settings-readonly")


async def shoot(base: str, redis_url: str, out: Path, langs: list[str]) -> list[Path]:
    shots: list[Path] = []
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        async with async_playwright() as pw:
            for lang in langs:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", f"--lang={lang}", "--use-fake-device-for-media-stream",
                          "--use-fake-ui-for-media-stream"],
                )  # fmt: skip
                scene = Scene(base, redis, await make_town(redis, lang), lang, out)
                try:
                    await play(scene, browser)
                except Exception:
                    for i, page in enumerate(scene.pages):  # what the pages showed
                        await page.screenshot(path=str(out / f"failed-{lang}-{i}.png"))
                    raise
                finally:
                    shots += scene.shots
                    await scene.close()
                    await browser.close()
    finally:
        await redis.aclose()
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/queue-shots"))
    parser.add_argument("--lang", action="append", choices=list(NAMES), help="only these")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with stage("yijian-queue-shots-") as scratch:
        try:
            base = scratch.start_hub()
            langs = args.lang or list(NAMES)
            for path in asyncio.run(shoot(base, scratch.redis_url, args.out, langs)):
                print(path)
        except Exception:
            shutil.copyfile(scratch.hub_log, args.out / "hub.log")
            print(f"the hub's log is in {args.out / 'hub.log'}", file=sys.stderr)
            raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
