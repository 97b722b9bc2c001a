"""审计日志 in a real browser: a supervisor disables an operator from 人员管理, opens the
audit tab and finds it (and their own sign-in), filters by action, reads it in
English; a plain operator has no tab and the API refuses them."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser import MS
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def test_a_supervisor_finds_their_change_in_the_audit_log(
    make_town, accounts, console, artifacts
):
    town = await make_town(kiosks=0, operators=1)
    boss, worker = f"{town.id}-boss", town.operators[0]
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    page = await console(boss)
    row = page.locator(f'[data-testid="staff-row"][data-username="{worker}"]')
    await row.get_by_test_id("staff-disable").click()
    await expect(row).to_have_attribute("data-disabled", "true", timeout=MS)

    await page.get_by_test_id("tab-audit").click()
    entries = page.get_by_test_id("audit-table").get_by_test_id("audit-row")
    disabled = entries.and_(page.locator('[data-action="operator_disabled"]'))
    await expect(disabled).to_have_count(1, timeout=MS)
    await expect(disabled).to_have_attribute("data-target", worker)
    await expect(disabled.get_by_test_id("audit-action")).to_have_text("停用人员")
    await expect(disabled.get_by_test_id("audit-actor")).to_contain_text(boss)
    await expect(entries.and_(page.locator('[data-action="login"]'))).to_have_count(1)
    await page.screenshot(path=str(artifacts / "console-audit.png"))
    await page.get_by_test_id("audit-filter-action").select_option("operator_disabled")
    await expect(entries).to_have_count(1, timeout=MS)
    await page.get_by_test_id("lang-en").click()
    await expect(disabled.get_by_test_id("audit-action")).to_have_text("Disabled an operator")


async def test_a_plain_operator_has_no_audit_tab_and_no_audit_log(make_town, console, login):
    town = await make_town(kiosks=0, operators=1)
    page = await console(town.operators[0])
    await expect(page.get_by_test_id("tab-dashboard")).to_be_visible(timeout=MS)
    refused = await (await login(town.operators[0])).get("/api/audit")

    await expect(page.get_by_test_id("tab-audit")).to_be_hidden()
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "supervisor_only"
