"""The fleet, seen from the town: kiosks' heartbeats and self-tests reach the hub, a
supervisor lists them (``GET /api/kiosks``), and a silent or failing kiosk raises an
alert. Real kiosks and a real hub; a raw socket only where a real kiosk cannot fail."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from websockets.exceptions import InvalidStatus

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from tests.conftest import PASSWORD
from tests.support import TIMEOUT
from yijian import __version__


async def until(what: str, check: Callable[[], Awaitable[Any]]) -> Any:
    """Ask ``check`` again until it answers something true; its answer."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if answer := await check():
            return answer
        await asyncio.sleep(0.1)
    raise TimeoutError(f"never saw {what}")


async def supervisor_of(town_id: str, accounts: Accounts, login: Callable[..., Any]) -> Any:
    await accounts.add_operator(f"{town_id}-sup", town_id, "supervisor", PASSWORD)
    return await login(f"{town_id}-sup")


def kiosk_in(items: list[dict[str, Any]], kiosk_id: str) -> dict[str, Any]:
    return next(k for k in items if k["id"] == kiosk_id)


async def test_a_kiosk_reports_its_health_and_the_town_sees_it_with_its_last_call(
    make_town, accounts, login, kiosk_process
):
    town = await make_town(kiosks=2)
    (kiosk_id, token), (silent_id, _) = town.kiosks.items()
    sup = await supervisor_of(town.id, accounts, login)
    villager = kiosk_process(kiosk_id, token)
    await villager.wait_state("idle")

    async def tested() -> bool:
        items = (await sup.get("/api/kiosks", params={"town": town.id})).json()["items"]
        return kiosk_in(items, kiosk_id)["self_test"] is not None

    await until("the self-test at start", tested)  # a press would put it off a minute
    villager.press()  # nobody is logged in: the call ends at once
    ended = await villager.wait_state("ended")

    async def reported() -> dict[str, Any] | None:
        items = (await sup.get("/api/kiosks", params={"town": town.id})).json()["items"]
        kiosk = kiosk_in(items, kiosk_id)
        done = kiosk["self_test"] and kiosk["last_call"] and kiosk["last_call"]["ended_at"]
        return {"items": items, "kiosk": kiosk} if done else None

    seen = await until("the kiosk's self-test and its ended call", reported)
    kiosk, never = seen["kiosk"], kiosk_in(seen["items"], silent_id)

    results = {c["device"]: c["result"] for c in kiosk["self_test"]["devices"]}
    assert results == {"camera": "ok", "microphone": "ok", "speaker": "skipped"}  # headless
    assert kiosk["self_test"]["passed"] and kiosk["version"] == __version__
    assert kiosk["online"] and kiosk["last_seen"] and not kiosk["button_stuck"]
    assert kiosk["last_call"]["id"] == ended["call_id"] and kiosk["alerts"] == []
    assert kiosk["last_call"]["status"] == ended["call_status"] == "unanswered"
    assert never["online"] is False and never["last_seen"] is None and never["alerts"] == []


async def test_a_kiosk_that_stops_is_offline_and_raises_the_alert_past_the_towns_threshold(
    own_hub, kiosk_process
):
    hub = own_hub(YIJIAN_FLEET_CHECK_INTERVAL_S="0.2")
    redis = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    accounts = Accounts(redis)
    await accounts.add_town("far", "远镇")
    await Towns(redis).set("far", "offline_alert_s", "1", admin=True)
    token = await accounts.add_kiosk("far-k0", "far", "一号服务点", "石头村")
    await accounts.add_operator("far-sup", "far", "supervisor", PASSWORD)
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as sup:
        await sup.post("/api/auth/login", json={"username": "far-sup", "password": PASSWORD})

        async def kiosk() -> dict[str, Any]:
            return (await sup.get("/api/kiosks")).json()["items"][0]

        villager = kiosk_process("far-k0", token, on_hub=hub)
        await villager.wait_state("idle")
        await until("the kiosk online", lambda: _true(kiosk(), lambda k: k["online"]))
        os.kill(villager.process.pid, signal.SIGKILL)
        villager.process.wait(TIMEOUT)
        villager.process.stdin.close()  # type: ignore[union-attr]  # no goodbye: it is dead
        gone = await until("the offline alert", lambda: _true(kiosk(), lambda k: k["alerts"]))
    await redis.aclose()

    assert gone["online"] is False and [a["kind"] for a in gone["alerts"]] == ["offline"]
    assert gone["alerts"][0]["since"] == gone["last_seen"]


