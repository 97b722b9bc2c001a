"""Sessions end: idle ones after ``YIJIAN_SESSION_IDLE_S`` without use (a request or
an open console renews them), every one ``YIJIAN_SESSION_TTL_S`` after its login, and
a login always makes a new token and ends the one the browser held."""

from __future__ import annotations

import asyncio
import time

import httpx

from server.accounts.accounts import session_hash
from server.clock import now_ms
from server.store import keys
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, WsClient
from tests.test_cut_off import REVOKED, closed_with

IDLE_S = 30 * 60  # the hub's default


def session_key(http: httpx.AsyncClient) -> str:
    return keys.session(session_hash(http.cookies["yijian_session"]))


async def open_console(hub, http: httpx.AsyncClient) -> WsClient:
    cookie = {"Cookie": f"yijian_session={http.cookies['yijian_session']}"}
    console = await WsClient.connect(hub.ws_base + "/ws/operator", cookie)
    await console.recv_type("welcome")
    return console


async def test_a_request_renews_an_idle_session_and_an_unused_one_ends(make_town, login, redis):
    town = await make_town(kiosks=0)
    http = await login(town.operators[0])
    key = session_key(http)

    await redis.expire(key, 5)  # as if it had been idle for nearly the whole limit
    used = await http.get("/api/me")
    renewed_ttl = await redis.ttl(key)
    await redis.pexpire(key, 1)  # and now idle past it
    deadline = time.monotonic() + TIMEOUT
    while await redis.exists(key) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    after_idle = await http.get("/api/me")

    assert used.status_code == 200 and renewed_ttl > IDLE_S - 60
    assert after_idle.status_code == 401


async def test_an_open_console_keeps_its_session_and_the_absolute_limit_ends_both(
    hub, make_town, login, redis
):
    town = await make_town(kiosks=0)
    http = await login(town.operators[0])
    key = session_key(http)
    console = await open_console(hub, http)
    try:
        await redis.expire(key, 5)
        deadline = time.monotonic() + TIMEOUT
        while await redis.ttl(key) <= 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        kept_ttl = await redis.ttl(key)
        await redis.hset(key, "created", now_ms() - 12 * 3600 * 1000 - 1000)  # 12 h ago
        code = await closed_with(console)
        me = await http.get("/api/me")
    finally:
        await console.close()

    assert kept_ttl > IDLE_S - 60
    assert code == REVOKED and me.status_code == 401


async def test_every_login_makes_a_new_token_and_ends_the_one_held_before(
    hub, make_town, login, redis
):
    town = await make_town(kiosks=0)
    http = await login(town.operators[0])
    first = http.cookies["yijian_session"]
    first_key = session_key(http)

    again = await http.post(
        "/api/auth/login", json={"username": town.operators[0], "password": PASSWORD}
    )
    second = http.cookies["yijian_session"]

    assert again.status_code == 200 and second != first
    assert not await redis.exists(first_key) and await redis.exists(session_key(http))
