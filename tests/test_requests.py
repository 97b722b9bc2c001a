"""Tracked requests against a real hub: every answered call opens one, the console's
save keeps working, the status rules answer with clear errors, lists filter and page
without a gap, Chinese text is searchable, and another town sees none of it."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.tracking_support import collect, seed_calls


async def answered_call(make_town, kiosk_ws, operator_ws, **settings):
    """A town whose only operator answered its kiosk's call: (town, op socket, kiosk, call)."""
    town = await make_town(**settings)
    token = next(iter(town.kiosks.values()))
    op = await operator_ws(town.operators[0])
    await op.recv_type("welcome")
    await op.send({"type": "set_availability", "state": "available"})
    await op.recv_type("availability")
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "press-0001"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await op.recv_type("ring")
    await op.send({"type": "answer", "call_id": call_id})
    await op.recv_type("answered")
    return town, op, kiosk, call_id


async def test_an_answered_call_opens_a_numbered_request_that_the_save_fills_in(
    make_town, kiosk_ws, operator_ws, login
):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    http = await login(town.operators[0])
    during = (await http.get(f"/api/calls/{call_id}")).json()
    saved = await http.put(f"/api/calls/{call_id}/request",
                           json={"summary": "村口路灯坏了", "category": "环境卫生",
                                 "status": "in_progress"})  # fmt: skip
    assert saved.status_code == 200, saved.text
    request = (await http.get(f"/api/requests/{during['request_id']}")).json()

    assert during["request"] is None and during["request_number"].startswith(town.id.upper())
    assert saved.json()["request"] == {"summary": "村口路灯坏了", "category": "环境卫生",
                                       "status": "in_progress"}  # fmt: skip
    assert (request["number"], request["call_ids"], request["kind"], request["status"]) == (
        f"{town.id.upper()}-{request['created_at'][:4]}-000001",
        [call_id],
        "call",
        "in_progress",
    )
    assert [h["type"] for h in request["history"]] == [
        "created", "category_changed", "summary_changed", "status_changed"]  # fmt: skip


async def test_status_rules_answer_with_their_own_codes(
    make_town, kiosk_ws, operator_ws, login, accounts
):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", PASSWORD)
    operator, boss = await login(town.operators[0]), await login(f"{town.id}-boss")
    request_id = (await operator.get(f"/api/calls/{call_id}")).json()["request_id"]
    path = f"/api/requests/{request_id}"

    no_note = await operator.patch(path, json={"status": "resolved"})
    not_a_category = await operator.patch(path, json={"category": "天气"})
    not_a_supervisor = await operator.patch(path, json={"status": "closed", "note": "办结"})
    resolved = await operator.patch(path, json={"status": "resolved", "note": "已派人修好"})
    reopen_by_boss = await boss.patch(path, json={"status": "closed"})
    reopen = await operator.patch(path, json={"status": "open"})

    assert [(r.status_code, r.json().get("error", {}).get("code")) for r in (
        no_note, not_a_category, not_a_supervisor, resolved, reopen_by_boss, reopen)] == [
        (400, "resolution_note_required"), (400, "bad_category"), (403, "supervisor_only"),
        (200, None), (200, None), (403, "supervisor_only")]  # fmt: skip
    final = (await boss.get(path)).json()
    assert (final["status"], final["notes"][0]["text"], final["resolved_at"] is not None) == (
        "closed", "已派人修好", True)  # fmt: skip


async def test_notes_are_appended_and_searchable_in_chinese(
    make_town, kiosk_ws, operator_ws, login
):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    http = await login(town.operators[0])
    body = {"summary": "咨询医保报销", "category": "政务咨询", "status": "open"}
    await http.put(f"/api/calls/{call_id}/request", json=body)
    request_id = (await http.get(f"/api/calls/{call_id}")).json()["request_id"]
    added = await http.post(f"/api/requests/{request_id}/notes", json={"text": "已转社保所 Zhang"})

    def found(response):
        return [i["id"] for i in response.json()["items"]]

    assert added.status_code == 201 and added.json()["notes"][0]["author"] == town.operators[0]
    assert found(await http.get("/api/requests", params={"q": "社保所"})) == [request_id]
    assert found(await http.get("/api/requests", params={"q": "医保报"})) == [request_id]
    assert found(await http.get("/api/requests", params={"q": "zhang"})) == [request_id]
    assert found(await http.get("/api/requests", params={"q": "医疗"})) == []
    assert [c["id"] for c in (await http.get("/api/calls", params={"q": "报销"})).json()["items"]
            ] == [call_id]  # fmt: skip


