"""The town's queue: who rings, for how long, and what happens when nobody answers."""

from __future__ import annotations

import asyncio
import time

from server.queue import calls as calls_module
from server.store import keys
from tests.conftest import event_types
from tests.support import TIMEOUT


async def ready_kiosk(kiosk_ws, token):
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    return kiosk


async def ready_operator(operator_ws, username, available=True):
    console = await operator_ws(username)
    await console.recv_type("welcome")
    if available:
        await console.send({"type": "set_availability", "state": "available"})
        await console.recv_type("availability")
    return console


async def press(kiosk, key):
    await kiosk.send({"type": "call_request", "idempotency_key": key})
    return await kiosk.recv_type("call_queued")


async def call_detail(login, username, call_id):
    http = await login(username)
    return (await http.get(f"/api/calls/{call_id}")).json()


async def test_an_operator_who_lets_it_ring_out_twice_alone_is_moved_away(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(ring_timeout_s=0.5, max_missed_rings=2)
    console = await ready_operator(operator_ws, town.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "ring-out-01"))["call_id"]
    assert (await console.recv_type("ring"))["call"]["id"] == call_id

    assert (await console.recv_type("availability"))["state"] == "away"
    stop = await console.recv_type("ring_stop")
    call = await call_detail(login, town.operators[0], call_id)
    assert stop["call_id"] == call_id and call["status"] == "queued"
    assert event_types(call).count("ring_timeout") == 2
    away = call["events"][-1]
    assert (away["type"], away["operator"], away["reason"]) == (
        "operator_away",
        town.operators[0],
        "missed_rings",
    )


async def test_longest_idle_rings_one_operator_at_a_time_then_the_next(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town(operators=2, strategy="longest_idle", ring_timeout_s=0.5,
                           max_missed_rings=5)  # fmt: skip
    first = await ready_operator(operator_ws, town.operators[0])
    second = await ready_operator(operator_ws, town.operators[1])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "idle-one-01"))["call_id"]

    assert (await first.recv_type("ring"))["call"]["id"] == call_id
    assert (await first.recv_type("ring_stop"))["call_id"] == call_id
    assert (await second.recv_type("ring"))["call"]["id"] == call_id
    await second.send({"type": "answer", "call_id": call_id})
    assert (await second.recv_type("answered"))["call"]["id"] == call_id


async def test_nobody_answering_within_max_wait_ends_the_call_unanswered(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(max_wait_s=1)
    await ready_operator(operator_ws, town.operators[0], available=False)  # logged in, away
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "max-wait-01"))["call_id"]
    ended = await kiosk.recv_type("call_ended")
    call = await call_detail(login, town.operators[0], call_id)
    assert (ended["status"], ended["reason"]) == ("unanswered", "max_wait")
    assert (call["status"], call["end_reason"]) == ("unanswered", "max_wait")


async def test_a_kiosk_is_told_at_once_when_nobody_is_logged_in(make_town, kiosk_ws):
    town = await make_town()
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    started = time.monotonic()
    await press(kiosk, "nobody-001")
    ended = await kiosk.recv_type("call_ended")
    assert (ended["status"], ended["reason"]) == ("unanswered", "no_operators")
    assert time.monotonic() - started < TIMEOUT / 3


