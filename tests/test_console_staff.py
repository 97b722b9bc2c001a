"""人员管理 in a real browser: a supervisor adds, disables, re-enables and resets their
town's operators (and cannot make an admin); an admin gives a kiosk a new token,
shown once, and the kiosk's old socket closes at once."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import MS
from tests.conftest import PASSWORD
from tests.support import TIMEOUT
from tests.test_cut_off import REVOKED, closed_with

pytestmark = pytest.mark.browser


async def test_a_supervisor_manages_the_towns_operators_from_the_console(
    make_town, accounts, console, operator_ws, hub
):
    town = await make_town(kiosks=0, operators=1)
    boss, worker = f"{town.id}-boss", town.operators[0]
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    worker_console = await operator_ws(worker)
    await worker_console.recv_type("welcome")
    page = await console(boss)
    panel = page.get_by_test_id("staff-panel")
    row = panel.locator(f'[data-testid="staff-row"][data-username="{worker}"]')
    await expect(row).to_be_visible(timeout=MS)

    await row.get_by_test_id("staff-disable").click()
    await expect(row).to_have_attribute("data-disabled", "true", timeout=MS)
    code = await closed_with(worker_console)
    await row.get_by_test_id("staff-enable").click()
    await expect(row).to_have_attribute("data-disabled", "false", timeout=MS)
    await row.get_by_test_id("staff-password").click()
    await row.get_by_test_id("staff-new-password").fill("a fresh secret")
    await row.get_by_test_id("staff-password-save").click()
    await expect(page.get_by_test_id("toast").last).to_contain_text(worker, timeout=MS)
    await panel.get_by_test_id("staff-add-username").fill(f"{town.id}-new")
    await panel.get_by_test_id("staff-add-password").fill("eight chars")
    await panel.get_by_test_id("staff-add-submit").click()
    added = panel.locator(f'[data-testid="staff-row"][data-username="{town.id}-new"]')
    await expect(added).to_be_visible(timeout=MS)
    grantable = await row.get_by_test_id("staff-role").locator("option").all_inner_texts()
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as anyone:
        relogin = await anyone.post(
            "/api/auth/login", json={"username": worker, "password": "a fresh secret"}
        )

    assert code == REVOKED and relogin.status_code == 200
    assert grantable == ["接线员", "主管"]  # no admin: a supervisor makes none
    assert await page.get_by_test_id("kiosks-table").is_hidden()


async def test_an_admin_gives_a_kiosk_a_new_token_shown_once(
    make_town, accounts, console, kiosk_ws
):
    town = await make_town(kiosks=1, operators=0)
    root = f"{town.id}-root"
    await accounts.add_operator(root, town.id, "admin", PASSWORD)
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    page = await console(root)
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(f'[data-testid="kiosk-row"][data-kiosk-id="{kiosk_id}"]')

    await row.get_by_test_id("kiosk-rotate").click()
    new_token = page.get_by_test_id("kiosk-token-value")
    await expect(new_token).to_contain_text(f"{kiosk_id}.", timeout=MS)
    code = await closed_with(kiosk)
    again = await kiosk_ws(await new_token.inner_text())
    welcome = await again.recv_type("welcome")

    assert code == REVOKED and welcome["kiosk"]["id"] == kiosk_id
