"""A console's hang-up (or answer) that meets a hub without Redis goes again by itself
until the hub confirms it, and the desk says meanwhile that it is on its way.

The test runs its own Redis and hub (stopping that Redis disturbs no other test) and
ends only what it started. Chromium watches the console's socket, so the test knows the
hub really answered `unavailable` and the console really sent the hang-up again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page, WebSocket, expect

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.store.redis_conn import EmbeddedRedis
from tests.browser import MS, take_calls
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, HubProcess, WsClient

OPERATOR, KIOSK = "rs-op", "rs-k"


@pytest.fixture
async def own_hub(tmp_path, artifacts) -> AsyncIterator[tuple[EmbeddedRedis, HubProcess, str]]:
    """A Redis and a hub of this test's own, a town with one operator and one kiosk
    (its token); media may take its time (these calls never get any) and a ring lasts."""
    server = EmbeddedRedis(tmp_path / "data")
    server.start()
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    accounts = Accounts(client)
    await accounts.add_town("resend", "重发镇")
    for name in ("media_grace_s", "ring_timeout_s"):
        await Towns(client).set("resend", name, "600")
    await accounts.add_operator(OPERATOR, "resend", "operator", PASSWORD)
    token = await accounts.add_kiosk(KIOSK, "resend", "服务点", "村")
    await client.aclose()
    hub = HubProcess(server.url, artifacts).start()
    yield server, hub, token
    hub.stop()
    server.stop()


class Frames:
    """Every message the page's hub socket carries, either way."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []

    def watch(self, ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def of_type(self, frames: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
        return [f for f in frames if f.get("type") == type_]


async def watched(page: Page) -> Frames:
    """Watch the console's socket from the next page load on (the reloaded console is
    still signed in, and starts away as every opened console does)."""
    frames = Frames()
    page.on("websocket", frames.watch)
    await page.reload()
    await expect(page.get_by_test_id("availability")).to_be_enabled(timeout=MS)
    return frames


async def ringing(hub: HubProcess, token: str, page: Page, key: str) -> tuple[WsClient, str]:
    """The kiosk presses and its call rings the console: (the kiosk's socket, call id)."""
    kiosk = await WsClient.connect(hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"})
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": key})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await expect(page.get_by_test_id("incoming-call")).to_have_attribute(
        "data-call-id", call_id, timeout=MS
    )
    return kiosk, call_id


def refused(frames: Frames, type_: str) -> tuple[list[dict[str, Any]], set[str]]:
    """The console's messages of this type, and the codes of the errors they met."""
    mine = frames.of_type(frames.sent, type_)
    refs = {m["ref"] for m in mine}
    errors = frames.of_type(frames.received, "error")
    return mine, {e["code"] for e in errors if e.get("ref") in refs}


async def test_a_hang_up_met_by_a_redis_outage_goes_again_until_the_call_ends(own_hub, console):
    server, hub, token = own_hub
    page = await console(OPERATOR, on_hub=hub)
    frames = await watched(page)
    await take_calls(page)
    kiosk, call_id = await ringing(hub, token, page, "resend-0001")
    await page.get_by_test_id("answer-call").click()
    await kiosk.recv_type("call_answered")
    hangup = page.get_by_test_id("hangup-call")
    await expect(hangup).to_be_enabled(timeout=MS)

    server.stop(force=True)  # SHUTDOWN, though the hub uses it: the AOF is flushed
    await hangup.click()  # once: the console must not need a second click
    # The hub answers `unavailable`; the desk keeps the hang-up going and says so.
    await expect(page.get_by_test_id("hangup-pending")).to_be_visible(timeout=MS * 2)
    await expect(hangup).to_be_disabled()
    await expect(hangup).to_have_text("正在挂断…")
    server.start()
    ended = await kiosk.recv_type("call_ended", timeout=TIMEOUT * 2)
    await expect(page.get_by_test_id("in-call")).to_be_hidden(timeout=MS)
    await kiosk.close()

    hangups, codes = refused(frames, "hangup")
    assert {h["call_id"] for h in hangups} == {call_id} and len(hangups) >= 2, hangups
    assert "unavailable" in codes, codes
    assert (ended["call_id"], ended["status"], ended["reason"]) == (
        call_id, "completed", "operator_hangup"
    )  # fmt: skip


async def test_an_answer_met_by_a_redis_outage_goes_again_until_the_hub_answers(own_hub, console):
    server, hub, token = own_hub
    page = await console(OPERATOR, on_hub=hub)
    frames = await watched(page)
    await take_calls(page)
    kiosk, call_id = await ringing(hub, token, page, "resend-0002")

    server.stop(force=True)
    answer = page.get_by_test_id("answer-call")
    await answer.click()  # once
    await expect(page.get_by_test_id("answer-pending")).to_be_visible(timeout=MS * 2)
    await expect(answer).to_be_disabled()
    await expect(answer).to_have_text("正在接通…")
    server.start()
    answered = await kiosk.recv_type("call_answered", timeout=TIMEOUT * 2)
    await expect(page.get_by_test_id("hangup-call")).to_be_visible(timeout=MS)
    await kiosk.close()

    answers, codes = refused(frames, "answer")
    assert {a["call_id"] for a in answers} == {call_id} and len(answers) >= 2, answers
    assert "unavailable" in codes, codes
    assert (answered["call_id"], answered["operator"]) == (call_id, OPERATOR)