async def test_outside_working_hours_the_call_ends_at_once(make_town, kiosk_ws, operator_ws):
    hour = time.gmtime().tm_hour
    closed = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
    town = await make_town(hours=closed, utc_offset_h=0)
    await ready_operator(operator_ws, town.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    await press(kiosk, "closed-0001")
    ended = await kiosk.recv_type("call_ended")
    assert (ended["status"], ended["reason"]) == ("unanswered", "closed")


async def test_wrap_up_holds_rings_until_the_request_is_saved(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(kiosks=2, wrap_up_s=60)
    console = await ready_operator(operator_ws, town.operators[0])
    first, second = [await ready_kiosk(kiosk_ws, t) for t in town.kiosks.values()]
    call_id = (await press(first, "wrap-up-001"))["call_id"]
    await console.recv_type("ring")
    await console.send({"type": "answer", "call_id": call_id})
    await console.recv_type("answered")
    await console.send({"type": "hangup", "call_id": call_id})
    await console.recv_type("call_ended")
    # the answer's own presence (busy) may still be on its way over the bus: the
    # console comes to wrap-up, with no ring in between
    async with asyncio.timeout(TIMEOUT):
        while (shown := await console.recv())["type"] != "presence" or shown["state"] != "wrap_up":
            assert shown["type"] != "ring", shown

    waiting = (await press(second, "wrap-up-002"))["call_id"]
    http = await login(town.operators[0])
    request = {"summary": "问路", "category": "其他", "status": "in_progress"}
    response = await http.put(f"/api/calls/{call_id}/request", json=request)
    assert response.status_code == 200
    assert (await console.recv_type("ring"))["call"]["id"] == waiting


async def test_a_long_wait_overflows_to_the_next_town_and_keeps_its_place_at_home(
    make_town, kiosk_ws, operator_ws, login, accounts
):
    helper = await make_town(kiosks=0)
    home = await make_town(overflow_to=helper.id, overflow_after_s=0.5)
    await ready_operator(operator_ws, home.operators[0], available=False)
    neighbour = await ready_operator(operator_ws, helper.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(home.kiosks.values())))
    call_id = (await press(kiosk, "overflow-01"))["call_id"]

    assert (await neighbour.recv_type("ring"))["call"]["id"] == call_id
    await neighbour.send({"type": "answer", "call_id": call_id})
    await neighbour.recv_type("answered")
    assert (await kiosk.recv_type("call_answered"))["operator"] == helper.operators[0]
    call = await call_detail(login, home.operators[0], call_id)
    assert call["events"][event_types(call).index("overflowed")]["town"] == helper.id


async def test_every_tab_of_an_operator_shares_one_presence(make_town, kiosk_ws, operator_ws):
    town = await make_town()
    tab1 = await ready_operator(operator_ws, town.operators[0], available=False)
    tab2 = await ready_operator(operator_ws, town.operators[0], available=False)
    await tab1.send({"type": "set_availability", "state": "available"})
    assert (await tab2.recv_type("availability"))["state"] == "available"

    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "two-tabs-01"))["call_id"]
    for tab in (tab1, tab2):
        assert (await tab.recv_type("ring"))["call"]["id"] == call_id
    await tab1.send({"type": "answer", "call_id": call_id})
    await tab1.recv_type("answered")
    seen = {}
    while len(seen) < 2:
        message = await tab2.recv()
        if message["type"] in ("ring_stop", "presence"):
            seen[message["type"]] = message
    assert (seen["ring_stop"]["call_id"], seen["presence"]["state"]) == (call_id, "busy")


async def test_a_silent_console_is_offline_within_ten_seconds_and_the_ring_moves_on(
    hub, make_town, kiosk_ws, operator_ws, login
):
    from tests.support import WsClient

    town = await make_town(operators=2)
    http = await login(town.operators[0])
    cookie = f"yijian_session={http.cookies.get('yijian_session')}"
    frozen = await WsClient.connect(hub.ws_base + "/ws/operator", {"Cookie": cookie},
                                    keepalive=False)  # fmt: skip
    await frozen.recv_type("welcome")
    await frozen.send({"type": "set_availability", "state": "available"})
    await frozen.recv_type("availability")
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "frozen-tab-1"))["call_id"]
    await frozen.recv_type("ring")
    started = time.monotonic()
    other = await ready_operator(operator_ws, town.operators[1])
    assert (await other.recv_type("ring"))["call"]["id"] == call_id
    async with asyncio.timeout(TIMEOUT):
        while (await presence_of(http, town.operators[0])) != "offline":
            await asyncio.sleep(0.2)
    assert time.monotonic() - started < 11
    await frozen.close()


