"""The call's path through the signalling hub, with raw WebSocket clients."""

from __future__ import annotations

import websockets

from tests.conftest import event_types
from tests.test_queue import press, ready_kiosk, ready_operator


async def test_press_ring_answer_hangup_logs_every_step(make_town, kiosk_ws, operator_ws, login):
    town = await make_town()
    ((kiosk_id, token),) = town.kiosks.items()
    kiosk = await kiosk_ws(token)
    welcome = await kiosk.recv_type("welcome")
    assert welcome["kiosk"]["id"] == kiosk_id and welcome["ice_servers"] == []

    operator = await operator_ws(town.operators[0])
    assert (await operator.recv_type("welcome"))["availability"] == "away"
    await operator.send({"type": "set_availability", "state": "available"})
    assert (await operator.recv_type("availability"))["state"] == "available"

    await kiosk.send({"type": "call_request", "idempotency_key": "press-0001"})
    queued = await kiosk.recv_type("call_queued")
    assert queued["position"] == 1
    ring = await operator.recv_type("ring")
    assert ring["call"]["id"] == queued["call_id"] and ring["call"]["village"] == "石头村"

    await operator.send({"type": "answer", "call_id": queued["call_id"]})
    assert (await operator.recv_type("answered"))["call"]["id"] == queued["call_id"]
    assert (await kiosk.recv_type("call_answered"))["operator"] == town.operators[0]

    await kiosk.send({"type": "hangup", "call_id": queued["call_id"]})
    ended = await kiosk.recv_type("call_ended")
    assert (await operator.recv_type("call_ended"))["status"] == ended["status"] == "completed"

    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{queued['call_id']}")).json()
    assert call["operator"] == town.operators[0] and call["end_reason"] == "kiosk_hangup"
    assert event_types(call) == ["created", "queued", "offered", "answered", "ended"]


async def test_the_hub_declines_websocket_compression(hub, make_town):
    town = await make_town()
    token = next(iter(town.kiosks.values()))
    async with websockets.connect(
        hub.ws_base + "/ws/kiosk", additional_headers={"Authorization": f"Bearer {token}"},
        compression="deflate",
    ) as socket:  # fmt: skip
        assert socket.response.headers.get("Sec-WebSocket-Extensions") is None


async def test_a_kiosk_cannot_hang_up_another_kiosks_call(make_town, kiosk_ws, operator_ws, login):
    """A kiosk's hang-up ends only its own call (checked in the ending script itself:
    nothing is read first)."""
    town = await make_town(kiosks=2, operators=1)
    await ready_operator(operator_ws, town.operators[0])
    first, second = [await ready_kiosk(kiosk_ws, token) for token in town.kiosks.values()]
    call_id = (await press(first, "theirs-1"))["call_id"]

    await second.send({"type": "hangup", "call_id": call_id, "ref": "not-mine"})
    refused = await second.recv_type("error")
    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()

    assert (refused["code"], refused.get("ref")) == ("not_your_call", "not-mine")
    assert call["status"] == "queued"


async def test_a_ring_says_ringing_itself_and_the_state_after_it_comes_as_presence(
    make_town, kiosk_ws, operator_ws
):
    """Half the frames per ring: the ``ring`` is the console's word that its operator
    rings, with no ``presence`` frame before it; the state after the ring does come."""
    town = await make_town()
    operator = await ready_operator(operator_ws, town.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))

    call_id = (await press(kiosk, "says-ringing-1"))["call_id"]
    before_ring = await frames_until(operator, "ring")
    await kiosk.send({"type": "hangup", "call_id": call_id})
    after = await frames_until(operator, "ring_stop")

    said = [f["state"] for f in before_ring if f["type"] == "presence"]
    assert "ringing" not in said and before_ring[-1]["call"]["id"] == call_id
    assert after[-1]["call_id"] == call_id
    assert [f["state"] for f in after if f["type"] == "presence"] == ["available"]


async def frames_until(client, type_: str) -> list[dict]:
    """Every frame up to and with the first of this type."""
    frames = []
    while not frames or frames[-1]["type"] != type_:
        frames.append(await client.recv())
    return frames
