"""The kiosk program in the queue: callbacks it answers by itself, button mashing."""

from __future__ import annotations

import asyncio
import itertools
import time

from tests.test_queue import ready_operator


async def test_a_kiosk_answers_the_towns_callback_by_itself(
    make_town, kiosk_process, operator_ws, login
):
    town = await make_town(auto_answer_s=0.5)
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = kiosk_process(kiosk_id, token)
    await kiosk.wait_state("idle")
    console = await ready_operator(operator_ws, town.operators[0], available=False)
    await console.send({"type": "callback", "kiosk_id": kiosk_id})
    call_id = (await console.recv_type("callback_ringing"))["call"]["id"]

    ringing = await kiosk.wait_for(lambda s: s.get("incoming_call") == call_id)
    answered = await console.recv_type("answered")
    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()
    assert ringing["state"] == "idle" and answered["call"]["id"] == call_id
    assert (call["status"], call["operator"]) == ("connected", town.operators[0])


async def test_a_hundred_presses_in_ten_seconds_never_make_two_live_calls(
    make_town, kiosk_process, operator_ws, login
):
    town = await make_town(kiosks=1, operators=1, max_wait_s=60)
    kiosk_id, token = next(iter(town.kiosks.items()))
    console = await ready_operator(operator_ws, town.operators[0])
    kiosk = kiosk_process(kiosk_id, token)
    await kiosk.wait_state("idle")
    started = time.monotonic()
    for _ in range(100):
        kiosk.press()
        await asyncio.sleep(0.1)
    assert time.monotonic() - started < 15
    rings: list[str] = []
    try:
        while True:
            message = await console.recv(timeout=2)
            if message["type"] == "ring":
                rings.append(message["call"]["id"])
    except TimeoutError:
        pass

    http = await login(town.operators[0])
    calls = (await http.get(f"/api/calls?kiosk={kiosk_id}&limit=200")).json()["items"]
    live = [c for c in calls if c["status"] in ("queued", "connected")]
    spans = sorted((c["created_at"], c["ended_at"] or "9") for c in calls)
    assert calls and rings and len(live) <= 1
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))  # no overlap
    assert len(rings) == len(set(rings))  # each call rang the operator once
    assert {c["status"] for c in calls} <= {"abandoned", "queued"}