async def presence_of(http, username):
    people = (await http.get("/api/presence")).json()["operators"]
    return next(p["state"] for p in people if p["username"] == username)


async def test_waiting_kiosks_hear_their_place_improve(make_town, kiosk_ws, operator_ws):
    town = await make_town(kiosks=3)
    await ready_operator(operator_ws, town.operators[0], available=False)
    kiosks = [await ready_kiosk(kiosk_ws, t) for t in town.kiosks.values()]
    queued = [await press(k, f"place-{i}-0001") for i, k in enumerate(kiosks)]
    assert [q["position"] for q in queued] == [1, 2, 3]
    await kiosks[0].send({"type": "hangup", "call_id": queued[0]["call_id"]})
    assert (await kiosks[1].recv_type("queue_position"))["position"] == 1
    assert (await kiosks[2].recv_type("queue_position"))["position"] == 2


async def test_an_operator_calls_a_kiosk_back_and_it_answers_by_itself(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(auto_answer_s=0.2)
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await ready_kiosk(kiosk_ws, token)
    console = await ready_operator(operator_ws, town.operators[0], available=False)
    await console.send({"type": "callback", "kiosk_id": kiosk_id, "ref": "cb1"})
    ringing = await console.recv_type("callback_ringing")
    incoming = await kiosk.recv_type("incoming_call")
    assert (incoming["call_id"], incoming["auto_answer_s"]) == (ringing["call"]["id"], 0.2)

    await kiosk.send({"type": "callback_answer", "call_id": incoming["call_id"], "accept": True})
    answered = await console.recv_type("answered")
    assert (await kiosk.recv_type("call_answered"))["call_id"] == answered["call"]["id"]
    call = await call_detail(login, town.operators[0], incoming["call_id"])
    assert (call["status"], call["operator"]) == ("connected", town.operators[0])
    assert event_types(call)[:3] == ["created", "callback_ringing", "answered"]


async def test_a_kiosk_declines_a_callback_or_is_offline(make_town, kiosk_ws, operator_ws):
    town = await make_town(kiosks=2)
    (near_id, near), (far_id, _) = town.kiosks.items()
    kiosk = await ready_kiosk(kiosk_ws, near)
    console = await ready_operator(operator_ws, town.operators[0], available=False)
    await console.send({"type": "callback", "kiosk_id": far_id})
    assert (await console.recv_type("error"))["code"] == "kiosk_offline"
    await console.send({"type": "callback", "kiosk_id": near_id})
    call_id = (await kiosk.recv_type("incoming_call"))["call_id"]
    await kiosk.send({"type": "callback_answer", "call_id": call_id, "accept": False})
    ended = await console.recv_type("call_ended")
    assert (ended["status"], ended["reason"]) == ("unanswered", "kiosk_declined")


async def answered_call(town, kiosk_ws, operator_ws, key):
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    console = await ready_operator(operator_ws, town.operators[0])
    call_id = (await press(kiosk, key))["call_id"]
    await console.recv_type("ring")
    await console.send({"type": "answer", "call_id": call_id})
    await console.recv_type("answered")
    await kiosk.recv_type("call_answered")
    return kiosk, console, call_id


async def test_media_that_stays_down_past_the_media_grace_fails_the_call(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(media_grace_s=1, wrap_up_s=0)
    kiosk, _, call_id = await answered_call(town, kiosk_ws, operator_ws, "media-down-1")
    await kiosk.send({"type": "media_state", "call_id": call_id, "state": "connected"})
    await kiosk.send({"type": "media_state", "call_id": call_id, "state": "failed"})
    ended = await kiosk.recv_type("call_ended")
    call = await call_detail(login, town.operators[0], call_id)
    assert (ended["status"], ended["reason"]) == ("failed", "media_failed")
    assert event_types(call)[-3:] == ["media_connected", "media_failed", "ended"]


async def test_an_answer_whose_media_never_comes_up_goes_back_to_the_head(
    make_town, kiosk_ws, operator_ws, login
):
    town = await make_town(media_grace_s=1, wrap_up_s=0)
    kiosk, console, call_id = await answered_call(town, kiosk_ws, operator_ws, "no-media-01")
    back = await kiosk.recv_type("call_queued")
    ended = await console.recv_type("call_ended")
    call = await call_detail(login, town.operators[0], call_id)
    assert (back["call_id"], back["position"]) == (call_id, 1)
    assert (ended["status"], ended["reason"]) == ("requeued", "not_connected")
    assert "requeued" in event_types(call) and "completed" not in call["status"]


async def test_supervisors_change_queue_settings_operators_only_read(make_town, login, accounts):
    town = await make_town()
    await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", "supervisor pass")
    boss = await login(f"{town.id}-boss", "supervisor pass")
    clerk = await login(town.operators[0])
    changed = await boss.put(f"/api/towns/{town.id}/settings",
                             json={"strategy": "longest_idle", "ring_timeout_s": 15})  # fmt: skip
    refused = await clerk.put(f"/api/towns/{town.id}/settings", json={"wrap_up_s": 0})
    bad = await boss.put(f"/api/towns/{town.id}/settings", json={"strategy": "random"})
    read = (await clerk.get(f"/api/towns/{town.id}/settings")).json()["settings"]
    assert changed.status_code == 200 and refused.status_code == 403
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_setting")
    assert (read["strategy"], read["ring_timeout_s"], read["wrap_up_s"]) == ("longest_idle", 15, 30)


async def test_a_tab_closed_while_ringing_passes_the_ring_on_at_once(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town(operators=2, strategy="longest_idle", ring_timeout_s=60)
    first = await ready_operator(operator_ws, town.operators[0])
    second = await ready_operator(operator_ws, town.operators[1])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "closed-tab-1"))["call_id"]
    assert (await first.recv_type("ring"))["call"]["id"] == call_id
    started = time.monotonic()
    await first.close()
    assert (await second.recv_type("ring"))["call"]["id"] == call_id
    assert time.monotonic() - started < 5  # not after the 60 s ring timeout


async def test_the_console_learns_the_towns_clock_and_an_admin_every_town(
    make_town, login, accounts
):
    town = await make_town(utc_offset_h=7)
    await accounts.add_operator(f"{town.id}-root", town.id, "admin", "admin password")
    clerk = await login(town.operators[0])
    root = await login(f"{town.id}-root", "admin password")
    assert (await clerk.get("/api/config")).json()["utc_offset_h"] == 7
    assert (await clerk.get("/api/towns")).json()["items"] == [
        {"id": town.id, "name": f"测试镇 {town.id}"}
    ]
    assert town.id in {t["id"] for t in (await root.get("/api/towns")).json()["items"]}


async def test_a_kiosk_hanging_up_stops_the_ring_on_every_tab_of_every_operator(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town(operators=2)
    tabs = [
        await ready_operator(operator_ws, town.operators[0]),
        await ready_operator(operator_ws, town.operators[0]),  # the same operator, a 2nd tab
        await ready_operator(operator_ws, town.operators[1]),
    ]
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "hang-up-ringing-1"))["call_id"]
    for tab in tabs:
        assert (await tab.recv_type("ring"))["call"]["id"] == call_id
    await kiosk.send({"type": "hangup", "call_id": call_id})
    assert (await kiosk.recv_type("call_ended"))["status"] == "abandoned"
    stops = [await tab.recv_type("ring_stop") for tab in tabs]
    assert [(s["call_id"], s["reason"]) for s in stops] == [(call_id, "ended")] * 3