async def test_filters_and_cursor_pages_cover_every_item_once(make_town, login, redis, accounts):
    town = await make_town(operators=1)
    seeded = await seed_calls(redis, town.id, 2100, abandon_every=2)  # a quick half
    http = await login(town.operators[0])

    calls = await collect(http, "/api/calls", {"limit": 97})
    expected = sorted((c.id for c in seeded.calls), reverse=True)
    assert [c["id"] for c in calls] == expected

    by_village = await collect(http, "/api/calls", {"village": "河口村", "limit": 50})
    assert [c["id"] for c in by_village] == [
        c for c in expected if next(x for x in seeded.calls if x.id == c).village == "河口村"
    ]
    op = seeded.operators[1].username
    answered_by = await collect(http, "/api/calls", {"operator": op, "status": "completed"})
    assert {c["id"] for c in answered_by} == {
        c.id for c in seeded.calls if c.operator == op and c.status == "completed"
    }

    requests = await collect(http, "/api/requests", {"limit": 61})
    ids = [r["id"] for r in requests]
    assert len(ids) == len(set(ids)) and ids == sorted(ids, reverse=True)
    linked = sorted(c for r in requests for c in r["call_ids"])
    assert linked == sorted(c.id for c in seeded.calls if c.answered_at or c.status == "unanswered")
    for status in ("open", "resolved"):
        subset = await collect(http, "/api/requests", {"status": status, "limit": 40})
        assert [r["id"] for r in subset] == [r["id"] for r in requests if r["status"] == status]
    callbacks = await collect(http, "/api/requests", {"kind": "callback", "limit": 200})
    assert callbacks and all(r["kind"] == "callback" for r in callbacks)


async def test_another_towns_operator_sees_none_of_it(make_town, kiosk_ws, operator_ws, login):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    other = await make_town()
    own, stranger = await login(town.operators[0]), await login(other.operators[0])
    request_id = (await own.get(f"/api/calls/{call_id}")).json()["request_id"]

    answers = {
        "request": await stranger.get(f"/api/requests/{request_id}"),
        "patch": await stranger.patch(f"/api/requests/{request_id}", json={"summary": "x"}),
        "note": await stranger.post(f"/api/requests/{request_id}/notes", json={"text": "x"}),
        "list": await stranger.get("/api/requests", params={"town": town.id}),
        "categories": await stranger.get(f"/api/towns/{town.id}/categories"),
        "set categories": await stranger.put(
            f"/api/towns/{town.id}/categories", json={"categories": ["x"]}
        ),
        "stats": await stranger.get("/api/stats", params={"town": town.id}),
        "calls csv": await stranger.get("/api/calls/export.csv", params={"town": town.id}),
        "requests csv": await stranger.get("/api/requests/export.csv", params={"town": town.id}),
        "open311": await stranger.get("/api/open311/requests.json", params={"town": town.id}),
    }
    own_list = (await stranger.get("/api/requests")).json()["items"]

    assert {k: r.status_code for k, r in answers.items()} == {
        "request": 404, "patch": 404, "note": 404, "list": 403, "categories": 403,
        "set categories": 403, "stats": 403, "calls csv": 403, "requests csv": 403,
        "open311": 403}  # fmt: skip
    assert own_list == []


