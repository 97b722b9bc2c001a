"""The audit log: a supervisor's and an admin's day of changes, each an entry with who,
when, from where and what, and not one password, token or session in any of them;
read back newest first, filtered and paged, by whom may read it."""

from __future__ import annotations

import httpx

from server.accounts.audit import Audit
from server.store import keys
from tests.conftest import PASSWORD
from tests.support import TIMEOUT
from tests.test_cli import yijian
from tests.test_requests import answered_call
from tests.tracking_support import collect

NEW_PASSWORD = "a brand new secret 42"
ADDED_PASSWORD = "the added one's secret"


async def every_audit_entry(redis) -> str:
    """Every audit stream in Redis, as one text."""
    text = []
    async for key in redis.scan_iter(match=keys.PREFIX + "*audit*", count=1000):
        for _id, data in await redis.xrange(key):
            text.append(str(data))
    return "\n".join(text)


async def test_a_day_of_changes_is_audited_and_no_secret_is_kept(
    make_town, accounts, login, kiosk_ws, operator_ws, hub, redis
):
    town, _op, _kiosk, call_id = await answered_call(make_town, kiosk_ws, operator_ws)
    boss, root, worker = f"{town.id}-boss", f"{town.id}-root", town.operators[0]
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    await accounts.add_operator(root, town.id, "admin", PASSWORD)
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as anyone:
        await anyone.post("/api/auth/login", json={"username": boss, "password": "wrong guess 1"})
        await anyone.post("/api/auth/login", json={"username": "wrong guess 2", "password": "x"})
    sup, admin = await login(boss), await login(root)
    kiosk_id = next(iter(town.kiosks))

    await sup.get(f"/api/calls/{call_id}")
    await sup.put(f"/api/calls/{call_id}/request",
                  json={"summary": "水管漏了", "category": "其他", "status": "open"})  # fmt: skip
    await sup.get("/api/requests/export.csv", params={"q": "水管"})
    await sup.put(f"/api/towns/{town.id}/settings", json={"max_wait_s": 90})
    await sup.put(f"/api/towns/{town.id}/categories", json={"categories": ["水电", "其他"]})
    await sup.post("/api/operators", json={"username": f"{town.id}-new", "town_id": town.id,
                                           "password": ADDED_PASSWORD})  # fmt: skip
    await sup.patch(f"/api/operators/{worker}", json={"password": NEW_PASSWORD})
    await sup.patch(f"/api/operators/{worker}", json={"disabled": True})
    rotated = (await admin.post(f"/api/kiosks/{kiosk_id}/rotate")).json()["token"]
    sessions = [c.cookies.get("yijian_session") for c in (sup, admin)]
    await sup.post("/api/auth/logout")
    newest_first = await collect(admin, "/api/audit", {"town": town.id, "limit": 3})
    seen = newest_first[::-1]
    everything = await every_audit_entry(redis)

    assert [(e["action"], e["actor"], e["target"]) for e in seen] == [
        ("login", worker, worker),
        ("call_answered", worker, call_id),
        ("login_failed", boss, boss),
        ("login", boss, boss),
        ("call_viewed", boss, call_id),
        ("request_changed", boss, seen[5]["target"]),
        ("export", boss, "requests.csv"),
        ("settings_changed", boss, town.id),
        ("categories_changed", boss, town.id),
        ("operator_added", boss, f"{town.id}-new"),
        ("operator_password_reset", boss, worker),
        ("operator_disabled", boss, worker),
        ("kiosk_rotated", root, kiosk_id),
        ("logout", boss, boss),
    ]
    assert seen[1]["role"] == "operator" and seen[3]["role"] == "supervisor"
    assert seen[1]["address"] == "127.0.0.1"  # the answering console's, from its socket
    assert seen[3]["address"] == "127.0.0.1" and seen[3]["at"].endswith("Z")
    assert seen[5]["target"].startswith(town.id.upper())  # the request's number
    secrets = [PASSWORD, "wrong guess", NEW_PASSWORD, ADDED_PASSWORD, rotated,
               next(iter(town.kiosks.values())), *sessions, "水管"]  # fmt: skip
    assert [s for s in secrets if s and s.split(".")[-1] in everything] == []


async def test_who_reads_which_log_filtered_and_paged(make_town, accounts, login, hub):
    town, other = await make_town(kiosks=0), await make_town(kiosks=0)
    boss, root = f"{town.id}-boss", f"{town.id}-root"
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    await accounts.add_operator(root, town.id, "admin", PASSWORD)
    sup, admin, plain = await login(boss), await login(root), await login(town.operators[0])
    for wait in (60, 70, 80):
        await sup.put(f"/api/towns/{town.id}/settings", json={"max_wait_s": wait})

    changes = await collect(sup, "/api/audit", {"action": "settings_changed", "limit": 2})
    by_boss = await collect(sup, "/api/audit", {"actor": boss})
    admins = (await admin.get("/api/audit", params={"scope": "admin", "actor": root})).json()
    refused = {
        "plain operator": await plain.get("/api/audit"),
        "other town": await sup.get("/api/audit", params={"town": other.id}),
        "admins' log": await sup.get("/api/audit", params={"scope": "admin"}),
        "unknown action": await sup.get("/api/audit", params={"action": "dance"}),
        "cursor past 64 bits": await sup.get("/api/audit", params={"cursor": "9" * 20 + "-0"}),
    }
    oldest = await sup.get("/api/audit", params={"cursor": "0-0"})

    assert [c["details"]["settings"] for c in changes] == [
        {"max_wait_s": 80}, {"max_wait_s": 70}, {"max_wait_s": 60}]  # fmt: skip
    assert [e["action"] for e in by_boss] == ["settings_changed"] * 3 + ["login"]
    assert [e["action"] for e in admins["items"]][:1] == ["login"]  # an admin's own log
    assert {k: r.status_code for k, r in refused.items()} == {"plain operator": 403,
            "other town": 403, "admins' log": 403, "unknown action": 400,
            "cursor past 64 bits": 400}  # fmt: skip
    assert oldest.json() == {"items": [], "next_cursor": None}


async def test_the_cli_is_audited_as_cli(hub, redis_url, redis, make_town):
    town = await make_town(kiosks=1, operators=1)
    kiosk_id = next(iter(town.kiosks))
    changes = [
        ("operator", "add", f"{town.id}-cli", "--town", town.id),
        ("operator", "role", f"{town.id}-cli", "supervisor"),
        ("kiosk", "revoke", kiosk_id),
        ("town", "set", town.id, "max_wait_s", "75"),
    ]
    for change in changes:
        done = yijian("admin", "--redis-url", redis_url, *change, stdin="cli's long secret\n")
        assert done.returncode == 0, done.stderr

    entries, _ = await Audit(redis).page(town.id, limit=10, actor="cli")

    assert [(e.action, e.target) for e in reversed(entries)] == [
        ("operator_added", f"{town.id}-cli"),
        ("operator_role_changed", f"{town.id}-cli"),
        ("kiosk_revoked", kiosk_id),
        ("settings_changed", town.id),
    ]
    assert "cli's long secret" not in await every_audit_entry(redis)
