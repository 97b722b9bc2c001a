"""Requests and the calls that follow: a shared kiosk's next villager gets a ticket of
their own; the town's callback joins the request it was made from."""

from __future__ import annotations

from tests.test_queue import press, ready_kiosk, ready_operator


async def answer_and_hang_up(console, kiosk, call_id):
    await console.send({"type": "answer", "call_id": call_id})
    await console.recv_type("answered")
    await kiosk.send({"type": "hangup", "call_id": call_id})
    await console.recv_type("call_ended")


async def test_two_villagers_at_one_kiosk_get_two_requests_and_a_callback_joins_the_first(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(wrap_up_s=0, auto_answer_s=0.2)
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await ready_kiosk(kiosk_ws, token)
    console = await ready_operator(operator_ws, town.operators[0])
    first = (await press(kiosk, "villager-a1"))["call_id"]
    await answer_and_hang_up(console, kiosk, first)
    second = (await press(kiosk, "villager-b1"))["call_id"]
    await answer_and_hang_up(console, kiosk, second)

    await console.send({"type": "callback", "kiosk_id": kiosk_id, "call_id": first})
    callback = (await console.recv_type("callback_ringing"))["call"]["id"]
    await kiosk.recv_type("incoming_call")
    await kiosk.send({"type": "callback_answer", "call_id": callback, "accept": True})
    await console.recv_type("answered")

    http = await login(town.operators[0])
    ids = {c: (await http.get(f"/api/calls/{c}")).json()["request_id"] for c in (first, second)}
    request = (await http.get(f"/api/requests/{ids[first]}")).json()
    assert ids[first] != ids[second]
    assert set(request["call_ids"]) == {first, callback}