async def test_overflow_chains_through_tiers_and_every_tier_keeps_ringing(
    make_town, kiosk_ws, operator_ws, login
):
    county = await make_town(kiosks=0)
    middle = await make_town(kiosks=0, overflow_to=county.id, overflow_after_s=0.5)
    home = await make_town(overflow_to=middle.id, overflow_after_s=0.5)
    at_home = await ready_operator(operator_ws, home.operators[0], available=False)
    in_middle = await ready_operator(operator_ws, middle.operators[0], available=False)
    at_county = await ready_operator(operator_ws, county.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(home.kiosks.values())))
    call_id = (await press(kiosk, "overflow-chain-1"))["call_id"]

    assert (await at_county.recv_type("ring"))["call"]["id"] == call_id  # two tiers on
    for console in (at_home, in_middle):  # still first in line at home and in the middle
        await console.send({"type": "set_availability", "state": "available"})
        assert (await console.recv_type("ring"))["call"]["id"] == call_id
    await in_middle.send({"type": "answer", "call_id": call_id})
    await in_middle.recv_type("answered")
    stops = [await c.recv_type("ring_stop") for c in (at_home, at_county)]
    call = await call_detail(login, home.operators[0], call_id)
    overflowed = [e["town"] for e in call["events"] if e["type"] == "overflowed"]
    assert overflowed == [middle.id, county.id]
    assert [s["call_id"] for s in stops] == [call_id, call_id]
    assert (call["status"], call["operator"]) == ("connected", middle.operators[0])


