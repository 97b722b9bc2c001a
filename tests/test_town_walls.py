"""One town's people cannot reach into another town: not through a call-back's
request, and not by pushing their calls into its queue without its consent."""

from __future__ import annotations

import asyncio
import time

from server.store import keys
from tests.conftest import PASSWORD
from tests.support import TIMEOUT
from tests.tracking_support import seed_calls


async def ready(operator_ws, username):
    console = await operator_ws(username)
    await console.recv_type("welcome")
    return console


async def test_a_call_back_cannot_link_or_edit_another_towns_request(
    make_town, redis, operator_ws, kiosk_ws, login
):
    home, other = await make_town(), await make_town(kiosks=0, operators=0)
    theirs = (await seed_calls(redis, other.id, 1, abandon_every=99)).calls[0]
    their_request = theirs.extra["request_id"]
    before = await redis.hgetall(keys.request(their_request))
    kiosk_id, token = next(iter(home.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    console = await ready(operator_ws, home.operators[0])

    await console.send({"type": "callback", "kiosk_id": kiosk_id, "request_id": their_request,
                        "ref": "cb-other"})  # fmt: skip
    refused = await console.recv_type("error")
    http = await login(home.operators[0])
    listed = (await http.get(f"/api/calls?kiosk={kiosk_id}")).json()["items"]
    after = await redis.hgetall(keys.request(their_request))

    assert (refused["code"], refused["ref"]) == ("request_not_found", "cb-other")
    assert listed == [] and after == before


async def settings_put(http, town_id, **values):
    return await http.put(f"/api/towns/{town_id}/settings", json=values)


async def test_overflow_to_another_town_needs_its_consent(make_town, accounts, login):
    home, helper = await make_town(kiosks=0), await make_town(kiosks=0)
    for town in (home, helper):
        await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", PASSWORD)
    home_boss, helper_boss = await login(f"{home.id}-boss"), await login(f"{helper.id}-boss")

    unasked = await settings_put(home_boss, home.id, overflow_to=helper.id)
    no_such_town = await settings_put(home_boss, home.id, overflow_to="no-such-town")
    agreed = await settings_put(helper_boss, helper.id, accept_overflow_from=home.id)
    asked = await settings_put(home_boss, home.id, overflow_to=helper.id)

    assert unasked.status_code == no_such_town.status_code == 403
    assert unasked.json()["error"]["code"] == no_such_town.json()["error"]["code"]
    assert "no-such-town" not in no_such_town.text.replace("'no-such-town'", "", 1)
    assert agreed.status_code == 200 and asked.status_code == 200
    assert asked.json()["settings"]["overflow_to"] == helper.id


async def test_withdrawn_consent_stops_the_overflow(
    make_town, redis, kiosk_ws, login, accounts, operator_ws
):
    helper = await make_town(kiosks=0)
    home = await make_town(overflow_to=helper.id, overflow_after_s=0.3)
    await accounts.add_operator(f"{helper.id}-boss", helper.id, "supervisor", PASSWORD)
    helper_boss = await login(f"{helper.id}-boss")
    withdrawn = await settings_put(helper_boss, helper.id, accept_overflow_from="")
    await ready(operator_ws, home.operators[0])  # logged in but away: the call waits
    helping = await ready(operator_ws, helper.operators[0])
    await helping.send({"type": "set_availability", "state": "available"})
    await helping.recv_type("availability")
    kiosk = await kiosk_ws(next(iter(home.kiosks.values())))
    await kiosk.recv_type("welcome")

    await kiosk.send({"type": "call_request", "idempotency_key": "withdrawn-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    deadline = time.monotonic() + TIMEOUT
    while await redis.zscore(keys.TIMERS, f"overflow|{call_id}|{helper.id}") is not None:
        assert time.monotonic() < deadline, "the overflow deadline was never handled"
        await asyncio.sleep(0.1)
    overflow = await redis.hget(keys.call(call_id), "overflow")
    status = await redis.hget(keys.call(call_id), "status")

    assert withdrawn.status_code == 200
    assert (status, overflow or "") == ("queued", "")
