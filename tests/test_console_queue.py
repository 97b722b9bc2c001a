"""The queue in the console, as town operators and their supervisor live it: one
presence shared by every tab, the supervisor's live view of who is on duty, calling a
kiosk back from a past call (a real kiosk answers by itself and media flows), being
set away after missed rings, and a call that goes back to the queue."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from server.accounts.accounts import Accounts
from tests.browser import MS, take_calls
from tests.conftest import PASSWORD, Town, event_types
from tests.support import HubProcess, KioskProcess, WsClient
from tests.test_e2e_call import until_media_grows

pytestmark = pytest.mark.browser


async def state_is(page: Page, state: str) -> None:
    """The operator's state as the hub last told this tab (the element shows once told)."""
    presence = page.get_by_test_id("presence")
    await expect(presence).to_be_visible(timeout=MS)
    await expect(presence).to_have_attribute("data-state", state, timeout=MS)


async def press(kiosk: WsClient) -> str:
    """A villager's press, from a scripted kiosk: the new call's id."""
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    return str((await kiosk.recv_type("call_queued"))["call_id"])


async def scripted_kiosk(kiosk_ws: Callable[[str], Awaitable[WsClient]], town: Town) -> WsClient:
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    return kiosk


async def test_every_tab_of_an_operator_shows_one_presence(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
    hub: HubProcess,
) -> None:
    town = await make_town(kiosks=1, operators=1, wrap_up_s=60)
    first = await console(town.operators[0])
    await state_is(first, "away")  # signed in: the session cookie is there for a second tab
    second = await first.context.new_page()
    await second.goto(hub.base + "/")
    await state_is(second, "away")

    await take_calls(first)
    await expect(second.get_by_test_id("availability")).to_have_attribute(
        "data-state", "available", timeout=MS
    )
    await state_is(second, "available")
    call_id = await press(await scripted_kiosk(kiosk_ws, town))
    for tab in (first, second):
        await expect(tab.get_by_test_id("incoming-call")).to_have_attribute(
            "data-call-id", call_id, timeout=MS
        )
        await state_is(tab, "ringing")  # the ring's own word: no presence frame with it
    await second.get_by_test_id("answer-call").click()
    for tab in (first, second):
        await state_is(tab, "busy")
    await expect(first.get_by_test_id("idle-panel")).to_have_attribute("data-state", "busy")

    await second.get_by_test_id("hangup-call").click()
    for tab in (first, second):
        await state_is(tab, "wrap_up")
    await expect(first.get_by_test_id("wrap-up")).to_be_visible()
    await second.get_by_test_id("request-summary").fill("咨询低保申请材料")
    await second.get_by_test_id("request-save").click()
    for tab in (first, second):
        await state_is(tab, "available")
    await expect(first.get_by_test_id("team-panel")).to_be_hidden()  # operators see their own


async def test_a_supervisor_sees_an_operator_ring_then_talk(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    supervisor, operator = f"{town.id}-boss", town.operators[0]
    await accounts.add_operator(supervisor, town.id, "supervisor", PASSWORD)
    desk = await operator_ws(operator)
    await desk.recv_type("welcome")
    await desk.send({"type": "set_availability", "state": "available"})
    await desk.recv_type("availability")
    page = await console(supervisor)
    row = page.locator(f'[data-testid="team-row"][data-username="{operator}"]')
    await expect(row).to_have_attribute("data-state", "available", timeout=MS)

    call_id = await press(await scripted_kiosk(kiosk_ws, town))
    await expect(row).to_have_attribute("data-state", "ringing", timeout=MS)
    await desk.send({"type": "answer", "call_id": call_id})
    await desk.recv_type("answered")

    await expect(row).to_have_attribute("data-state", "busy", timeout=MS)
    await expect(row.get_by_test_id("team-call")).to_have_attribute("data-call-id", call_id)
    await expect(row.get_by_test_id("team-call")).to_contain_text("一号服务点 0 · 石头村")


async def test_a_callback_from_a_past_call_rings_the_kiosk_which_answers_with_media(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1, auto_answer_s=0.5)
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    villager = kiosk_process(kiosk_id, token)
    await villager.wait_state("idle")
    villager.press()  # nobody is on duty: told at once, and a call-back request is made
    missed = await villager.wait_state("ended")
    page = await console(operator)
    await page.get_by_test_id("tab-log").click()
    await page.locator(f'[data-testid="call-row"][data-call-id="{missed["call_id"]}"]').click()
    detail = page.get_by_test_id("call-detail")
    await expect(detail.get_by_test_id("call-request")).to_be_visible(timeout=MS)
    await detail.get_by_test_id("callback-call").click()

    call_id = (await villager.wait_state("connected"))["call_id"]
    await expect(page.get_by_test_id("in-call")).to_have_attribute(
        "data-call-id", call_id, timeout=MS
    )
    await until_media_grows(page)
    await expect(page.get_by_test_id("request-summary")).to_be_visible()
    await page.get_by_test_id("hangup-call").click()
    await villager.wait_state("ended")

    http = await login(operator)
    before: dict[str, Any] = (await http.get(f"/api/calls/{missed['call_id']}")).json()
    after: dict[str, Any] = (await http.get(f"/api/calls/{call_id}")).json()
    steps = [t for t in event_types(after) if not t.startswith("media_")]
    assert (missed["end_reason"], steps[:3], after["request_id"]) == (
        "no_operators",
        ["created", "callback_ringing", "answered"],
        before["request_id"],
    )


async def test_an_operator_who_lets_calls_ring_out_is_set_away_and_told_why(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1, ring_timeout_s=0.5, max_missed_rings=2)
    page = await console(town.operators[0])
    await take_calls(page)
    kiosk = await scripted_kiosk(kiosk_ws, town)
    call_id = await press(kiosk)
    await expect(page.get_by_test_id("incoming-call")).to_be_visible(timeout=MS)

    notice = page.get_by_test_id("auto-away")
    await expect(notice).to_contain_text("您连续 2 次未接来电，已自动暂离", timeout=MS)  # noqa: RUF001
    await expect(page.get_by_test_id("availability")).to_have_attribute("data-state", "away")
    await expect(page.get_by_test_id("incoming-call")).to_be_hidden()
    await kiosk.send({"type": "hangup", "call_id": call_id})
    await page.get_by_test_id("auto-away-resume").click()
    await expect(page.get_by_test_id("availability")).to_have_attribute(
        "data-state", "available", timeout=MS
    )
    await expect(notice).to_be_hidden()


async def test_a_call_whose_media_never_comes_up_goes_back_to_the_queue(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1, media_grace_s=1)
    page = await console(town.operators[0])
    await take_calls(page)
    kiosk = await scripted_kiosk(kiosk_ws, town)  # it never sends its offer
    call_id = await press(kiosk)
    await page.get_by_test_id("answer-call").click()
    await state_is(page, "busy")
    await page.get_by_test_id("availability").click()  # away: it must not ring here again

    ended = page.get_by_test_id("call-ended")
    await expect(ended).to_have_attribute("data-status", "requeued", timeout=MS)
    await expect(ended).to_contain_text("放回排队的最前面")
    await expect(page.get_by_test_id("in-call")).to_be_hidden()
    assert (await kiosk.recv_type("call_queued"))["call_id"] == call_id
