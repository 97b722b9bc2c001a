"""Production mode: `yijian serve` refuses to start without a public origin or while
the demo's published login works; `yijian demo` (what `make run` runs) needs neither.
An https public origin makes the session cookie Secure and is allowed on the sockets."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from server.accounts.accounts import Accounts
from server.accounts.demo import DEMO_OPERATOR, seed_demo
from server.accounts.staff import Staff
from server.settings import HubSettings
from server.store.redis_conn import EmbeddedRedis, connect
from tests.support import ROOT, TIMEOUT, HubProcess, free_port, yijian_cmd

ORIGIN = "https://yijian.example.gov.cn"


def serve(redis_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`yijian serve` on an address other machines could reach (127.0.0.2 stands in
    for one: not the machine's own 127.0.0.1), expected to refuse: it ends by itself."""
    base = {k: v for k, v in os.environ.items() if k != "YIJIAN_PUBLIC_ORIGIN"}
    where = ["--host", "127.0.0.2", "--port", str(free_port()), "--redis-url", redis_url]
    return subprocess.run(
        yijian_cmd("serve", *where),
        env={**base, **env}, capture_output=True, text=True, timeout=TIMEOUT * 2, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture
def fresh_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop(force=True)


async def test_serve_refuses_without_a_public_origin_and_with_the_demo_login(
    fresh_redis, tmp_path, artifacts
):
    url = fresh_redis.url
    no_origin = serve(url)
    await seed_demo(url, HubSettings(data_dir=tmp_path / "data"))
    with_demo = serve(url, YIJIAN_PUBLIC_ORIGIN=ORIGIN)
    redis = await connect(url)
    try:
        await Staff(Accounts(redis)).reset_password(DEMO_OPERATOR[0], "a password of our own")
    finally:
        await redis.aclose()
    hub = HubProcess(url, artifacts, env={"YIJIAN_PUBLIC_ORIGIN": ORIGIN}).start()
    hub.stop()

    assert no_origin.returncode != 0 and with_demo.returncode != 0
    assert no_origin.stderr.strip().splitlines()[-1].startswith("yijian: set YIJIAN_PUBLIC_ORIGIN")
    assert "demo password" in with_demo.stderr.strip().splitlines()[-1]


def test_demo_runs_without_a_public_origin(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "YIJIAN_PUBLIC_ORIGIN"}
    demo = subprocess.Popen(
        yijian_cmd("demo", "--port", str(port), "--data-dir", str(tmp_path / "data")),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline, healthy = time.monotonic() + TIMEOUT, False
        while not healthy and time.monotonic() < deadline and demo.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            time.sleep(0.05)
        demo_login = {"username": DEMO_OPERATOR[0], "password": DEMO_OPERATOR[1]}
        login = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", json=demo_login)
    finally:
        demo.terminate()
        out = demo.communicate(timeout=TIMEOUT)[0].decode()

    assert healthy and login.status_code == 200, out[-2000:]


async def test_an_https_public_origin_makes_the_cookie_secure_and_opens_the_socket(
    own_hub,
):
    hub = own_hub(YIJIAN_PUBLIC_ORIGIN=ORIGIN)
    redis = await connect(hub.own_redis.url)
    try:
        accounts = Accounts(redis)
        await accounts.add_town("prod", "正式镇")
        await accounts.add_operator("prod-op", "prod", "operator", "a long password")
    finally:
        await redis.aclose()
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        login = await http.post(
            "/api/auth/login", json={"username": "prod-op", "password": "a long password"}
        )
        cookie = login.cookies["yijian_session"]
    headers = {"Cookie": f"yijian_session={cookie}", "Origin": ORIGIN}
    async with websockets.connect(hub.ws_base + "/ws/operator", additional_headers=headers,
                                  open_timeout=TIMEOUT) as socket:  # fmt: skip
        welcome = await socket.recv()

    assert "secure" in login.headers["set-cookie"].lower()
    assert '"welcome"' in str(welcome)


async def test_serve_on_the_machines_own_address_needs_no_public_origin(fresh_redis, artifacts):
    """`yijian serve --host 127.0.0.1` is reachable from this machine only: its own
    address is its public origin, and it starts as the README's recipe says."""
    env = {k: v for k, v in os.environ.items() if k != "YIJIAN_PUBLIC_ORIGIN"}
    hub = HubProcess(fresh_redis.url, artifacts)
    hub.env = env
    hub.start()
    try:
        async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as client:
            health = await client.get("/healthz")
    finally:
        hub.stop()
    assert health.status_code == 200
