"""Fixtures: one real Redis and one real hub per test session, factories for towns,
kiosks, operators and clients that clean up after themselves."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.store.redis_conn import EmbeddedRedis
from tests.support import TIMEOUT, HubProcess, KioskProcess, WsClient

# Chromium and logged-in consoles for the browser tests (tests/browser.py).
pytest_plugins = ["tests.browser"]

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server for this session, on a unix socket in a temp folder."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def hub(redis_url: str, artifacts: Path) -> Iterator[HubProcess]:
    # Test clients are machines that place and answer fifty calls a second; the default
    # message rate (a person's) is checked on a hub of its own (test_throttle.py).
    machine_rate = {"YIJIAN_WS_MESSAGES_PER_S": "1000", "YIJIAN_WS_MESSAGE_BURST": "2000"}
    process = HubProcess(redis_url, artifacts, env=machine_rate).start()
    yield process
    process.stop()


@pytest.fixture
def own_hub(tmp_path: Path, artifacts: Path) -> Iterator[Callable[..., HubProcess]]:
    """A hub on a Redis of its own, so that its address counters (every test logs in
    from 127.0.0.1) touch no other test."""
    started: list[tuple[EmbeddedRedis, HubProcess]] = []

    def start(**env: str) -> HubProcess:
        redis = EmbeddedRedis(tmp_path / f"redis{len(started)}")
        redis.start()
        hub = HubProcess(redis.url, artifacts, env=env).start()
        hub.own_redis = redis
        started.append((redis, hub))
        return hub

    yield start
    for redis, hub in started:
        hub.stop()
        redis.stop(force=True)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def accounts(redis: aioredis.Redis) -> Accounts:
    return Accounts(redis)


@dataclass
class Town:
    id: str
    kiosks: dict[str, str]  # kiosk id -> token
    operators: list[str]


@pytest.fixture
def make_town(accounts: Accounts) -> Callable[..., Awaitable[Town]]:
    """A fresh town with kiosks and operators, unique to the test."""

    async def make(kiosks: int = 1, operators: int = 1, **settings: object) -> Town:
        town_id = "t" + secrets.token_hex(4)
        await accounts.add_town(town_id, f"测试镇 {town_id}")
        for name, value in settings.items():
            await Towns(accounts.redis).set(town_id, name, str(value), admin=True)
        town = Town(town_id, {}, [])
        for i in range(kiosks):
            kiosk_id = f"{town_id}-k{i}"
            town.kiosks[kiosk_id] = await accounts.add_kiosk(
                kiosk_id, town_id, f"一号服务点 {i}", "石头村"
            )
        for i in range(operators):
            username = f"{town_id}-op{i}"
            await accounts.add_operator(username, town_id, "operator", PASSWORD)
            town.operators.append(username)
        return town

    return make


@pytest.fixture
async def login(hub: HubProcess) -> AsyncIterator[Callable[[str], Awaitable[httpx.AsyncClient]]]:
    """An HTTP client logged in as the given operator."""
    clients: list[httpx.AsyncClient] = []

    async def make(username: str, password: str = PASSWORD) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT)
        clients.append(client)
        response = await client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def ws_clients() -> AsyncIterator[list[WsClient]]:
    clients: list[WsClient] = []
    yield clients
    for client in clients:
        await client.close()


@pytest.fixture
def kiosk_ws(hub: HubProcess, ws_clients: list[WsClient]) -> Callable[[str], Awaitable[WsClient]]:
    async def connect(token: str) -> WsClient:
        client = await WsClient.connect(
            hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}
        )
        ws_clients.append(client)
        return client

    return connect


@pytest.fixture
def operator_ws(
    hub: HubProcess,
    ws_clients: list[WsClient],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
) -> Callable[[str], Awaitable[WsClient]]:
    async def connect(username: str) -> WsClient:
        http = await login(username)
        cookie = http.cookies.get("yijian_session")
        client = await WsClient.connect(
            hub.ws_base + "/ws/operator", {"Cookie": f"yijian_session={cookie}"}
        )
        ws_clients.append(client)
        return client

    return connect


@pytest.fixture
def kiosk_process(hub: HubProcess, artifacts: Path) -> Iterator[Callable[..., KioskProcess]]:
    started: list[KioskProcess] = []

    def start(
        kiosk_id: str, token: str, on_hub: HubProcess | None = None, server: str | None = None
    ) -> KioskProcess:
        process = KioskProcess(on_hub or hub, kiosk_id, token, artifacts, server)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def event_types(call: dict[str, Any]) -> list[str]:
    return [e["type"] for e in call["events"]]
