"""Limits that keep one client from tying up the hub: failed logins per account and
per address, password checks in flight, messages per socket, calls per kiosk."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from server.accounts.accounts import Accounts
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, WsClient


async def log_in(base: str, username: str, password: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        body = {"username": username, "password": password}
        return await client.post("/api/auth/login", json=body, headers=headers)


async def test_failed_logins_for_one_account_are_throttled_without_telling_it_exists(
    make_town, hub
):
    town = await make_town(kiosks=0)
    real, unknown = town.operators[0], f"{town.id}-nobody"
    for name in (real, unknown):
        for _ in range(5):
            assert (await log_in(hub.base, name, "wrong password")).status_code == 401

    right_password = await log_in(hub.base, real, PASSWORD)
    no_account = await log_in(hub.base, unknown, PASSWORD)

    assert right_password.status_code == no_account.status_code == 429
    same_words = [
        re.sub(r"\d+", "N", r.json()["error"]["message"]) for r in (right_password, no_account)
    ]
    assert same_words[0] == same_words[1]
    assert right_password.json()["error"]["code"] == "too_many_logins"
    assert 0 < int(right_password.headers["Retry-After"]) <= 300


async def test_failed_logins_from_one_address_are_throttled_whatever_it_claims(own_hub):
    hub = own_hub(YIJIAN_LOGIN_FAILURES_PER_ADDRESS="3")
    async with aioredis.Redis.from_url(hub.redis_url, decode_responses=True) as redis:
        accounts = Accounts(redis)
        await accounts.add_town("walled", "围镇")
        await accounts.add_operator("walled-op", "walled", "operator", PASSWORD)
    for i in range(3):
        await log_in(hub.base, f"guess-{i}", "wrong password")

    # X-Forwarded-For is believed only from a configured proxy, not from anyone
    spoofed = await log_in(hub.base, "walled-op", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})

    assert spoofed.status_code == 429
    assert spoofed.json()["error"]["code"] == "too_many_logins"


async def test_password_checks_in_flight_are_bounded(own_hub):
    """A burst of logins (each an argon2 check) is answered at once with 503 and
    Retry-After beyond what the hub's threads can take, not queued for minutes."""
    hub = own_hub()
    names = [f"burst-{i}" for i in range(40)]  # unknown accounts: each one fails once
    answers = await asyncio.gather(*(log_in(hub.base, n, "wrong password") for n in names))
    codes = [a.status_code for a in answers]
    busy = [a for a in answers if a.status_code == 503]

    assert set(codes) <= {401, 503} and busy
    assert all(a.headers.get("Retry-After") == "1" for a in busy)
    assert all(a.json()["error"]["code"] == "busy" for a in busy)


async def test_a_socket_that_floods_is_closed_and_others_carry_on(own_hub):
    hub = own_hub()  # the default rate: a burst of 60, then 20 a second
    async with aioredis.Redis.from_url(hub.redis_url, decode_responses=True) as redis:
        accounts = Accounts(redis)
        await accounts.add_town("flood", "洪镇")
        tokens = [await accounts.add_kiosk(f"flood-k{i}", "flood", "点", "村") for i in range(2)]
    bearer = [{"Authorization": f"Bearer {token}"} for token in tokens]
    flooder, calm = [await WsClient.connect(hub.ws_base + "/ws/kiosk", h) for h in bearer]
    for client in (flooder, calm):
        await client.recv_type("welcome")

    with pytest.raises(websockets.ConnectionClosed) as closed:
        for i in range(500):
            await flooder.send({"type": "ping", "ref": f"f{i}"})
        async with asyncio.timeout(TIMEOUT):
            while True:
                await flooder.socket.recv()
    await calm.send({"type": "ping", "ref": "calm"})
    pong = await calm.recv_type("pong")
    await calm.close()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    assert pong["ref"] == "calm"


async def test_a_kiosk_places_only_so_many_calls_a_minute(make_town, kiosk_ws, operator_ws):
    town = await make_town(kiosk_calls_per_min=3)
    console = await operator_ws(town.operators[0])  # logged in, so calls queue
    await console.recv_type("welcome")
    kiosk: WsClient = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")

    placed = []
    for i in range(3):
        await kiosk.send({"type": "call_request", "idempotency_key": f"limit-{i:04d}"})
        placed.append((await kiosk.recv_type("call_queued"))["call_id"])
        await kiosk.send({"type": "hangup", "call_id": placed[-1]})
        await kiosk.recv_type("call_ended")
    await kiosk.send({"type": "call_request", "idempotency_key": "limit-0003", "ref": "4th"})
    refused = await kiosk.recv_type("error")

    assert len(set(placed)) == 3
    assert (refused["code"], refused["ref"]) == ("too_many_calls", "4th")
