"""Faults with real processes: a hub killed mid-queue, Redis restarted under a kiosk.

Each test runs its own Redis and hubs (so killing them disturbs no other test) and
ends only the processes it started, by their PID.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.store.redis_conn import EmbeddedRedis
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, HubProcess, KioskProcess, WsClient, kiosk_client


@pytest.fixture
async def own_redis(tmp_path) -> AsyncIterator[tuple[EmbeddedRedis, Accounts]]:
    server = EmbeddedRedis(tmp_path / "data")
    server.start()
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    accounts = Accounts(client)
    await accounts.add_town("fault", "故障镇")
    # grace_s: long enough for three kiosks to come back one after another on a busy
    # machine (each handshake verifies an argon2 hash), short for the one that never does
    for name, value in (("grace_s", "4"), ("wrap_up_s", "0")):
        await Towns(client).set("fault", name, value)
    for user in ("f-op1", "f-op2"):
        await accounts.add_operator(user, "fault", "operator", PASSWORD)
    yield server, accounts
    await client.aclose()
    server.stop()


async def kiosk_socket(hub: HubProcess, token: str) -> tuple[WsClient, dict]:
    client = await kiosk_client(hub, token)
    return client, await client.recv_type("welcome")


async def console(hub: HubProcess, username: str) -> tuple[WsClient, dict]:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        cookie = f"yijian_session={http.cookies.get('yijian_session')}"
    client = await WsClient.connect(hub.ws_base + "/ws/operator", {"Cookie": cookie})
    return client, await client.recv_type("welcome")


async def test_a_killed_hub_loses_no_call_and_rings_nobody_twice(own_redis, artifacts):
    server, accounts = own_redis
    tokens = [await accounts.add_kiosk(f"f-k{i}", "fault", f"点{i}", "村") for i in range(4)]
    first = HubProcess(server.url, artifacts).start()
    try:
        op1, _ = await console(first, "f-op1")
        await op1.send({"type": "set_availability", "state": "available"})
        kiosks = [(await kiosk_socket(first, t))[0] for t in tokens]
        calls = []
        for i, kiosk in enumerate(kiosks):
            await kiosk.send({"type": "call_request", "idempotency_key": f"fault-{i:04d}"})
            calls.append((await kiosk.recv_type("call_queued"))["call_id"])
        await op1.send({"type": "answer", "call_id": calls[0]})
        await op1.recv_type("answered")
    finally:
        first.kill(signal.SIGKILL)

    second = HubProcess(server.url, artifacts).start()
    try:
        back = [await kiosk_socket(second, t) for t in tokens[:3]]  # the fourth never returns
        op1, welcome1 = await console(second, "f-op1")
        op2, _ = await console(second, "f-op2")
        await op2.send({"type": "set_availability", "state": "available"})
        ring = await op2.recv_type("ring")
        async with asyncio.timeout(TIMEOUT):  # the reaper gives the lost kiosk its grace
            while (await fetch(second, calls[3]))["status"] == "queued":
                await asyncio.sleep(0.2)
        lost = await fetch(second, calls[3])
    finally:
        second.stop()

    assert [w.get("call", {}).get("id") for _, w in back] == calls[:3], back
    assert [w["call"]["status"] for _, w in back] == ["connected", "queued", "queued"]
    assert [w["call"]["position"] for _, w in back[1:]] == [1, 2]
    assert welcome1.get("call", {}).get("id") == calls[0], welcome1
    assert ring["call"]["id"] == calls[1]  # the head, not the call already answered
    assert (lost["status"], lost["end_reason"]) == ("abandoned", "kiosk_disconnected")


async def fetch(hub: HubProcess, call_id: str) -> dict:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": "f-op2", "password": PASSWORD})
        return (await http.get(f"/api/calls/{call_id}")).json()  # type: ignore[no-any-return]


async def test_a_press_during_a_redis_restart_makes_exactly_one_call(own_redis, artifacts):
    server, accounts = own_redis
    token = await accounts.add_kiosk("f-redis", "fault", "点", "村")
    hub = HubProcess(server.url, artifacts).start()
    kiosk = KioskProcess(hub, "f-redis", token, artifacts)
    try:
        op, _ = await console(hub, "f-op1")  # logged in, so the call waits
        await kiosk.wait_state("idle")
        server.stop(force=True)  # SHUTDOWN, though the hub uses it: the AOF is flushed
        logged = kiosk.log_path.stat().st_size
        kiosk.press()
        await until_logged(kiosk.log_path, logged, "hub error unavailable")  # met the outage
        server.start()
        queued = await kiosk.wait_state("queued", timeout=TIMEOUT * 2)
        async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
            await http.post("/api/auth/login", json={"username": "f-op1", "password": PASSWORD})
            listed = (await http.get("/api/calls?kiosk=f-redis")).json()["items"]
        await op.close()
    finally:
        kiosk.close()
        hub.stop()
    assert [c["id"] for c in listed] == [queued["call_id"]]


async def test_a_message_met_by_a_redis_outage_is_refused_and_the_socket_stays(
    own_redis, artifacts
):
    """Redis down: the kiosk's call request gets `unavailable` with its ref, the socket
    stays open, and the same request sent again once Redis is back makes one call."""
    server, accounts = own_redis
    token = await accounts.add_kiosk("f-outage", "fault", "点", "村")
    hub = HubProcess(server.url, artifacts).start()
    try:
        op, _ = await console(hub, "f-op1")  # logged in, so the call waits
        kiosk, _ = await kiosk_socket(hub, token)
        server.stop(force=True)
        request = {"type": "call_request", "idempotency_key": "outage-0001", "ref": "press-1"}
        await kiosk.send(request)
        refused = await kiosk.recv_type("error", timeout=TIMEOUT * 2)
        await kiosk.send({"type": "ping", "ref": "still-open"})
        pong = await kiosk.recv_type("pong")
        server.start()
        async with asyncio.timeout(TIMEOUT * 2):  # until Redis has loaded its file
            while True:
                await kiosk.send(request)
                reply = await kiosk.recv()
                if reply["type"] == "call_queued":
                    break
                assert (reply["type"], reply.get("code")) == ("error", "unavailable"), reply
                await asyncio.sleep(0.5)
        listed = await list_calls(hub, "f-outage")
        await op.close()
        await kiosk.close()
    finally:
        hub.stop()
    assert (refused["code"], refused["ref"]) == ("unavailable", "press-1")
    assert pong["ref"] == "still-open"
    assert [c["id"] for c in listed] == [reply["call_id"]]


async def until_logged(path: Path, offset: int, text: str) -> None:
    """Until ``text`` shows in the log at ``path`` past ``offset`` (what a process wrote
    since then)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            written = (await asyncio.to_thread(path.read_bytes))[offset:]
            if text in written.decode(errors="replace"):
                return
            await asyncio.sleep(0.1)


async def list_calls(hub: HubProcess, kiosk_id: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": "f-op1", "password": PASSWORD})
        return (await http.get(f"/api/calls?kiosk={kiosk_id}")).json()["items"]  # type: ignore[no-any-return]
