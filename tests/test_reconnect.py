"""Dropped connections: a kiosk keeps its place for the grace period, an operator its call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD, event_types
from tests.support import TIMEOUT, HubProcess, WsClient

GRACE_S = 1.0


@pytest.fixture(scope="module")
def quick_hub(redis_url, artifacts) -> Iterator[HubProcess]:
    """A hub with a short grace period, on the session's Redis."""
    env = {"YIJIAN_GRACE_S": str(GRACE_S), "YIJIAN_SWEEP_INTERVAL_S": "0.1"}
    hub = HubProcess(redis_url, artifacts, env).start()
    yield hub
    hub.stop()


async def kiosk_on(hub: HubProcess, token: str) -> WsClient:
    client = await WsClient.connect(hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"})
    await client.recv_type("welcome")
    return client


async def operator_on(hub: HubProcess, username: str) -> tuple[WsClient, dict]:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        cookie = f"yijian_session={http.cookies.get('yijian_session')}"
    client = await WsClient.connect(hub.ws_base + "/ws/operator", {"Cookie": cookie})
    return client, await client.recv_type("welcome")


async def call_status(hub: HubProcess, username: str, call_id: str) -> dict:
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        return (await http.get(f"/api/calls/{call_id}")).json()  # type: ignore[no-any-return]


async def until_status(hub: HubProcess, username: str, call_id: str, status: str) -> dict:
    """The call once it has left ``status`` (polled: the hub tells nobody who is gone)."""
    async with asyncio.timeout(TIMEOUT):
        while (call := await call_status(hub, username, call_id))["status"] == status:
            await asyncio.sleep(0.1)
    return call


async def test_a_kiosk_back_within_the_grace_keeps_its_queued_call(quick_hub, make_town):
    town = await make_town(kiosks=2)
    token, witness_token = town.kiosks.values()
    operator, _ = await operator_on(quick_hub, town.operators[0])
    kiosk = await kiosk_on(quick_hub, token)
    await kiosk.send({"type": "call_request", "idempotency_key": "grace-keep-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    # A witness: a kiosk that leaves just after and never comes back. Its grace runs
    # out after the first kiosk's would have, so once the sweep has ended its call, the
    # sweep has had its chance to (wrongly) end the first one too.
    witness = await kiosk_on(quick_hub, witness_token)
    await witness.send({"type": "call_request", "idempotency_key": "grace-keep-w"})
    witness_call = (await witness.recv_type("call_queued"))["call_id"]
    await kiosk.close()
    await witness.close()
    again = await WsClient.connect(
        quick_hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}
    )
    welcome = await again.recv_type("welcome")
    witnessed = await until_status(quick_hub, town.operators[0], witness_call, "queued")
    call = await call_status(quick_hub, town.operators[0], call_id)
    await again.close()
    await operator.close()
    assert welcome["call"]["id"] == call_id and welcome["call"]["position"] == 1
    assert (witnessed["status"], witnessed["end_reason"]) == ("abandoned", "kiosk_disconnected")
    assert call["status"] == "queued"


async def test_a_kiosk_gone_past_the_grace_leaves_an_abandoned_call(quick_hub, make_town):
    town = await make_town()
    (token,) = town.kiosks.values()
    operator, _ = await operator_on(quick_hub, town.operators[0])
    kiosk = await kiosk_on(quick_hub, token)
    await kiosk.send({"type": "call_request", "idempotency_key": "grace-lose-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await kiosk.close()
    call = await until_status(quick_hub, town.operators[0], call_id, "queued")
    await operator.close()
    assert (call["status"], call["end_reason"]) == ("abandoned", "kiosk_disconnected")
    assert event_types(call)[-1] == "ended"


async def answered_call(
    hub: HubProcess, kiosk: WsClient, username: str, key: str
) -> tuple[WsClient, str]:
    """An available operator answers the kiosk's press: (the operator's socket, call id)."""
    operator, _ = await operator_on(hub, username)
    await operator.send({"type": "set_availability", "state": "available"})
    await kiosk.send({"type": "call_request", "idempotency_key": key})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await operator.recv_type("ring")
    await operator.send({"type": "answer", "call_id": call_id})
    await operator.recv_type("answered")
    return operator, call_id


async def test_an_operator_back_within_the_grace_finds_the_call(quick_hub, make_town):
    town = await make_town(kiosks=2, operators=2)
    token, witness_token = town.kiosks.values()
    kiosk = await kiosk_on(quick_hub, token)
    operator, call_id = await answered_call(quick_hub, kiosk, town.operators[0], "op-back-001")
    # A witness: another operator in another call, who leaves just after and never comes
    # back. Its grace runs out after this one's would have, so once the sweep has put its
    # call back in the queue, the sweep has had its chance to (wrongly) do so here too.
    witness_kiosk = await kiosk_on(quick_hub, witness_token)
    witness, witness_call = await answered_call(
        quick_hub, witness_kiosk, town.operators[1], "op-back-w01"
    )
    await operator.close()
    lost = await kiosk.recv_type("operator_lost")
    await witness.close()
    await witness_kiosk.recv_type("operator_lost")
    operator, welcome = await operator_on(quick_hub, town.operators[0])
    back = await kiosk.recv_type("operator_back")
    # the new console has no peer connection: it asks, and the kiosk is told to offer
    await operator.send({"type": "media_state", "call_id": call_id, "state": "failed"})
    restart = await kiosk.recv_type("restart_media")
    requeued = await witness_kiosk.recv_type("call_queued")
    await operator.send({"type": "hangup", "call_id": call_id})
    ended = await operator.recv_type("call_ended")
    await operator.close()
    await kiosk.close()
    await witness_kiosk.close()
    assert welcome["call"]["id"] == call_id
    assert (lost["call_id"], lost["grace_s"]) == (call_id, GRACE_S)
    assert back["call_id"] == restart["call_id"] == call_id
    assert requeued["call_id"] == witness_call
    assert (ended["status"], ended["reason"]) == ("completed", "operator_hangup")


async def test_an_operator_gone_past_the_grace_puts_the_call_back_at_the_head(quick_hub, make_town):
    town = await make_town(operators=2)
    (token,) = town.kiosks.values()
    kiosk = await kiosk_on(quick_hub, token)
    first, _ = await operator_on(quick_hub, town.operators[0])
    await first.send({"type": "set_availability", "state": "available"})
    await kiosk.send({"type": "call_request", "idempotency_key": "op-gone-001"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await first.recv_type("ring")
    await first.send({"type": "answer", "call_id": call_id})
    await first.recv_type("answered")
    second, _ = await operator_on(quick_hub, town.operators[1])
    await second.send({"type": "set_availability", "state": "available"})
    await first.close()

    back = await kiosk.recv_type("call_queued")
    ring = await second.recv_type("ring")
    call = await call_status(quick_hub, town.operators[1], call_id)
    await second.close()
    await kiosk.close()
    assert (back["call_id"], back["position"], ring["call"]["id"]) == (call_id, 1, call_id)
    assert call["status"] == "queued" and call["operator"] is None
    assert "requeued" in event_types(call)
    assert call["events"][event_types(call).index("requeued")]["reason"] == "operator_disconnected"
