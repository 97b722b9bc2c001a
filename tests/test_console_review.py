"""The console's review side, as a town's supervisor and operators use it: the call
log narrowed by the filters, a call's timeline and its request, the dashboard's
numbers, the request list, and the wall between towns. Calls and requests are made
through the hub's own stores against the session's Redis, one fresh town per test."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page, expect

from server.accounts.accounts import Accounts
from server.queue.calls import CallStore
from server.queue.records import CallRecord
from server.store import keys
from server.tracking import hooks as tracking
from server.tracking.request_model import Changes
from tests.browser import MS
from tests.conftest import PASSWORD, Town

pytestmark = pytest.mark.browser

VILLAGES = ("石头村", "河口村")
# What the dashboard shows, by test id, and the field of /api/stats it shows.
FIGURES = {
    "calls": "calls", "answered": "answered", "abandoned": "abandoned",
    "unanswered": "unanswered", "answer-rate": "answer_rate", "avg-wait": "avg_wait_s",
    "p90-wait": "p90_wait_s", "service-level": "service_level", "avg-talk": "avg_talk_s",
    "avg-handle": "avg_handle_s", "satisfaction-rate": "satisfaction_rate",
    "requests-collected": "requests_collected", "requests-resolved": "requests_resolved",
    "requests-open": "requests_open", "requests-overdue": "requests_overdue",
}  # fmt: skip


@dataclass
class Seeded:
    town: Town
    supervisor: str
    calls: list[CallRecord]  # oldest first, as ended

    def ids(self, village: str | None = None) -> list[str]:
        """Call ids newest first, as the log lists them."""
        return [c.id for c in reversed(self.calls) if village in (None, c.village)]


async def seed_town(
    make_town: Callable[..., Awaitable[Town]], accounts: Accounts, redis: aioredis.Redis,
    count: int,
) -> Seeded:  # fmt: skip
    """A fresh town with a supervisor, a kiosk in each village and `count` calls: every
    fourth abandoned, the rest answered, written up and resolved (so that the kiosk's
    next call opens a request of its own)."""
    town = await make_town(kiosks=0, operators=1)
    supervisor = f"{town.id}-boss"
    await accounts.add_operator(supervisor, town.id, "supervisor", PASSWORD)
    operator = await accounts.operator(town.operators[0])
    kiosks = []
    for i, village in enumerate(VILLAGES):
        kiosk_id = f"{town.id}-k{i}"
        town.kiosks[kiosk_id] = await accounts.add_kiosk(
            kiosk_id, town.id, f"{village}服务点", village
        )
        kiosks.append(await accounts.kiosk(kiosk_id))
    calls = CallStore(redis)
    store = tracking.wire(redis, calls).requests
    made = []
    for n in range(count):
        call, _ = await calls.create(kiosks[n % 2], secrets.token_hex(8))
        if n % 4 == 1:
            ended = await calls.end(call.id, reason="kiosk_hangup", by="kiosk")
        else:
            await calls.claim(call.id, operator, "test-conn")
            ended = await calls.end(call.id, reason="operator_hangup", by=operator.username)
            assert ended is not None
            summary = f"第{n}件 村道积水"
            saved = Changes(summary=summary, category="环境卫生", status="resolved")
            await store.save_from_call(ended, saved, operator)
        assert ended is not None
        made.append(await calls.get(call.id))
        await asyncio.sleep(0.002)  # the next call's id a millisecond later: ids sort by it
    return Seeded(town, supervisor, made)


async def shown_ids(page: Page, testid: str, attr: str) -> list[str]:
    return [await row.get_attribute(attr) or "" for row in await page.get_by_test_id(testid).all()]


async def exported(page: Page, testid: str) -> list[dict[str, str]]:
    """The rows of the CSV that an export link on the page downloads."""
    href = await page.get_by_test_id(testid).get_attribute("href")
    text = await page.evaluate("async (href) => (await fetch(href)).text()", href)
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_a_supervisor_filters_the_log_and_opens_a_calls_timeline_and_request(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    redis: aioredis.Redis,
    console: Callable[[str], Awaitable[Page]],
) -> None:
    seeded = await seed_town(make_town, accounts, redis, 8)
    page = await console(seeded.supervisor)
    await page.get_by_test_id("tab-log").click()
    await expect(page.get_by_test_id("call-row")).to_have_count(8, timeout=MS)

    await page.get_by_test_id("filter-village").fill("河口村")
    await page.get_by_test_id("filter-village").press("Enter")
    wanted = seeded.ids("河口村")
    await expect(page.get_by_test_id("call-row")).to_have_count(len(wanted), timeout=MS)
    assert await shown_ids(page, "call-row", "data-call-id") == wanted
    assert [row["id"] for row in await exported(page, "export-calls-csv")] == wanted
    answered = next(c for c in reversed(seeded.calls) if c.village == "河口村" and c.answered_at)
    await page.locator(f'[data-testid="call-row"][data-call-id="{answered.id}"]').click()

    detail = page.get_by_test_id("call-detail")
    events = detail.get_by_test_id("call-events")
    for step in ("created", "queued", "answered", "ended", "request_saved"):
        await expect(events.locator(f'[data-event="{step}"]')).to_have_count(1, timeout=MS)
    number = (await redis.hget(keys.call(answered.id), "request_number")) or ""
    section = detail.get_by_test_id("call-request")
    await expect(section).to_contain_text(number, timeout=MS)
    history = section.get_by_test_id("call-request-history")
    await expect(history.locator('[data-type="created"]')).to_have_count(1)
    await expect(history.locator('[data-type="status_changed"]')).not_to_have_count(0)
    await section.get_by_test_id("call-open-request").click()
    await expect(page.get_by_test_id("request-number")).to_have_text(number, timeout=MS)


async def test_the_dashboard_shows_the_hubs_own_numbers(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    redis: aioredis.Redis,
    console: Callable[[str], Awaitable[Page]],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> None:
    seeded = await seed_town(make_town, accounts, redis, 9)
    page = await console(seeded.supervisor)
    await page.get_by_test_id("tab-dashboard").click()
    await page.get_by_test_id("range-7d").click()
    dashboard = page.get_by_test_id("dashboard")
    await expect(page.get_by_test_id("chart-daily-calls")).to_be_visible(timeout=MS)
    await expect(dashboard).to_have_attribute("data-loading", "false")
    since, until = (
        await dashboard.get_attribute("data-since"),
        await dashboard.get_attribute("data-until"),
    )

    http = await login(seeded.supervisor)
    stats = (await http.get("/api/stats", params={"since": since, "until": until})).json()
    shown = {
        field: await page.get_by_test_id(f"stats-{testid}").get_attribute("data-value")
        for testid, field in FIGURES.items()
    }
    assert {k: (float(v) if v else None) for k, v in shown.items()} == {
        field: stats[field] for field in FIGURES.values()
    }
    assert await page.get_by_test_id("stats-calls").inner_text() == str(len(seeded.calls))
    assert await page.get_by_test_id("stats-sentence").inner_text() == (
        f"共收集村民诉求 {stats['requests_collected']} 件，已解决 {stats['requests_resolved']} 件"  # noqa: RUF001
    )


async def test_an_operator_resolves_a_request_only_with_a_note_and_cannot_close_it(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    redis: aioredis.Redis,
    console: Callable[[str], Awaitable[Page]],
) -> None:
    seeded = await seed_town(make_town, accounts, redis, 1)
    request_id = await redis.hget(keys.call(seeded.calls[0].id), "request_id")
    page = await console(seeded.town.operators[0])
    await page.get_by_test_id("tab-requests").click()
    await page.locator(f'[data-testid="request-row"][data-request-id="{request_id}"]').click()
    status = page.get_by_test_id("request-edit-status")
    await status.select_option("in_progress")
    await page.get_by_test_id("request-edit-note").fill("重新核实")
    await page.get_by_test_id("request-edit-save").click()
    await expect(page.get_by_test_id("request-detail-status")).to_contain_text("处理中", timeout=MS)

    await status.select_option("resolved")
    await page.get_by_test_id("request-edit-save").click()
    await expect(page.get_by_test_id("request-edit-error")).to_contain_text("办理结果")
    await page.get_by_test_id("request-edit-note").fill("已清理排水沟")
    await page.get_by_test_id("request-edit-save").click()
    await expect(page.get_by_test_id("request-detail-status")).to_contain_text("已解决", timeout=MS)
    changes = page.get_by_test_id("request-history").locator('[data-type="status_changed"]')
    await expect(changes).to_have_count(3)  # resolved (at the save), in progress, resolved
    assert await status.locator('option[value="closed"]').count() == 0


async def test_an_operator_sees_nothing_of_another_town(
    make_town: Callable[..., Awaitable[Town]],
    accounts: Accounts,
    redis: aioredis.Redis,
    console: Callable[[str], Awaitable[Page]],
) -> None:
    ours = await seed_town(make_town, accounts, redis, 5)
    theirs = await seed_town(make_town, accounts, redis, 5)
    their_request = await redis.hget(keys.call(theirs.calls[0].id), "request_id")
    page = await console(ours.town.operators[0])

    await page.get_by_test_id("tab-log").click()
    await expect(page.get_by_test_id("call-row")).to_have_count(5, timeout=MS)
    assert await shown_ids(page, "call-row", "data-call-id") == ours.ids()
    await expect(page.get_by_test_id("filter-town")).to_be_hidden()
    await page.get_by_test_id("tab-requests").click()
    await expect(page.get_by_test_id("request-row")).not_to_have_count(0, timeout=MS)
    towns = {await redis.hget(keys.request(rid), "town_id") for rid in
             await shown_ids(page, "request-row", "data-request-id")}  # fmt: skip
    asked = await page.evaluate(
        """async ([town, rid]) => [
            (await fetch(`/api/calls?town=${town}`)).status,
            (await fetch(`/api/requests?town=${town}`)).status,
            (await fetch(`/api/requests/${rid}`)).status,
        ]""",
        [theirs.town.id, their_request],
    )
    csv_towns = {row["town_id"] for row in await exported(page, "export-requests-csv")}
    assert (towns, csv_towns, asked) == ({ours.town.id}, {ours.town.id}, [403, 403, 404])


async def test_every_string_is_in_both_languages(
    make_town: Callable[..., Awaitable[Town]], console: Callable[[str], Awaitable[Page]]
) -> None:
    town = await make_town(kiosks=0, operators=1)
    page = await console(town.operators[0])
    missing = await page.evaluate(
        """async () => {
            const { STRINGS } = await import("/strings.js");
            const zh = Object.keys(STRINGS["zh-CN"]), en = Object.keys(STRINGS.en);
            return [zh.filter((k) => !en.includes(k)),
                    en.filter((k) => !zh.includes(k) && !k.startsWith("cat."))];
        }"""
    )
    assert missing == [[], []]