async def test_supervisors_edit_the_towns_categories_and_the_console_gets_them(
    make_town, login, accounts
):
    town = await make_town()
    await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", PASSWORD)
    operator, boss = await login(town.operators[0]), await login(f"{town.id}-boss")
    path = f"/api/towns/{town.id}/categories"

    refused = await operator.put(path, json={"categories": ["水电"]})
    saved = await boss.put(path, json={"categories": ["水电", "道路", "水电"]})
    config = (await operator.get("/api/config")).json()

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "supervisor_only")
    assert saved.json()["categories"] == config["categories"] == ["水电", "道路"]


async def test_a_villager_rates_the_call_with_one_press(
    make_town, kiosk_process, operator_ws, login
):
    town = await make_town(wrap_up_s=0)
    ((kiosk_id, token),) = town.kiosks.items()
    op = await operator_ws(town.operators[0])
    await op.recv_type("welcome")
    await op.send({"type": "set_availability", "state": "available"})
    await op.recv_type("availability")
    villager = kiosk_process(kiosk_id, token)
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    await op.recv_type("ring")
    await op.send({"type": "answer", "call_id": call_id})
    await op.recv_type("answered")
    await op.send({"type": "hangup", "call_id": call_id})
    await villager.wait_state("ended")
    assert villager.process.stdin is not None
    villager.process.stdin.write("满意\n".encode())
    villager.process.stdin.flush()
    rated = await villager.wait_for(lambda s: "rated" in s)

    http = await login(town.operators[0])
    call = (await http.get(f"/api/calls/{call_id}")).json()
    request = (await http.get(f"/api/requests/{call['request_id']}")).json()
    assert (rated["state"], rated["rated"], call["rating"], request["satisfaction"]) == (
        "idle", "satisfied", "satisfied", "satisfied")  # fmt: skip
    assert request["history"][-1]["type"] == "rated"


async def test_a_rating_counts_once_and_only_from_the_calls_own_kiosk_after_it_ended(
    make_town, kiosk_ws, operator_ws, login
):
    town, op, kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws, kiosks=2)
    other = await kiosk_ws(list(town.kiosks.values())[1])
    await other.recv_type("welcome")

    async def rate(client, value="unsatisfied"):
        await client.send({"type": "rating", "call_id": call_id, "value": value, "ref": "r"})
        return await client.recv_type("rated" if client is kiosk else "error")

    await kiosk.send({"type": "rating", "call_id": call_id, "value": "satisfied"})
    too_early = await kiosk.recv_type("error")
    await op.send({"type": "hangup", "call_id": call_id})
    await kiosk.recv_type("call_ended")
    not_yours = await rate(other)
    first = await rate(kiosk)
    await kiosk.send({"type": "rating", "call_id": call_id, "value": "satisfied"})
    again = await kiosk.recv_type("error")

    assert [too_early["code"], not_yours["code"], first["value"], again["code"]] == [
        "bad_state", "not_your_call", "unsatisfied", "already_rated"]  # fmt: skip


async def test_a_request_past_its_due_date_is_overdue_until_resolved(
    make_town, kiosk_ws, operator_ws, login
):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    http = await login(town.operators[0])
    request_id = (await http.get(f"/api/calls/{call_id}")).json()["request_id"]
    path = f"/api/requests/{request_id}"

    bad = await http.patch(path, json={"assignee": "nobody-here"})
    late = await http.patch(path, json={"due_at": "2020-01-01T00:00:00Z",
                                        "assignee": town.operators[0]})  # fmt: skip
    overdue = await collect(http, "/api/requests", {"overdue": "true"})
    counted = (await http.get("/api/stats")).json()["requests_overdue"]
    done = await http.patch(path, json={"status": "resolved", "note": "已处理"})

    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_assignee")
    assert (late.json()["overdue"], late.json()["assignee"]) == (True, town.operators[0])
    assert ([r["id"] for r in overdue], counted) == ([request_id], 1)
    assert done.json()["overdue"] is False
    assert await collect(http, "/api/requests", {"overdue": "true"}) == []
    assert [h["type"] for h in done.json()["history"]][-4:] == [
        "assigned", "due_changed", "status_changed", "note_added"]  # fmt: skip
