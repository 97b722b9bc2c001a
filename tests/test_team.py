"""值班情况, pushed: the hub sends a town's supervisors and admins `team` whenever one
of the town's operators changes state, from whichever hub the change was made on;
operators get none, and nobody sees another town's people unless they are an admin."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.accounts.accounts import Accounts
from tests.conftest import PASSWORD, Town
from tests.support import TIMEOUT, HubProcess, WsClient

Team = dict[str, Any]


def states(team: Team) -> dict[str, str]:
    return {op["username"]: op["state"] for op in team["operators"]}


async def team_until(ws: WsClient, check: Callable[[Team], bool], timeout: float = TIMEOUT) -> Team:
    """The first `team` (skipping the rest) for which ``check`` holds, within ``timeout``."""
    deadline = time.monotonic() + timeout
    seen: list[Team] = []
    while True:
        try:
            team = await ws.recv_type("team", max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            raise AssertionError(f"no matching team; the last were {seen[-3:]}") from None
        seen.append(team)
        if check(team):
            return team


async def told_until_pong(ws: WsClient) -> list[dict[str, Any]]:
    """Everything the hub has queued for this socket so far (a ping's pong comes last)."""
    ref = "sentinel-" + secrets.token_hex(4)
    await ws.send({"type": "ping", "ref": ref})
    told = []
    while (message := await ws.recv())["type"] != "pong" or message.get("ref") != ref:
        told.append(message)
    return told


@pytest.fixture
def boss(accounts: Accounts) -> Callable[..., Awaitable[str]]:
    async def add(town: Town, role: str = "supervisor") -> str:
        username = f"{town.id}-{role}"
        await accounts.add_operator(username, town.id, role, PASSWORD)  # type: ignore[arg-type]
        return username

    return add


async def test_a_supervisor_is_pushed_every_state_an_operator_goes_through(
    make_town: Callable[..., Awaitable[Town]],
    boss: Callable[..., Awaitable[str]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    operator, supervisor = town.operators[0], await boss(town)
    watching = await operator_ws(supervisor)
    first = await team_until(watching, lambda t: True)  # right after the welcome
    assert (first["town_id"], states(first)[operator]) == (town.id, "offline")

    desk = await operator_ws(operator)
    await team_until(watching, lambda t: states(t)[operator] == "away")
    await desk.send({"type": "set_availability", "state": "available"})
    await team_until(watching, lambda t: states(t)[operator] == "available")
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": secrets.token_hex(8)})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    ringing = await team_until(watching, lambda t: states(t)[operator] == "ringing")
    me = next(op for op in ringing["operators"] if op["username"] == operator)
    assert (me["ringing"], me["call_id"], me["availability"]) == (call_id, None, "available")


async def test_operators_get_no_team_and_a_supervisor_never_sees_another_town(
    make_town: Callable[..., Awaitable[Town]],
    boss: Callable[..., Awaitable[str]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    home, other = await make_town(operators=2), await make_town(operators=1)
    home_boss, other_boss = await boss(home), await boss(other)
    watching_home, watching_other = await operator_ws(home_boss), await operator_ws(other_boss)
    other_teams = [await watching_other.recv_type("team")]
    desk, colleague = await operator_ws(home.operators[0]), await operator_ws(home.operators[1])
    await desk.recv_type("welcome")
    await desk.send({"type": "set_availability", "state": "available"})
    await team_until(watching_home, lambda t: states(t)[home.operators[0]] == "available")
    # The change reached the home supervisor: whatever the others were to get is queued.
    told = await told_until_pong(desk) + await told_until_pong(colleague)
    other_teams += [m for m in await told_until_pong(watching_other) if m["type"] == "team"]
    await colleague.send({"type": "watch_team", "town_id": home.id, "ref": "w1"})
    refused = await colleague.recv_type("error")
    await watching_other.send({"type": "watch_team", "town_id": home.id, "ref": "w2"})
    peeking = await watching_other.recv_type("error")

    assert [m for m in told if m["type"] == "team"] == []
    seen_elsewhere = {(t["town_id"], op["username"]) for t in other_teams for op in t["operators"]}
    assert seen_elsewhere == {(other.id, name) for name in (*other.operators, other_boss)}
    assert [(e["code"], e["ref"]) for e in (refused, peeking)] == [
        ("supervisor_only", "w1"), ("other_town", "w2")]  # fmt: skip


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "watch_team"}, "invalid_message"),
        ({"type": "watch_team", "town_id": "../etc"}, "invalid_message"),
        ({"type": "watch_team", "town_id": ""}, "invalid_message"),
        ({"type": "watch_team", "town_id": "t" * 65}, "invalid_message"),
        ({"type": "watch_team", "town_id": "x", "operators": []}, "invalid_message"),
        ({"type": "watch_team", "town_id": "no-such-town"}, "town_not_found"),
    ],
)
async def test_watch_team_is_checked_before_anything_is_watched(
    make_town: Callable[..., Awaitable[Town]],
    boss: Callable[..., Awaitable[str]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    message: dict[str, Any],
    code: str,
) -> None:
    town = await make_town(operators=1)
    admin = await operator_ws(await boss(town, "admin"))
    await team_until(admin, lambda t: t["town_id"] == town.id)
    await admin.send({**message, "ref": "bad"})
    error = await admin.recv_type("error")
    assert (error["code"], error["ref"]) == (code, "bad")


async def test_an_admin_switches_to_another_towns_team(
    make_town: Callable[..., Awaitable[Town]],
    boss: Callable[..., Awaitable[str]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
) -> None:
    home, other = await make_town(operators=1), await make_town(operators=1)
    admin = await operator_ws(await boss(home, "admin"))
    await team_until(admin, lambda t: t["town_id"] == home.id)
    await admin.send({"type": "watch_team", "town_id": other.id, "ref": "pick"})
    reply = await admin.recv_type("team")
    assert (reply["town_id"], reply["ref"], states(reply)) == (
        other.id, "pick", {other.operators[0]: "offline"})  # fmt: skip

    await operator_ws(home.operators[0])  # the home town changes; nobody there is watched
    await operator_ws(other.operators[0])
    pushed = await team_until(admin, lambda t: states(t).get(other.operators[0]) == "away")
    later = [m for m in await told_until_pong(admin) if m["type"] == "team"]
    assert {t["town_id"] for t in [pushed, *later]} == {other.id}


@pytest.fixture
async def second_hub(redis_url: str, artifacts: Path) -> AsyncIterator[HubProcess]:
    hub = HubProcess(redis_url, artifacts).start()
    yield hub
    hub.kill()


async def test_the_team_is_pushed_across_hubs_and_a_dead_hubs_operator_goes_offline(
    make_town: Callable[..., Awaitable[Town]],
    boss: Callable[..., Awaitable[str]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    login: Callable[[str], Awaitable[httpx.AsyncClient]],
    second_hub: HubProcess,
    ws_clients: list[WsClient],
) -> None:
    town = await make_town(operators=1)
    operator = town.operators[0]
    watching = await operator_ws(await boss(town))  # on the session's hub
    await team_until(watching, lambda t: True)
    cookie = (await login(operator)).cookies.get("yijian_session")
    desk = await WsClient.connect(second_hub.ws_base + "/ws/operator",
                                  {"Cookie": f"yijian_session={cookie}"})  # fmt: skip
    ws_clients.append(desk)
    await desk.recv_type("welcome")
    await desk.send({"type": "set_availability", "state": "available"})
    await team_until(watching, lambda t: states(t)[operator] == "available")

    second_hub.kill()  # no hub says goodbye for it: its console's lease lapses
    gone = await team_until(watching, lambda t: states(t)[operator] == "offline", 3 * TIMEOUT)
    assert states(gone)[operator] == "offline"