async def test_the_estimated_wait_follows_the_towns_recent_answers(
    make_town, kiosk_ws, operator_ws, redis
):
    """Place x the recent interval between answers in the town, at most max_wait_s;
    none until the town has answered twice."""
    town = await make_town(kiosks=3, max_wait_s=25)
    first, second, third = town.kiosks.values()
    operator = await ready_operator(operator_ws, town.operators[0], available=False)
    told = [await press(await ready_kiosk(kiosk_ws, first), "estimate-none-1")]
    now = calls_module.now_ms()
    await redis.rpush(keys.town_answers(town.id), now, now - 10_000, now - 20_000)  # every 10 s
    told += [await press(await ready_kiosk(kiosk_ws, k), f"estimate-{i}") for i, k in
             enumerate((second, third))]  # fmt: skip
    await operator.send({"type": "set_availability", "state": "available"})
    await operator.send({"type": "answer", "call_id": told[0]["call_id"]})
    await operator.recv_type("answered")
    recorded = await redis.lrange(keys.town_answers(town.id), 0, -1)

    assert [(t["position"], t.get("estimated_wait_s")) for t in told] == [
        (1, None), (2, 20), (3, 25)  # 20 s; 30 s capped at max_wait_s
    ]  # fmt: skip
    assert len(recorded) == 4 and int(recorded[0]) >= now  # the answer just made


async def test_the_call_follows_the_operators_newest_tab_and_only_it_restarts_media(
    make_town, kiosk_ws, operator_ws
):
    """A second tab opened mid-call takes the call; the older tab's peer connection
    failing then asks the kiosk for nothing, the newest tab's does."""
    town = await make_town()
    first = await ready_operator(operator_ws, town.operators[0])
    kiosk = await ready_kiosk(kiosk_ws, next(iter(town.kiosks.values())))
    call_id = (await press(kiosk, "newest-tab-01"))["call_id"]
    await first.recv_type("ring")
    await first.send({"type": "answer", "call_id": call_id})
    await first.recv_type("answered")
    newest = await operator_ws(town.operators[0])
    assert (await newest.recv_type("welcome"))["call"]["id"] == call_id
    failed = {"type": "media_state", "call_id": call_id, "state": "failed"}
    await first.send(failed)
    # The hub handles one socket's messages in order, so this pong says the old tab's
    # report is done with, and a restart for it (a bug) already published: Redis hands a
    # message to its subscribers as it answers the publish, so that restart is in the
    # hub's bus before the kiosk's ping below has even left.
    await first.send({"type": "ping", "ref": "old-tab-done"})
    await first.recv_type("pong")
    await kiosk.send({"type": "ping", "ref": "after-old-tab"})
    before_pong = []
    while (message := await kiosk.recv())["type"] != "pong":
        before_pong.append(message["type"])
    await newest.send(failed)
    restart = await kiosk.recv_type("restart_media")
    assert "restart_media" not in before_pong and restart["call_id"] == call_id
