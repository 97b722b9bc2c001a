"""A kiosk that gives up while queued leaves an ``abandoned`` call with its events."""

from __future__ import annotations

from tests.conftest import event_types


async def test_hangup_while_queued_is_abandoned(make_town, kiosk_ws, operator_ws, login):
    town = await make_town()
    (token,) = town.kiosks.values()
    await (await operator_ws(town.operators[0])).recv_type("welcome")  # logged in, away
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "give-up-001"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await kiosk.send({"type": "hangup", "call_id": call_id})
    ended = await kiosk.recv_type("call_ended")

    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()
    assert ended["status"] == call["status"] == "abandoned"
    assert call["answered_at"] is None and call["ended_at"] is not None
    assert event_types(call) == ["created", "queued", "ended"]
    assert call["events"][-1]["reason"] == "kiosk_hangup"


async def test_a_second_press_with_the_same_key_gives_the_same_call(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town()
    await (await operator_ws(town.operators[0])).recv_type("welcome")
    (token,) = town.kiosks.values()
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "same-key-01"})
    first = await kiosk.recv_type("call_queued")
    await kiosk.send({"type": "call_request", "idempotency_key": "same-key-01"})
    second = await kiosk.recv_type("call_queued")
    assert first["call_id"] == second["call_id"]
