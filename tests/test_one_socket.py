"""One kiosk token, one socket: a second connection while the first is alive is
refused (409) and raises an alert; a kiosk whose old socket went silent (a half-open
link) gets back in, and the old socket is closed (docs/security.md). The same on a
second hub sharing the Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from server.edge.one_socket import CLOSE_REPLACED, HUB_ALIVE_MS, LIVE_S, REMOTE_LIVE_MS
from server.store import keys
from tests.support import TIMEOUT, HubProcess, WsClient, kiosk_client
from tests.test_cut_off import closed_with


@pytest.fixture(scope="module")
def hub_b(redis_url: str, artifacts: Path) -> Iterator[HubProcess]:
    """A second hub on the session's Redis."""
    process = HubProcess(redis_url, artifacts).start()
    yield process
    process.stop()


async def refused_on(hub, token: str) -> websockets.InvalidStatus:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            hub.ws_base + "/ws/kiosk",
            open_timeout=TIMEOUT,
            additional_headers={"Authorization": f"Bearer {token}"},
        )
    return refused.value


async def connect(hub, token: str) -> WsClient:
    # no keepalive: a kiosk's own pings are WebSocket frames the hub's code never sees
    client = await WsClient.connect(
        hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}, keepalive=False
    )
    await client.recv_type("welcome")
    return client


@pytest.mark.parametrize("where", ["the same hub", "another hub"])
async def test_the_same_token_twice_at_once_is_refused_and_raises_an_alert(
    where, hub, make_town, redis, ws_clients, request
):
    town = await make_town(kiosks=1, operators=0)
    token = next(iter(town.kiosks.values()))
    first = await connect(hub, token)
    ws_clients.append(first)
    second = hub if where == "the same hub" else request.getfixturevalue("hub_b")

    refused = await refused_on(second, token)
    await first.send({"type": "ping", "ref": "still-here"})
    pong = await first.recv_type("pong")
    alerts = await redis.xrange(keys.security_alerts(town.id))

    body = json.loads(refused.response.body)
    assert refused.response.status_code == 409
    assert body["error"]["code"] == "kiosk_already_connected" and pong["ref"] == "still-here"
    assert [json.loads(a["alert"])["kind"] for _, a in alerts] == ["kiosk_already_connected"]
    assert token not in str(alerts)


async def test_a_kiosk_whose_old_socket_went_silent_gets_back_in(hub, make_town, ws_clients):
    town = await make_town(kiosks=1, operators=0)
    token = next(iter(town.kiosks.values()))
    old = await connect(hub, token)  # its link goes half-open: it never speaks again
    ws_clients.append(old)
    await asyncio.sleep(LIVE_S + 0.5)  # the rule's own window, not a guess

    again = await connect(hub, token)
    ws_clients.append(again)
    old_code = await closed_with(old)
    await again.send({"type": "ping", "ref": "back"})
    pong = await again.recv_type("pong")

    assert old_code == CLOSE_REPLACED and pong["ref"] == "back"


async def test_a_kiosk_silent_on_one_hub_gets_back_in_on_another(hub, hub_b, make_town, ws_clients):
    town = await make_town(kiosks=1, operators=0)
    token = next(iter(town.kiosks.values()))
    old = await connect(hub, token)  # half-open from here on: it never speaks again
    ws_clients.append(old)
    await asyncio.sleep(REMOTE_LIVE_MS / 1000 + 0.5)  # the rule's window across hubs

    again = await connect(hub_b, token)
    ws_clients.append(again)
    old_code = await closed_with(old)  # closed by its own hub, told over the bus
    await again.send({"type": "ping", "ref": "back"})
    pong = await again.recv_type("pong")

    assert old_code == CLOSE_REPLACED and pong["ref"] == "back"


async def test_a_kiosk_on_a_killed_hub_gets_in_on_another_once_that_hub_is_gone(
    hub_b, make_town, redis_url, artifacts, ws_clients
):
    """Its socket there spoke just now, but its hub no longer runs: held out only until
    that hub's alive mark lapses, as the kiosk retries."""
    town = await make_town(kiosks=1, operators=0)
    token = next(iter(town.kiosks.values()))
    doomed = HubProcess(redis_url, artifacts).start()
    try:
        old = await connect(doomed, token)
        ws_clients.append(old)
        await old.send({"type": "ping", "ref": "spoke"})
        await old.recv_type("pong")
    finally:
        doomed.kill()
    started = time.monotonic()

    again = await kiosk_client(hub_b, token)  # retries a 409, as a kiosk does
    took = time.monotonic() - started
    ws_clients.append(again)
    welcome = await again.recv_type("welcome")

    assert welcome["kiosk"]["town_id"] == town.id
    assert took < HUB_ALIVE_MS / 1000 + 2  # not the spoke window, not the lease
