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


async def test_a_kiosk_speaking_of_its_ended_call_is_told_how_it_ended_first(
    make_town, kiosk_ws, operator_ws
):
    """The hub's own `call_ended` may still be on its way over the bus: the reply to a
    late message about the call carries the status too, before the `call_ended` error."""
    town = await make_town()
    await (await operator_ws(town.operators[0])).recv_type("welcome")  # logged in, away
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "late-word-01"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await kiosk.send({"type": "hangup", "call_id": call_id})
    await kiosk.recv_type("call_ended")
    await kiosk.send({"type": "media_state", "call_id": call_id, "state": "failed", "ref": "m1"})
    told = await kiosk.recv()
    error = await kiosk.recv()
    assert (told["type"], told["call_id"], told["status"], told["reason"]) == (
        "call_ended",
        call_id,
        "abandoned",
        "kiosk_hangup",
    )
    assert (error["type"], error["code"], error["ref"]) == ("error", "call_ended", "m1")
