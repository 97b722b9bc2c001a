"""PIPL in a real browser: a supervisor anonymises a request from its dialog, with a
reason; the dialog marks it, its words are gone and the audit log has the reason. A
plain operator sees no such buttons."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from server.accounts.audit import Audit
from server.store import keys
from tests.browser import MS
from tests.conftest import PASSWORD
from tests.tracking_support import seed_calls

pytestmark = pytest.mark.browser


async def open_request(page, request_id: str) -> None:
    await page.get_by_test_id("tab-requests").click()
    await page.locator(f'[data-testid="request-row"][data-request-id="{request_id}"]').click()
    await expect(page.get_by_test_id("request-number")).to_be_visible(timeout=MS)


async def test_a_supervisor_anonymises_a_request_with_a_reason(
    make_town, accounts, redis, console, artifacts
):
    town = await make_town(kiosks=0, operators=0)
    call = (await seed_calls(redis, town.id, 1, abandon_every=99)).calls[0]
    request_id = await redis.hget(keys.call(call.id), "request_id")
    await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", PASSWORD)
    page = await console(f"{town.id}-boss")
    await open_request(page, request_id)

    await page.get_by_test_id("request-anonymise").click()
    await page.get_by_test_id("request-pipl-confirm").click()
    await expect(page.get_by_test_id("request-pipl-error")).to_have_text("请填写理由。")
    await page.get_by_test_id("request-pipl-reason").fill("村民电话要求")
    await page.screenshot(path=str(artifacts / "console-pipl.png"))
    await page.get_by_test_id("request-pipl-confirm").click()
    await expect(page.get_by_test_id("anonymised-tag")).to_have_text("已匿名化", timeout=MS)
    await expect(page.get_by_test_id("request-anonymise")).to_have_count(0)
    history = page.get_by_test_id("request-history").locator('[data-type="anonymised"]')
    await expect(history).to_have_count(1)
    stored = await redis.hgetall(keys.request(request_id))
    entries, _ = await Audit(redis).page(town.id, action="request_anonymised")

    assert stored["summary"] == "" and stored["anonymised_at"]
    assert [(e.actor, e.details["reason"]) for e in entries] == [
        (f"{town.id}-boss", "村民电话要求")]  # fmt: skip


async def test_a_plain_operator_sees_no_pipl_buttons(make_town, redis, console):
    town = await make_town(kiosks=0, operators=1)
    call = (await seed_calls(redis, town.id, 1, abandon_every=99)).calls[0]
    request_id = await redis.hget(keys.call(call.id), "request_id")
    page = await console(town.operators[0])
    await open_request(page, request_id)

    await expect(page.get_by_test_id("request-pipl")).to_have_count(0)