async def _true(answer: Awaitable[dict[str, Any]], test: Callable[[dict[str, Any]], Any]) -> Any:
    found = await answer
    return found if test(found) else None


async def test_a_failed_self_test_raises_an_alert_that_only_the_towns_supervisors_see(
    make_town, accounts, login, kiosk_ws
):
    town, other = await make_town(kiosks=1), await make_town(kiosks=1)
    kiosk_id, token = next(iter(town.kiosks.items()))
    sup = await supervisor_of(town.id, accounts, login)
    other_sup = await supervisor_of(other.id, accounts, login)
    operator = await login(town.operators[0])
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    devices = [
        {"device": "camera", "result": "failed", "detail": "cannot open /dev/video9"},
        {"device": "microphone", "result": "ok", "detail": "-40 dBFS"},
        {"device": "speaker", "result": "skipped", "detail": "headless: no speaker"},
    ]
    await kiosk.send({"type": "heartbeat", "version": "0.9", "button_stuck": True,
                      "self_test": {"ran_s_ago": 5, "devices": devices}, "ref": "h1"})  # fmt: skip
    await kiosk.send({"type": "ping", "ref": "after"})
    await kiosk.recv_type("pong")  # the heartbeat was handled before it

    listed = (await sup.get("/api/kiosks")).json()["items"]
    refused = {
        "an operator": await operator.get("/api/kiosks"),
        "another town's supervisor": await other_sup.get("/api/kiosks", params={"town": town.id}),
    }
    others = (await other_sup.get("/api/kiosks")).json()["items"]

    failing = kiosk_in(listed, kiosk_id)
    assert [a["kind"] for a in failing["alerts"]] == ["self_test_failed"]
    assert "/dev/video9" in failing["alerts"][0]["detail"] and failing["button_stuck"]
    assert failing["self_test"]["passed"] is False and failing["version"] == "0.9"
    assert {k: r.status_code for k, r in refused.items()} == {
        "an operator": 403, "another town's supervisor": 403,
    }  # fmt: skip
    assert [k["id"] for k in others] == list(other.kiosks)


async def test_a_bad_heartbeat_is_refused_like_any_bad_message(make_town, kiosk_ws):
    town = await make_town()
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "heartbeat", "version": "1", "self_test": {"ran_s_ago": -1,
                      "devices": []}, "ref": "bad"})  # fmt: skip
    error = await kiosk.recv_type("error")
    assert error["code"] == "invalid_message" and error["ref"] == "bad"


async def test_the_welcome_carries_the_towns_working_hours(make_town, kiosk_ws):
    open_all_day, office = await make_town(), await make_town(hours="08:00-17:30")
    welcomes = []
    for town in (open_all_day, office):
        kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
        welcomes.append(await kiosk.recv_type("welcome"))
    assert [w.get("hours") for w in welcomes] == [None, "08:00-17:30"]  # absent: always open


async def test_a_revoked_token_is_told_kiosk_revoked_and_the_kiosk_waits_saying_so(
    hub, make_town, accounts, kiosk_process
):
    town = await make_town(kiosks=1)
    kiosk_id, token = next(iter(town.kiosks.items()))
    await accounts.revoke_kiosk(kiosk_id)
    refusals = {}
    for name, attempt in (("revoked", token), ("wrong", f"{kiosk_id}.wrong")):
        with pytest.raises(InvalidStatus) as refused:
            bearer = {"Authorization": f"Bearer {attempt}"}
            await websockets.connect(
                hub.ws_base + "/ws/kiosk", additional_headers=bearer, open_timeout=TIMEOUT
            )
        response = refused.value.response
        refusals[name] = (response.status_code, json.loads(response.body)["error"]["code"])
    villager = kiosk_process(kiosk_id, token)
    said = await villager.wait_for(lambda s: s.get("revoked") is True)

    assert refusals == {"revoked": (401, "kiosk_revoked"), "wrong": (401, "bad_token")}
    assert said["state"] == "offline" and villager.process.poll() is None  # no restart loop
