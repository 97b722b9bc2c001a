"""Managing operators and kiosks over the API: a supervisor in their own town, an
admin anywhere; each change closes the operator's (or kiosk's) sockets at once."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.support import TIMEOUT, WsClient
from tests.test_cut_off import REVOKED, closed_with


@pytest.fixture
def console_of(hub, ws_clients):
    async def connect(http: httpx.AsyncClient) -> WsClient:
        cookie = {"Cookie": f"yijian_session={http.cookies.get('yijian_session')}"}
        client = await WsClient.connect(hub.ws_base + "/ws/operator", cookie)
        ws_clients.append(client)
        await client.recv_type("welcome")
        return client

    return connect


async def test_a_supervisor_manages_their_towns_operators_and_nothing_more(
    make_town,
    accounts,
    login,
    console_of,
):
    town, other = await make_town(kiosks=0), await make_town(kiosks=0)
    boss, worker = f"{town.id}-boss", town.operators[0]
    await accounts.add_operator(boss, town.id, "supervisor", PASSWORD)
    await accounts.add_operator(f"{town.id}-root", town.id, "admin", PASSWORD)
    sup = await login(boss)
    worker_console = await console_of(await login(worker))

    added = await sup.post(
        "/api/operators",
        json={
            "username": f"{town.id}-new",
            "town_id": town.id,
            "role": "operator",
            "password": "eight chars",
        },
    )
    disabled = await sup.patch(f"/api/operators/{worker}", json={"disabled": True})
    code = await closed_with(worker_console)
    async with httpx.AsyncClient(base_url=sup.base_url, timeout=TIMEOUT) as anyone:
        refused_login = await anyone.post(
            "/api/auth/login", json={"username": worker, "password": PASSWORD}
        )
    enabled = await sup.patch(f"/api/operators/{worker}", json={"disabled": False})
    promoted = await sup.patch(f"/api/operators/{worker}", json={"role": "supervisor"})
    listed = (await sup.get("/api/operators")).json()["items"]
    refusals = {
        "make an admin": await sup.patch(f"/api/operators/{worker}", json={"role": "admin"}),
        "move out": await sup.patch(f"/api/operators/{worker}", json={"town_id": other.id}),
        "other town's": await sup.patch(
            f"/api/operators/{other.operators[0]}", json={"disabled": True}
        ),
        "an admin": await sup.patch(f"/api/operators/{town.id}-root", json={"disabled": True}),
        "over an existing": await sup.post(
            "/api/operators",
            json={"username": worker, "town_id": town.id, "password": "eight chars"},
        ),
        "themselves": await sup.patch(f"/api/operators/{boss}", json={"disabled": True}),
    }

    assert added.status_code == 201 and disabled.json()["disabled"] is True
    assert code == REVOKED and refused_login.status_code == 401
    assert enabled.json()["disabled"] is False and promoted.json()["role"] == "supervisor"
    assert {op["username"] for op in listed} == {boss, worker, f"{town.id}-new", f"{town.id}-root"}
    assert {k: r.status_code for k, r in refusals.items()} == {
        "make an admin": 403,
        "move out": 403,
        "other town's": 404,
        "an admin": 403,
        "over an existing": 409,
        "themselves": 403,
    }


async def test_an_admin_moves_resets_and_rotates_and_the_old_credentials_end(
    make_town,
    accounts,
    login,
    console_of,
    kiosk_ws,
    hub,
):
    town, other = await make_town(kiosks=1), await make_town(kiosks=0)
    await accounts.add_operator(f"{town.id}-root", town.id, "admin", PASSWORD)
    root = await login(f"{town.id}-root")
    worker = town.operators[0]
    worker_console = await console_of(await login(worker))
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")

    moved = await root.patch(
        f"/api/operators/{worker}", json={"town_id": other.id, "password": "a new secret"}
    )
    console_code = await closed_with(worker_console)
    kiosks = (await root.get("/api/kiosks", params={"town": town.id})).json()["items"]
    rotated = (await root.post(f"/api/kiosks/{kiosk_id}/rotate")).json()
    kiosk_code = await closed_with(kiosk)
    new_kiosk = await kiosk_ws(rotated["token"])
    welcome = await new_kiosk.recv_type("welcome")
    revoked = await root.post(f"/api/kiosks/{kiosk_id}/revoke")
    revoked_code = await closed_with(new_kiosk)
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as anyone:
        relogin = await anyone.post(
            "/api/auth/login", json={"username": worker, "password": "a new secret"}
        )

    assert moved.json()["town_id"] == other.id and console_code == REVOKED
    assert [k["id"] for k in kiosks] == [kiosk_id] and "token" not in kiosks[0]
    assert kiosk_code == REVOKED and welcome["kiosk"]["id"] == kiosk_id
    assert revoked.status_code == 204 and revoked_code == REVOKED
    assert relogin.json()["town_id"] == other.id
