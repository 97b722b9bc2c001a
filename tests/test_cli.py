"""The ``yijian`` command as an installer and an administrator use it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from tests.support import ROOT, TIMEOUT, HubProcess, free_port, yijian_cmd


def yijian(*args: str, stdin: str = "", timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        yijian_cmd(*args), input=stdin, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_admin_adds_a_town_kiosk_and_operator_on_a_data_dir(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    assert yijian("admin", *data, "town", "add", "shatang", "--name", "沙塘镇").returncode == 0
    kiosk = yijian("admin", *data, "kiosk", "add", "sk1", "--town", "shatang", "--name", "一号",
                   "--village", "东村")  # fmt: skip
    assert kiosk.returncode == 0, kiosk.stderr
    token = kiosk.stdout.strip().splitlines()[-1]
    assert token.startswith("sk1.") and len(token) > 40
    op = yijian("admin", *data, "operator", "add", "wang", "--town", "shatang", "--role",
                "supervisor", stdin="long enough secret\n")  # fmt: skip
    assert op.returncode == 0, op.stderr
    missing = yijian("admin", *data, "kiosk", "add", "sk2", "--town", "nowhere", "--name", "x")
    assert missing.returncode == 1 and "no town 'nowhere'" in missing.stderr
    assert not (tmp_path / "data" / "redis.sock").exists()  # the command stopped its Redis


def test_admin_works_beside_a_running_hub_on_the_same_redis(hub, redis_url):
    added = yijian("admin", "--redis-url", redis_url, "town", "add", "beside", "--name", "旁边镇")
    assert added.returncode == 0
    op = yijian("admin", "--redis-url", redis_url, "operator", "add", "beside-op", "--town",
                "beside", "--role", "operator", stdin="another long secret\n")  # fmt: skip
    assert op.returncode == 0
    response = httpx.post(
        hub.base + "/api/auth/login",
        json={"username": "beside-op", "password": "another long secret"},
    )
    assert response.status_code == 200 and response.json()["town_name"] == "旁边镇"


def test_serve_on_a_taken_port_ends_with_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = yijian("serve", "--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("yijian: cannot listen on")


def test_serve_with_an_unreachable_redis_ends_with_one_line():
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = yijian("serve", "--port", str(free_port()), "--redis-url", url, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(f"yijian: Redis at {url}")


def test_health_and_openapi(hub: HubProcess):
    assert httpx.get(hub.base + "/healthz").json()["status"] == "ok"
    paths = httpx.get(hub.base + "/openapi.json").json()["paths"]
    assert {"/api/auth/login", "/api/calls", "/api/calls/{call_id}"} <= set(paths)


@pytest.mark.parametrize("command", [["serve"], ["admin", "town", "add", "x", "--name", "y"]])
def test_data_dir_and_redis_url_are_exclusive(command):
    result = yijian(*command[:1], "--data-dir", "d", "--redis-url", "redis://x", *command[1:])
    assert result.returncode == 2 and "not allowed with" in result.stderr


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_stopping_the_hub_stops_its_embedded_redis_and_keeps_the_data(tmp_path, how):
    data = tmp_path / "data"
    assert (
        yijian("admin", "--data-dir", str(data), "town", "add", "keep", "--name", "留").returncode
        == 0
    )
    port = free_port()
    hub = subprocess.Popen(
        yijian_cmd("serve", "--port", str(port), "--data-dir", str(data)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "YIJIAN_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        assert (data / "redis.sock").exists()
        hub.send_signal(how)
        assert hub.wait(timeout=TIMEOUT) == 0
    finally:
        if hub.poll() is None:
            hub.kill()
        hub.wait()
        assert hub.stderr is not None
        hub.stderr.close()
    assert not (data / "redis.sock").exists()
    again = yijian("admin", "--data-dir", str(data), "town", "add", "keep", "--name", "留")
    assert again.returncode == 0 and not (data / "redis.sock").exists()
    assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()
