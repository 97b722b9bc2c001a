"""Two hubs on one Redis serve one town at once: a kiosk on one hub, its operators on
either; rings, answers, media negotiation and hang-ups cross between them, and a hub
killed under a queued call leaves the others to ring it and end it, once.

Hubs A and B are real ``yijian serve`` processes on the session's Redis, started for
this module and stopped by their PID. (The session's own hub, when another test has
started it, is a third one on the same Redis: all the better for "exactly once".)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page

from server.store import keys
from tests.browser import press_and_answer, take_calls
from tests.conftest import PASSWORD, Town, event_types
from tests.support import TIMEOUT, HubProcess, KioskProcess, WsClient, fake_sdp, kiosk_client
from tests.test_e2e_call import until_media_grows

ROUNDS = 20
# A candidate as a browser trickles it (TEST-NET address: it is relayed, never used).
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


@pytest.fixture(scope="module")
def hubs(redis_url: str, artifacts: Path) -> Iterator[tuple[HubProcess, HubProcess]]:
    """Hubs A and B, both on the session's Redis."""
    a, b = HubProcess(redis_url, artifacts), HubProcess(redis_url, artifacts)
    try:
        yield a.start(), b.start()
    finally:
        a.stop()
        b.stop()


class Parties:
    """Raw signalling clients, each on the hub the test chooses; closed at its end."""

    def __init__(self, clients: list[WsClient]) -> None:
        self.clients = clients

    async def kiosk(self, hub: HubProcess, token: str) -> tuple[WsClient, dict[str, Any]]:
        client = await kiosk_client(hub, token)
        self.clients.append(client)
        return client, await client.recv_type("welcome")

    async def operator(self, hub: HubProcess, username: str, available: bool = True) -> WsClient:
        async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
            response = await http.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            cookie = f"yijian_session={http.cookies.get('yijian_session')}"
        client = await WsClient.connect(hub.ws_base + "/ws/operator", {"Cookie": cookie})
        self.clients.append(client)
        await client.recv_type("welcome")
        if available:
            await client.send({"type": "set_availability", "state": "available"})
            await client.recv_type("availability")
        return client


@pytest.fixture
def parties(ws_clients: list[WsClient]) -> Parties:
    return Parties(ws_clients)


async def press(kiosk: WsClient, key: str) -> str:
    await kiosk.send({"type": "call_request", "idempotency_key": key})
    return str((await kiosk.recv_type("call_queued"))["call_id"])


