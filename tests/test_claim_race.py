"""Two operators answering the same call at the same instant: exactly one wins."""

from __future__ import annotations

import asyncio

ROUNDS = 50


async def test_two_operators_answering_at_once_exactly_one_wins_each_round(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town(kiosks=1, operators=2, wrap_up_s=0)
    (token,) = town.kiosks.values()
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    operators = [await operator_ws(name) for name in town.operators]
    for op in operators:
        await op.recv_type("welcome")
        await op.send({"type": "set_availability", "state": "available"})
        await op.recv_type("availability")

    winners = []
    for round_ in range(ROUNDS):
        await kiosk.send({"type": "call_request", "idempotency_key": f"race-{round_:04d}"})
        call_id = (await kiosk.recv_type("call_queued"))["call_id"]
        for op in operators:
            assert (await op.recv_type("ring"))["call"]["id"] == call_id
        await asyncio.gather(*(op.send({"type": "answer", "call_id": call_id}) for op in operators))
        replies = [await first_of(op, "answered", "error") for op in operators]
        outcomes = sorted(r["type"] if r["type"] == "answered" else r["code"] for r in replies)
        assert outcomes == ["answered", "call_taken"], outcomes
        winners.append(next(i for i, r in enumerate(replies) if r["type"] == "answered"))
        await kiosk.recv_type("call_answered")
        await kiosk.send({"type": "hangup", "call_id": call_id})
        await kiosk.recv_type("call_ended")
        await operators[winners[-1]].recv_type("call_ended")

    assert len(winners) == ROUNDS


async def first_of(client, *types: str) -> dict:
    while True:
        message = await client.recv()
        if message["type"] in types:
            return message
