"""A hub stopped or killed and started again on the same data finds every call and its log."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.store.redis_conn import EmbeddedRedis
from tests.conftest import PASSWORD, event_types
from tests.support import TIMEOUT, HubProcess, WsClient


async def place_calls(hub: HubProcess, token: str, operator: str) -> dict[str, str]:
    """One completed, one abandoned and one still queued call; returns id -> status."""
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": operator, "password": PASSWORD})
        cookie = f"yijian_session={http.cookies.get('yijian_session')}"
    kiosk = await WsClient.connect(hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"})
    op = await WsClient.connect(hub.ws_base + "/ws/operator", {"Cookie": cookie})
    await kiosk.recv_type("welcome")
    await op.recv_type("welcome")
    await op.send({"type": "set_availability", "state": "available"})
    calls = {}
    for key, outcome in (("restart-a1", "completed"), ("restart-b1", "abandoned")):
        await kiosk.send({"type": "call_request", "idempotency_key": key})
        call_id = (await kiosk.recv_type("call_queued"))["call_id"]
        if outcome == "completed":
            await op.recv_type("ring")
            await op.send({"type": "answer", "call_id": call_id})
            await op.recv_type("answered")
        await kiosk.send({"type": "hangup", "call_id": call_id})
        await kiosk.recv_type("call_ended")
        calls[call_id] = outcome
    await kiosk.send({"type": "call_request", "idempotency_key": "restart-c1"})
    calls[(await kiosk.recv_type("call_queued"))["call_id"]] = "queued"
    await kiosk.close()
    await op.close()
    return calls


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_calls_and_their_logs_survive_a_hub_restart(tmp_path, artifacts, how):
    with EmbeddedRedis(tmp_path / "data") as redis_server:
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        accounts = Accounts(client)
        await accounts.add_town("restart", "重启镇")
        token = await accounts.add_kiosk("restart-k", "restart", "服务点", "村")
        await accounts.add_operator("restart-op", "restart", "operator", PASSWORD)

        first = HubProcess(redis_server.url, artifacts).start()
        try:
            calls = await place_calls(first, token, "restart-op")
            before = await settled_calls(first, calls)
        finally:
            first.kill(how)

        second = HubProcess(redis_server.url, artifacts).start()
        try:
            after = await fetch_calls(second, calls)
            kiosk = await WsClient.connect(
                second.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}
            )
            welcome = await kiosk.recv_type("welcome")
            await kiosk.close()
        finally:
            second.stop()
        await client.aclose()

    assert {c["id"]: c["status"] for c in after.values()} == calls
    assert after == before
    queued_id = next(i for i, s in calls.items() if s == "queued")
    assert welcome["call"]["id"] == queued_id and welcome["call"]["status"] == "queued"


async def settled_calls(hub: HubProcess, calls: dict[str, str]) -> dict[str, dict]:
    """The calls once the hub has finished writing (the consoles' and kiosk's goodbyes
    may still add an event just after the last reply)."""
    last = await fetch_calls(hub, calls)
    for _ in range(50):  # bounded: about ten seconds
        await asyncio.sleep(0.2)
        now = await fetch_calls(hub, calls)
        if now == last:
            return now
        last = now
    raise AssertionError("the calls kept changing")


async def fetch_calls(hub: HubProcess, calls: dict[str, str]) -> dict[str, dict]:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": "restart-op", "password": PASSWORD})
        found = {}
        for call_id in calls:
            call = (await http.get(f"/api/calls/{call_id}")).json()
            assert event_types(call)[:2] == ["created", "queued"]
            found[call_id] = call
        listed = (await http.get("/api/calls")).json()["items"]
        assert [c["id"] for c in listed] == sorted(calls, reverse=True)
    return found


async def test_calls_survive_a_redis_restart_with_the_append_only_file(tmp_path):
    data = tmp_path / "data"
    with EmbeddedRedis(data) as redis_server:
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        await client.hset("yj:call:probe", mapping={"status": "queued"})
        await client.xadd("yj:call:probe:events", {"type": "queued", "at": 1})
        await client.aclose()
    with EmbeddedRedis(data) as redis_server:
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        status = await client.hget("yj:call:probe", "status")
        events = await client.xlen("yj:call:probe:events")
        await client.aclose()
    assert (status, events) == ("queued", 1)