async def first_of(client: WsClient, *types: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        message = await client.recv(max(deadline - time.monotonic(), 0.01))
        if message["type"] in types:
            return message


async def calls_on(hub: HubProcess, username: str, *call_ids: str) -> list[dict[str, Any]]:
    """The calls with their events, through the REST API of the given hub."""
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        found = []
        for call_id in call_ids:
            response = await http.get(f"/api/calls/{call_id}")
            assert response.status_code == 200, response.text
            found.append(response.json())
        return found


async def call_on(hub: HubProcess, username: str, call_id: str) -> dict[str, Any]:
    return (await calls_on(hub, username, call_id))[0]


async def hang_up(
    hangs_up: str, kiosk: WsClient, console: WsClient, call_id: str
) -> list[dict[str, Any]]:
    """Hang up from the kiosk, the console or both at once; what each side hears."""
    message = {"type": "hangup", "call_id": call_id}
    senders = {"kiosk": [kiosk], "operator": [console], "both": [kiosk, console]}[hangs_up]
    await asyncio.gather(*(side.send(message) for side in senders))
    return [await kiosk.recv_type("call_ended"), await console.recv_type("call_ended")]


@pytest.mark.parametrize("hangs_up", ["kiosk", "operator", "both"])
async def test_a_kiosk_on_one_hub_is_answered_from_the_other_and_talks_across(
    hubs: tuple[HubProcess, HubProcess],
    make_town: Callable[..., Awaitable[Town]],
    parties: Parties,
    hangs_up: str,
) -> None:
    a, b = hubs
    town = await make_town(operators=2, wrap_up_s=0)
    (token,) = town.kiosks.values()
    near = await parties.operator(a, town.operators[0])
    far = await parties.operator(b, town.operators[1])
    kiosk, _ = await parties.kiosk(a, token)
    call_id = await press(kiosk, f"two-hubs-{hangs_up}")
    for console in (near, far):
        assert (await console.recv_type("ring"))["call"]["id"] == call_id

    await far.send({"type": "answer", "call_id": call_id})
    assert (await far.recv_type("answered"))["call"]["id"] == call_id
    stop = await near.recv_type("ring_stop")  # hub A's console, told by hub B's answer
    answered = await kiosk.recv_type("call_answered")

    offer = fake_sdp("offer", "the kiosk's offer")
    answer = fake_sdp("answer", "the console's answer")
    await kiosk.send({"type": "sdp", "call_id": call_id, "description": offer})
    got_offer = await far.recv_type("sdp")
    await far.send({"type": "sdp", "call_id": call_id, "description": answer})
    await far.send({"type": "ice", "call_id": call_id, "candidate": CANDIDATE})
    got_answer = await kiosk.recv_type("sdp")
    got_candidate = await kiosk.recv_type("ice")
    await kiosk.send({"type": "ice", "call_id": call_id, "candidate": None})
    got_end_of_candidates = await far.recv_type("ice")

    ended = await hang_up(hangs_up, kiosk, far, call_id)
    await kiosk.send({"type": "hangup", "call_id": call_id, "ref": "late"})
    late = await kiosk.recv_type("error")
    while late.get("ref") != "late":  # "both": the kiosk's own hang-up may have lost the race
        late = await kiosk.recv_type("error")
    on_a = await call_on(a, town.operators[0], call_id)
    on_b = await call_on(b, town.operators[1], call_id)

    assert (stop["call_id"], stop["reason"]) == (call_id, "taken")
    assert (answered["call_id"], answered["operator"]) == (call_id, town.operators[1])
    assert (got_offer["description"], got_answer["description"]) == (offer, answer)
    assert got_candidate["candidate"]["candidate"] == CANDIDATE["candidate"]
    assert got_end_of_candidates["candidate"] is None
    assert [(e["call_id"], e["status"]) for e in ended] == [(call_id, "completed")] * 2
    assert (late["code"], late["ref"]) == ("call_ended", "late")
    assert on_a == on_b
    assert on_b["status"] == "completed"
    assert event_types(on_b).count("ended") == 1
    assert [e["operator"] for e in on_b["events"] if e["type"] == "answered"] == [town.operators[1]]


async def test_one_operator_with_a_tab_on_each_hub_answers_once(
    hubs: tuple[HubProcess, HubProcess],
    make_town: Callable[..., Awaitable[Town]],
    parties: Parties,
) -> None:
    a, b = hubs
    town = await make_town(wrap_up_s=0)
    (token,), (operator,) = town.kiosks.values(), town.operators
    tab_a = await parties.operator(a, operator, available=False)
    tab_b = await parties.operator(b, operator, available=False)
    await tab_a.send({"type": "set_availability", "state": "available"})
    assert (await tab_b.recv_type("availability"))["state"] == "available"
    kiosk, _ = await parties.kiosk(a, token)
    call_id = await press(kiosk, "two-tabs-two-hubs")
    for tab in (tab_a, tab_b):
        assert (await tab.recv_type("ring"))["call"]["id"] == call_id

    await tab_b.send({"type": "answer", "call_id": call_id})
    await tab_b.recv_type("answered")
    stop = await tab_a.recv_type("ring_stop")
    await tab_a.send({"type": "answer", "call_id": call_id, "ref": "second-tab"})
    refused = await tab_a.recv_type("error")
    # the call still belongs to the tab that answered: the kiosk's offer reaches it
    await kiosk.recv_type("call_answered")
    offer = fake_sdp("offer", "the kiosk's offer")
    await kiosk.send({"type": "sdp", "call_id": call_id, "description": offer})
    relayed = await tab_b.recv_type("sdp")
    call = await call_on(a, operator, call_id)

    assert (stop["call_id"], stop["reason"]) == (call_id, "answered")
    assert (refused["code"], refused["ref"]) == ("call_taken", "second-tab")
    assert relayed["description"] == offer
    assert (call["status"], event_types(call).count("answered")) == ("connected", 1)


async def test_two_operators_on_two_hubs_answering_at_once_exactly_one_wins(
    hubs: tuple[HubProcess, HubProcess],
    make_town: Callable[..., Awaitable[Town]],
    parties: Parties,
) -> None:
    a, b = hubs
    town = await make_town(operators=2, wrap_up_s=0, kiosk_calls_per_min=ROUNDS + 5)
    (token,) = town.kiosks.values()
    operators = [await parties.operator(a, town.operators[0]),
                 await parties.operator(b, town.operators[1])]  # fmt: skip
    kiosk, _ = await parties.kiosk(a, token)

    outcomes, calls = [], []
    for round_ in range(ROUNDS):
        call_id = await press(kiosk, f"hub-race-{round_:04d}")
        calls.append(call_id)
        for op in operators:
            assert (await op.recv_type("ring"))["call"]["id"] == call_id
        await asyncio.gather(*(op.send({"type": "answer", "call_id": call_id}) for op in operators))
        replies = [await first_of(op, "answered", "error") for op in operators]
        outcomes.append(
            sorted(r["type"] if r["type"] == "answered" else r["code"] for r in replies)
        )
        winner = operators[next(i for i, r in enumerate(replies) if r["type"] == "answered")]
        await kiosk.recv_type("call_answered")
        await kiosk.send({"type": "hangup", "call_id": call_id})
        await kiosk.recv_type("call_ended")
        await winner.recv_type("call_ended")
    answers = [
        event_types(c).count("answered") for c in await calls_on(b, town.operators[1], *calls)
    ]

    assert outcomes == [["answered", "call_taken"]] * ROUNDS
    assert answers == [1] * ROUNDS


MAX_WAIT_S = 10


async def deadlines_set(redis: aioredis.Redis, call_id: str, town_id: str) -> bool:
    """The call's max-wait and overflow deadlines are in Redis (or, on a slow machine,
    the overflow has already run)."""
    timers = set(await redis.zrange(keys.TIMERS, 0, -1))
    overflowed = town_id in (await redis.hget(keys.call(call_id), "overflow") or "").split(",")
    overflow = f"overflow|{call_id}|{town_id}" in timers or overflowed
    return f"maxwait|{call_id}" in timers and overflow


async def test_a_hub_killed_under_a_queued_call_leaves_the_others_to_ring_and_end_it_once(
    hubs: tuple[HubProcess, HubProcess],
    make_town: Callable[..., Awaitable[Town]],
    parties: Parties,
    redis: aioredis.Redis,
    redis_url: str,
    artifacts: Path,
) -> None:
    """The call's deadlines were set by the hub that dies; the survivors run them: the
    overflow rings the neighbour's operator, max_wait ends the call, each once."""
    a, b = hubs
    helper = await make_town(kiosks=0)
    home = await make_town(overflow_to=helper.id, overflow_after_s=3,
                           max_wait_s=MAX_WAIT_S, grace_s=30)  # fmt: skip
    (token,) = home.kiosks.values()
    neighbour = await parties.operator(b, helper.operators[0])
    doomed = HubProcess(redis_url, artifacts)
    try:
        # in a thread: the consoles' keepalive pings go on while the hub starts
        await asyncio.to_thread(doomed.start)
        kiosk, _ = await parties.kiosk(doomed, token)
        call_id = await press(kiosk, "killed-hub-01")
        async with asyncio.timeout(TIMEOUT):  # set by the doomed hub just after call_queued
            while not await deadlines_set(redis, call_id, helper.id):
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(doomed.kill)

    back, welcome = await parties.kiosk(a, token)  # the kiosk reconnects, to a survivor
    ring = await neighbour.recv_type("ring")
    ended = await back.recv_type("call_ended", TIMEOUT + MAX_WAIT_S)
    stop = await neighbour.recv_type("ring_stop")
    async with asyncio.timeout(TIMEOUT):  # the ring's own deadline is cancelled too
        while [m for m in await redis.zrange(keys.TIMERS, 0, -1) if call_id in m]:
            await asyncio.sleep(0.1)
    call = await call_on(b, home.operators[0], call_id)  # never logged in: just reads

    assert (welcome["call"]["id"], welcome["call"]["status"]) == (call_id, "queued")
    assert ring["call"]["id"] == call_id
    assert (ended["status"], ended["reason"]) == ("unanswered", "max_wait")
    assert (stop["call_id"], stop["reason"]) == (call_id, "ended")
    assert (call["status"], call["end_reason"]) == ("unanswered", "max_wait")
    steps = event_types(call)
    assert (steps.count("overflowed"), steps.count("offered"), steps.count("ended")) == (1, 1, 1)


@pytest.mark.browser
async def test_a_real_kiosk_on_one_hub_and_a_browser_on_the_other_hold_a_call(
    hubs: tuple[HubProcess, HubProcess],
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[..., Awaitable[Page]],
    kiosk_process: Callable[..., KioskProcess],
) -> None:
    a, b = hubs
    town = await make_town(wrap_up_s=0)
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    page = await console(operator, on_hub=b)
    await take_calls(page)
    villager = kiosk_process(kiosk_id, token, on_hub=a)
    call_id = await press_and_answer(villager, page)
    before, after = await until_media_grows(page)
    await page.get_by_test_id("hangup-call").click()
    ended = await villager.wait_state("ended")
    call = await call_on(a, operator, call_id)

    assert after["frames"] > before["frames"] > 0
    assert (ended["video_frames_received"] > 0, ended["audio_frames_received"] > 0) == (True, True)
    assert (call["status"], call["operator"], call["end_reason"]) == (
        "completed",
        operator,
        "operator_hangup",
    )
    assert "media_connected" in event_types(call)
