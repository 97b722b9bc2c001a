"""Two operators answering the same call at the same instant: exactly one wins, and the
call's record names the one the hub told."""

from __future__ import annotations

import asyncio

ROUNDS = 50


async def test_two_operators_answering_at_once_exactly_one_wins_each_round(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(kiosks=1, operators=2, wrap_up_s=0, kiosk_calls_per_min=120)
    (token,) = town.kiosks.values()
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    operators = [await operator_ws(name) for name in town.operators]
    for op in operators:
        await op.recv_type("welcome")
        await op.send({"type": "set_availability", "state": "available"})
        await op.recv_type("availability")

    winners: dict[str, str] = {}  # call id -> the operator told `answered`
    for round_ in range(ROUNDS):
        await kiosk.send({"type": "call_request", "idempotency_key": f"race-{round_:04d}"})
        call_id = (await kiosk.recv_type("call_queued"))["call_id"]
        for op in operators:
            assert (await op.recv_type("ring"))["call"]["id"] == call_id
        # Who sends first alternates, so that each side gets to win the race.
        order = operators if round_ % 2 == 0 else operators[::-1]
        await asyncio.gather(*(op.send({"type": "answer", "call_id": call_id}) for op in order))
        replies = [await first_of(op, "answered", "error") for op in operators]
        outcomes = sorted(r["type"] if r["type"] == "answered" else r["code"] for r in replies)
        assert outcomes == ["answered", "call_taken"], outcomes
        winner = next(i for i, r in enumerate(replies) if r["type"] == "answered")
        winners[call_id] = town.operators[winner]
        await kiosk.recv_type("call_answered")
        await kiosk.send({"type": "hangup", "call_id": call_id})
        await kiosk.recv_type("call_ended")
        await operators[winner].recv_type("call_ended")

    http = await login(town.operators[0])
    listed = (await http.get(f"/api/calls?town={town.id}&limit={ROUNDS}")).json()["items"]
    # Each call names the operator the hub told `answered`, and both operators won some.
    assert {c["id"]: c["operator"] for c in listed} == winners
    assert set(winners.values()) == set(town.operators), winners


async def first_of(client, *types: str) -> dict:
    while True:
        message = await client.recv()
        if message["type"] in types:
            return message
