"""What every HTTP answer carries: a strict Content-Security-Policy, HSTS and Secure
cookies behind HTTPS (believed from a trusted proxy only), and nothing of the
hub's internals in its health check."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from tests.conftest import PASSWORD
from tests.support import TIMEOUT

HTTPS = {"X-Forwarded-Proto": "https"}


async def log_in(base: str, username: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        body = {"username": username, "password": PASSWORD}
        return await client.post("/api/auth/login", json=body, headers=headers)


async def test_the_console_is_served_with_a_script_policy(hub):
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as client:
        page = await client.get("/")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )

    assert page.status_code == 200
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


async def test_https_from_a_trusted_proxy_makes_cookies_secure_and_sends_hsts(
    make_town, hub, own_hub
):
    town = await make_town(kiosks=0)
    behind_proxy = own_hub(YIJIAN_TRUSTED_PROXIES="127.0.0.1")
    async with aioredis.Redis.from_url(behind_proxy.redis_url, decode_responses=True) as redis:
        other = Accounts(redis)
        await other.add_town(town.id, "代理镇")
        await other.add_operator(town.operators[0], town.id, "operator", PASSWORD)

    trusted = await log_in(behind_proxy.base, town.operators[0], **HTTPS)
    plain = await log_in(behind_proxy.base, town.operators[0])
    claimed = await log_in(hub.base, town.operators[0], **HTTPS)  # nobody trusted there

    assert trusted.status_code == plain.status_code == claimed.status_code == 200
    assert "secure" in trusted.headers["set-cookie"].lower()
    assert trusted.headers["Strict-Transport-Security"].startswith("max-age=")
    for answer in (plain, claimed):
        assert "secure" not in answer.headers["set-cookie"].lower()
        assert "Strict-Transport-Security" not in answer.headers


async def test_the_health_check_tells_nothing_of_the_failure(own_hub):
    lonely = own_hub()
    async with httpx.AsyncClient(base_url=lonely.base, timeout=TIMEOUT) as client:
        healthy = await client.get("/healthz")
        lonely.own_redis.stop(force=True)
        down = await client.get("/healthz")

    assert healthy.status_code == 200
    assert down.status_code == 503 and down.json() == {"status": "unavailable"}
