"""PIPL: on a villager's request a supervisor anonymises or deletes one request. After an
anonymise no word of it is left anywhere in Redis while its number, status and the
numbers stay; after a delete it is gone from the lists, the search and its calls. Both
are in the audit log with their reason; another town's request cannot be reached."""

from __future__ import annotations

import secrets

from server.store import keys
from tests.conftest import PASSWORD
from tests.test_requests import answered_call

REASON = "villager asked on the hotline"


async def everywhere(redis, word: str) -> list[str]:
    """Every key whose name or content holds ``word``, over all of Redis."""
    found = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        if kind == "string":
            content = [await redis.get(key)]
        elif kind == "hash":
            content = list((await redis.hgetall(key)).items())
        elif kind == "list":
            content = await redis.lrange(key, 0, -1)
        elif kind == "set":
            content = list(await redis.smembers(key))
        elif kind == "zset":
            content = await redis.zrange(key, 0, -1)
        elif kind == "stream":
            content = await redis.xrange(key)
        else:
            content = []
        if word in key or word in str(content):
            found.append(key)
    return found


async def written_up(make_town, kiosk_ws, operator_ws, login, accounts):
    """A town whose answered call's request holds two distinctive words (summary, a
    note, an earlier summary), and its supervisor's client."""
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    boss = f"{town.id}-boss"
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    sup = await login(boss)
    words = (f"zq{secrets.token_hex(4)}", "独一无二的井")
    await sup.put(f"/api/calls/{call_id}/request",
                  json={"summary": f"{words[0]} 家门口{words[1]}塌了", "category": "其他",
                        "status": "in_progress"})  # fmt: skip
    request_id = (await sup.get(f"/api/calls/{call_id}")).json()["request_id"]
    await sup.post(f"/api/requests/{request_id}/notes", json={"text": f"电话回访 {words[0]}"})
    await sup.patch(f"/api/requests/{request_id}", json={"summary": f"{words[1]}要修"})
    return town, sup, call_id, request_id, words


async def test_an_anonymised_request_keeps_its_number_and_no_word_of_it(
    make_town, kiosk_ws, operator_ws, login, accounts, redis
):
    _town, sup, call_id, request_id, words = await written_up(
        make_town, kiosk_ws, operator_ws, login, accounts
    )
    window = {"since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}
    stats_before = (await sup.get("/api/stats", params=window)).json()

    done = await sup.post(f"/api/requests/{request_id}/anonymise", json={"reason": REASON})
    again = await sup.patch(f"/api/requests/{request_id}", json={"summary": "又写上了"})
    listed = (await sup.get("/api/requests")).json()["items"]
    searched = [(await sup.get("/api/requests", params={"q": w})).json()["items"] for w in words]
    call = (await sup.get(f"/api/calls/{call_id}")).json()
    audited = (await sup.get("/api/audit", params={"action": "request_anonymised"})).json()
    stats_after = (await sup.get("/api/stats", params=window)).json()

    assert done.status_code == 200, done.text
    shown = done.json()
    assert (shown["summary"], shown["status"], shown["category"]) == ("", "in_progress", "其他")
    assert shown["anonymised_at"] and shown["history"][-1]["type"] == "anonymised"
    assert [n["text"] for n in shown["notes"]] == [""]
    assert [r["number"] for r in listed] == [shown["number"]] and searched == [[], []]
    assert call["request_id"] == request_id and call["request"]["summary"] == ""
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_anonymised"
    entry = audited["items"][0]
    assert (entry["target"], entry["details"]["reason"]) == (shown["number"], REASON)
    assert stats_after == stats_before
    assert await everywhere(redis, words[0]) == [] and await everywhere(redis, words[1]) == []


async def test_a_deleted_request_is_gone_from_lists_search_and_its_calls(
    make_town, kiosk_ws, operator_ws, login, accounts, redis
):
    town, sup, call_id, request_id, words = await written_up(
        make_town, kiosk_ws, operator_ws, login, accounts
    )
    number = (await sup.get(f"/api/requests/{request_id}")).json()["number"]

    done = await sup.request("DELETE", f"/api/requests/{request_id}", json={"reason": REASON})
    fetched = await sup.get(f"/api/requests/{request_id}")
    listed = (await sup.get("/api/requests")).json()["items"]
    searched = (await sup.get("/api/requests", params={"q": words[1]})).json()["items"]
    call = (await sup.get(f"/api/calls/{call_id}")).json()
    audited = (await sup.get("/api/audit", params={"action": "request_deleted"})).json()

    assert done.status_code == 204, done.text
    assert fetched.status_code == 404 and listed == [] and searched == []
    assert (call.get("request_id"), call.get("request_number"), call["request"]) == (
        None, None, None)  # fmt: skip
    assert [(e["target"], e["details"]["reason"]) for e in audited["items"]] == [(number, REASON)]
    assert await everywhere(redis, words[0]) == [] and await everywhere(redis, words[1]) == []
    assert await everywhere(redis, request_id) == [keys.audit(town.id)]  # only who did it


async def test_only_the_towns_supervisor_or_an_admin_may_and_with_a_reason(
    make_town, kiosk_ws, operator_ws, login, accounts
):
    town, sup, _call_id, request_id, _words = await written_up(
        make_town, kiosk_ws, operator_ws, login, accounts
    )
    other = await make_town(kiosks=0, operators=0)
    await accounts.add_operator(f"{other.id}-boss", other.id, "supervisor", PASSWORD)
    stranger, plain = await login(f"{other.id}-boss"), await login(town.operators[0])
    path = f"/api/requests/{request_id}"

    tries = {
        "other town's anonymise": await stranger.post(f"{path}/anonymise", json={"reason": "x"}),
        "other town's delete": await stranger.request("DELETE", path, json={"reason": "x"}),
        "plain operator": await plain.post(f"{path}/anonymise", json={"reason": "x"}),
        "no reason": await sup.post(f"{path}/anonymise", json={}),
        "blank reason": await sup.request("DELETE", path, json={"reason": "   "}),
    }

    assert {k: r.status_code for k, r in tries.items()} == {
        "other town's anonymise": 404, "other town's delete": 404, "plain operator": 403,
        "no reason": 422, "blank reason": 400,
    }  # fmt: skip
    assert (await sup.get(path)).json()["summary"] != ""
