"""The town on the desk, in a real browser: a supervisor's 值班情况 follows the hub's
pushes without asking (an admin's too, for the town they pick), an operator reads the
queue settings but cannot change them,
and an operator calling a kiosk back hears a ringback until the kiosk answers, declines
or the call is cancelled."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Request, expect

from server.accounts.accounts import Accounts
from tests.browser import MS
from tests.conftest import PASSWORD, Town
from tests.support import WsClient

pytestmark = pytest.mark.browser

# Well inside the panel's 30 s fallback: what arrives this fast was pushed.
PUSHED_MS = MS // 2


def presence_asks(page: Page) -> list[str]:
    """Every GET /api/presence the page makes from now on (the panel's fallback)."""
    asked: list[str] = []

    def count(request: Request) -> None:
        if urlsplit(request.url).path == "/api/presence":
            asked.append(request.url)

    page.on("request", count)
    return asked


async def test_the_team_panel_follows_pushes_and_never_asks_in_between(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    supervisor, operator = f"{town.id}-boss", town.operators[0]
    await accounts.add_operator(supervisor, town.id, "supervisor", PASSWORD)
    page = await console(supervisor)
    row = page.locator(f'[data-testid="team-row"][data-username="{operator}"]')
    await expect(row).to_have_attribute("data-state", "offline", timeout=MS)
    asked = presence_asks(page)

    desk = await operator_ws(operator)
    await expect(row).to_have_attribute("data-state", "away", timeout=PUSHED_MS)
    await desk.send({"type": "set_availability", "state": "available"})
    await expect(row).to_have_attribute("data-state", "available", timeout=PUSHED_MS)
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await expect(row).to_have_attribute("data-state", "ringing", timeout=PUSHED_MS)
    await expect(row.get_by_test_id("team-call")).to_have_attribute("data-call-id", call_id)
    await desk.send({"type": "set_availability", "state": "away"})
    await expect(row).to_have_attribute("data-state", "away", timeout=PUSHED_MS)
    await expect(page.get_by_test_id("team-summary")).to_contain_text("实时更新")
    assert asked == []


async def test_an_admin_picks_another_town_and_its_team_is_pushed(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    home, other = await make_town(operators=1), await make_town(kiosks=1, operators=1)
    admin, operator = f"{home.id}-root", other.operators[0]
    await accounts.add_operator(admin, home.id, "admin", PASSWORD)
    kiosk = await kiosk_ws(next(iter(other.kiosks.values())))  # a call makes the town known
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    await kiosk.recv_type("call_ended")
    page = await console(admin)
    picker = page.get_by_test_id("team-town")
    await expect(picker.locator(f'option[value="{other.id}"]')).to_have_count(1, timeout=MS)
    await picker.select_option(other.id)
    row = page.locator(f'[data-testid="team-row"][data-username="{operator}"]')
    await expect(row).to_have_attribute("data-state", "offline", timeout=MS)
    asked = presence_asks(page)

    desk = await operator_ws(operator)
    await desk.recv_type("welcome")
    await desk.send({"type": "set_availability", "state": "available"})
    await expect(row).to_have_attribute("data-state", "available", timeout=PUSHED_MS)
    await expect(page.get_by_test_id("team-panel")).to_have_attribute("data-town", other.id)
    assert asked == []


async def test_an_operator_reads_the_queue_settings_a_supervisor_changes_them(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
) -> None:
    town = await make_town(operators=1, ring_timeout_s=25)
    supervisor = f"{town.id}-boss"
    await accounts.add_operator(supervisor, town.id, "supervisor", PASSWORD)
    page = await console(town.operators[0])
    await expect(page.get_by_test_id("queue-settings-open")).to_be_hidden()
    await page.get_by_test_id("queue-settings-view").click()
    dialog = page.get_by_test_id("queue-settings")
    await expect(dialog.get_by_test_id("setting-ring_timeout_s")).to_have_value("25", timeout=MS)
    await expect(dialog).to_have_attribute("data-readonly", "true")
    await expect(dialog.get_by_role("heading", name="排队设置（只读）")).to_be_visible()  # noqa: RUF001
    await dialog.get_by_test_id("queue-settings-close").click()
    await page.get_by_test_id("lang-en").click()
    await page.get_by_test_id("queue-settings-view").click()
    await expect(dialog.get_by_role("heading", name="Queue settings (read only)")).to_be_visible()
    await expect(dialog.get_by_test_id("setting-strategy")).to_be_disabled(timeout=MS)
    fields = dialog.locator('[data-testid^="setting-"]')
    assert await fields.count() >= 10
    await expect(dialog.locator('[data-testid^="setting-"]:enabled')).to_have_count(0)
    await expect(dialog.get_by_test_id("queue-settings-save")).to_have_count(0)

    boss = await console(supervisor)
    await expect(boss.get_by_test_id("queue-settings-view")).to_be_hidden()
    await boss.get_by_test_id("queue-settings-open").click()
    editing = boss.get_by_test_id("queue-settings")
    await expect(editing.get_by_test_id("setting-ring_timeout_s")).to_be_enabled(timeout=MS)
    await expect(editing).to_have_attribute("data-readonly", "false")
    await expect(editing.get_by_test_id("queue-settings-save")).to_be_visible()


async def call_back_from_the_log(page: Page, call_id: str) -> None:
    await page.get_by_test_id("tab-log").click()
    await page.locator(f'[data-testid="call-row"][data-call-id="{call_id}"]').click()
    await page.get_by_test_id("call-detail").get_by_test_id("callback-call").click(timeout=MS)


@pytest.mark.parametrize("ending", ["kiosk_answers", "kiosk_declines", "operator_cancels"])
async def test_an_operator_hears_a_ringback_only_while_the_kiosk_rings(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
    ending: str,
) -> None:
    town = await make_town(kiosks=1, operators=1, auto_answer_s=60)
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    missed = await kiosk.recv_type("call_ended")  # nobody on duty: a call to return
    page = await console(town.operators[0])
    card = page.get_by_test_id("callback-ringing")
    await expect(card).to_have_attribute("data-ringback", "off")
    await call_back_from_the_log(page, missed["call_id"])

    call_id = (await kiosk.recv_type("incoming_call"))["call_id"]
    await expect(card).to_have_attribute("data-ringback", "on", timeout=MS)
    assert await page.evaluate("window.yijian.ringer.back.nodes.length") > 0  # a real tone
    if ending == "operator_cancels":
        await page.get_by_test_id("callback-cancel").click()
    else:
        accept = ending == "kiosk_answers"
        await kiosk.send({"type": "callback_answer", "call_id": call_id, "accept": accept})
    after = "in-call" if ending == "kiosk_answers" else "call-ended"
    await expect(page.get_by_test_id(after)).to_be_visible(timeout=MS)
    await expect(card).to_have_attribute("data-ringback", "off")
    assert await page.evaluate("window.yijian.ringer.ringingBack") is False
