"""设备 (the fleet) in a real browser: a supervisor sees the town's kiosks, online or
never seen, with a failed self-test highlighted, and the list follows a kiosk coming
online by itself (the panel polls); a kiosk silent past the town's threshold is an
alert; an admin picks the town; an operator has no such tab."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page, Request, expect

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.store import keys
from tests.browser import MS
from tests.conftest import PASSWORD, Town
from tests.support import HubProcess, WsClient
from tests.test_fleet import until

pytestmark = pytest.mark.browser

POLL_MS = 15_000  # fleet.js's POLL_MS
FAILED_CAMERA = [
    {"device": "camera", "result": "failed", "detail": "cannot open /dev/video9"},
    {"device": "microphone", "result": "ok", "detail": "-40 dBFS"},
    {"device": "speaker", "result": "skipped", "detail": "headless: no speaker"},
]


async def reports(kiosk: WsClient, devices: list[dict[str, str]]) -> None:
    """The kiosk says hello and sends a heartbeat; back once the hub has handled it."""
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "heartbeat", "version": "0.9", "button_stuck": False,
                      "self_test": {"ran_s_ago": 5, "devices": devices}})  # fmt: skip
    await kiosk.send({"type": "ping", "ref": "after"})
    await kiosk.recv_type("pong")


def fleet_asks(page: Page) -> list[str]:
    """Every GET /api/kiosks the page makes from now on."""
    asked: list[str] = []

    def count(request: Request) -> None:
        if urlsplit(request.url).path == "/api/kiosks":
            asked.append(request.url)

    page.on("request", count)
    return asked


async def test_a_supervisor_sees_the_fleet_with_a_failed_self_test_highlighted(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
    artifacts: Path,
) -> None:
    town = await make_town(kiosks=2, operators=0)
    (failing_id, failing_token), (later_id, later_token) = town.kiosks.items()
    supervisor = f"{town.id}-boss"
    await accounts.add_operator(supervisor, town.id, "supervisor", PASSWORD)
    kiosk = await kiosk_ws(failing_token)
    await reports(kiosk, FAILED_CAMERA)
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    call_id = (await kiosk.recv_type("call_ended"))["call_id"]  # nobody is on duty
    page = await console(supervisor)
    await page.clock.install()  # the next poll comes when the test says
    await page.get_by_test_id("tab-fleet").click()
    failing = page.locator(f'[data-testid="fleet-row"][data-kiosk-id="{failing_id}"]')
    later = page.locator(f'[data-testid="fleet-row"][data-kiosk-id="{later_id}"]')
    await expect(failing).to_have_attribute("data-alerts", "self_test_failed", timeout=MS)
    await expect(failing.get_by_test_id("fleet-alert")).to_have_text("自检未通过")
    await expect(failing.get_by_test_id("fleet-online")).to_have_text("在线")
    await expect(failing.get_by_test_id("fleet-call")).to_have_attribute("data-call-id", call_id)
    await expect(failing.get_by_test_id("fleet-call")).to_contain_text("无人接听")
    await expect(later.get_by_test_id("fleet-online")).to_have_text("离线")
    await expect(later.get_by_test_id("fleet-seen")).to_have_text("从未连接")
    await expect(later.get_by_test_id("fleet-alert")).to_have_count(0)
    await expect(page.get_by_test_id("fleet-table").locator("tbody tr").first).to_have_attribute(
        "data-kiosk-id", failing_id
    )  # alerts first
    await page.screenshot(path=str(artifacts / "console-fleet.png"))
    asked = fleet_asks(page)

    await reports(await kiosk_ws(later_token), [{"device": "camera", "result": "ok", "detail": ""}])
    await page.clock.fast_forward(POLL_MS)
    await expect(later).to_have_attribute("data-online", "true", timeout=MS)
    await expect(failing).to_have_attribute("data-online", "true")
    await page.get_by_test_id("lang-en").click()
    await expect(failing.get_by_test_id("fleet-alert")).to_have_text("Self-test failed")
    assert asked == [f"{page.url.rstrip('/')}/api/kiosks?town={town.id}"]


async def test_a_kiosk_silent_past_the_towns_threshold_is_an_alert(
    own_hub: Callable[..., HubProcess], console: Callable[..., Awaitable[Page]]
) -> None:
    hub = own_hub(YIJIAN_FLEET_CHECK_INTERVAL_S="0.2")
    redis = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    accounts = Accounts(redis)
    await accounts.add_town("far", "远镇")
    await Towns(redis).set("far", "offline_alert_s", "1", admin=True)
    token = await accounts.add_kiosk("far-k0", "far", "一号服务点", "石头村")
    await accounts.add_operator("far-sup", "far", "supervisor", PASSWORD)
    kiosk = await WsClient.connect(hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"})
    await kiosk.recv_type("welcome")
    await kiosk.close()  # seen as it leaves, then silent
    await until("the offline alert", lambda: redis.zscore(keys.fleet_offline("far"), "far-k0"))
    await redis.aclose()
    page = await console("far-sup", on_hub=hub)
    await page.get_by_test_id("tab-fleet").click()
    row = page.locator('[data-testid="fleet-row"][data-kiosk-id="far-k0"]')

    await expect(row).to_have_attribute("data-alerts", "offline", timeout=MS)
    await expect(row.get_by_test_id("fleet-online")).to_have_text("离线")
    await expect(row.get_by_test_id("fleet-alert")).to_have_text("离线超过 1 秒")


async def test_an_operator_has_no_fleet_tab(
    make_town: Callable[..., Awaitable[Town]], console: Callable[[str], Awaitable[Page]]
) -> None:
    town = await make_town(kiosks=1, operators=1)
    page = await console(town.operators[0])
    asked = fleet_asks(page)
    await expect(page.get_by_test_id("tab-dashboard")).to_be_visible()
    await page.get_by_test_id("tab-dashboard").click()

    await expect(page.get_by_test_id("tab-fleet")).to_be_hidden()
    await expect(page.get_by_test_id("fleet-panel")).to_be_hidden()
    assert asked == []


async def test_an_admin_picks_the_town_whose_kiosks_they_see(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
) -> None:
    home, other = await make_town(kiosks=1, operators=0), await make_town(kiosks=1, operators=0)
    admin = f"{home.id}-root"
    await accounts.add_operator(admin, home.id, "admin", PASSWORD)
    page = await console(admin)
    await page.get_by_test_id("tab-fleet").click()
    panel = page.get_by_test_id("fleet-panel")
    await expect(panel.get_by_test_id("fleet-row")).to_have_attribute(
        "data-kiosk-id", next(iter(home.kiosks)), timeout=MS
    )
    picker = page.get_by_test_id("fleet-town")
    await expect(picker.locator(f'option[value="{other.id}"]')).to_have_count(1, timeout=MS)

    await picker.select_option(other.id)
    await expect(panel).to_have_attribute("data-town", other.id)
    await expect(panel.get_by_test_id("fleet-row")).to_have_attribute(
        "data-kiosk-id", next(iter(other.kiosks)), timeout=MS
    )
