"""A call nobody answered becomes a call-back request that every operator of the town
finds at the top of the 诉求 list, ahead of newer requests, until it is taken up."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser import MS
from tests.test_queue import press, ready_kiosk, ready_operator

pytestmark = pytest.mark.browser


async def test_a_missed_call_waits_on_top_of_the_requests_list(
    make_town, console, kiosk_ws, operator_ws, login
):
    town = await make_town(kiosks=2, operators=2, max_wait_s=1)
    missed_kiosk, later_kiosk = town.kiosks.values()
    page = await console(town.operators[0])  # logged in, away: calls wait, then go
    missed_at = await ready_kiosk(kiosk_ws, missed_kiosk)
    missed = await press(missed_at, "missed-then-pin")
    assert (await missed_at.recv_type("call_ended"))["status"] == "unanswered"
    helper = await ready_operator(operator_ws, town.operators[1])
    later = await ready_kiosk(kiosk_ws, later_kiosk)
    call_id = (await press(later, "answered-later-1"))["call_id"]
    await helper.recv_type("ring")
    await helper.send({"type": "answer", "call_id": call_id})
    await helper.recv_type("answered")  # its request opens at the answer: newer
    http = await login(town.operators[0])
    by_kind = {
        kind: (await http.get("/api/requests", params={"kind": kind})).json()["items"]
        for kind in ("callback", "call")
    }

    await page.get_by_test_id("tab-requests").click()
    rows = page.get_by_test_id("request-row")
    await expect(rows).to_have_count(2, timeout=MS)
    assert [await r.get_attribute("data-request-id") for r in await rows.all()] == [
        by_kind["callback"][0]["id"], by_kind["call"][0]["id"]
    ]  # fmt: skip
    assert [await r.get_attribute("data-pinned") for r in await rows.all()] == ["true", "false"]
    await expect(rows.first.get_by_test_id("callback-tag")).to_be_visible()
    assert missed["call_id"] in by_kind["callback"][0]["call_ids"]
