"""Ended credentials end their sockets at once: logout, a password reset, a changed
role or town, a disabled operator, a rotated or revoked kiosk token (docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx
import pytest
import websockets

from server.accounts.accounts import Accounts
from server.accounts.staff import Staff
from server.store import keys
from tests.conftest import PASSWORD
from tests.support import ROOT, TIMEOUT, WsClient, yijian_cmd

REVOKED = 4001


async def closed_with(client: WsClient) -> int | None:
    """Read until the hub closes the socket; its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await client.socket.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture
def console_of(hub, ws_clients):
    """A console opened with the session of this logged-in HTTP client."""

    async def connect(http: httpx.AsyncClient) -> WsClient:
        cookie = {"Cookie": f"yijian_session={http.cookies.get('yijian_session')}"}
        client = await WsClient.connect(hub.ws_base + "/ws/operator", cookie)
        ws_clients.append(client)
        await client.recv_type("welcome")
        return client

    return connect


def admin(redis_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        yijian_cmd("admin", "--redis-url", redis_url, *args), input=stdin, cwd=ROOT,
        capture_output=True, text=True, timeout=TIMEOUT * 4, check=True,
    )  # fmt: skip


async def test_logout_closes_that_sessions_console_and_keeps_the_others(
    console_of, make_town, hub, login
):
    town = await make_town(kiosks=0)
    leaving, staying = await login(town.operators[0]), await login(town.operators[0])
    left_tab, other_tab = await console_of(leaving), await console_of(staying)

    await leaving.post("/api/auth/logout")
    code = await closed_with(left_tab)
    await other_tab.send({"type": "ping", "ref": "still"})
    pong = await other_tab.recv_type("pong")

    assert code == REVOKED and pong["ref"] == "still"


async def test_a_password_reset_ends_every_session_and_socket(
    console_of, make_town, hub, login, accounts
):
    town = await make_town(kiosks=0)
    http = await login(town.operators[0])
    console = await console_of(http)

    await Staff(accounts).reset_password(town.operators[0], "a brand new secret")
    code = await closed_with(console)
    me = await http.get("/api/me")

    assert code == REVOKED and me.status_code == 401


async def test_a_demoted_supervisor_is_cut_off_from_the_team(
    console_of, make_town, hub, accounts, login
):
    town = await make_town(kiosks=0, operators=0)
    await accounts.add_operator(f"{town.id}-boss", town.id, "supervisor", PASSWORD)
    http = await login(f"{town.id}-boss")
    console = await console_of(http)
    await console.recv_type("team")

    admin_cli = await asyncio.to_thread(
        admin, hub.redis_url, "operator", "role", f"{town.id}-boss", "operator"
    )
    code = await closed_with(console)
    again = await login(f"{town.id}-boss")
    fresh = await console_of(again)
    await fresh.send({"type": "watch_team", "town_id": town.id, "ref": "w"})
    refused = await fresh.recv_type("error")

    assert admin_cli.returncode == 0 and code == REVOKED
    assert refused["code"] == "supervisor_only"


async def test_a_disabled_operator_is_cut_off_and_cannot_log_in(console_of, make_town, hub, login):
    town = await make_town(kiosks=0)
    http = await login(town.operators[0])
    console = await console_of(http)

    await asyncio.to_thread(admin, hub.redis_url, "operator", "disable", town.operators[0])
    code = await closed_with(console)
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as fresh:
        body = {"username": town.operators[0], "password": PASSWORD}
        refused = await fresh.post("/api/auth/login", json=body)
    await asyncio.to_thread(admin, hub.redis_url, "operator", "enable", town.operators[0])
    back = await login(town.operators[0])

    assert code == REVOKED and refused.status_code == 401
    assert (await back.get("/api/me")).status_code == 200


async def test_a_moved_operator_leaves_the_old_towns_list_and_rings(
    console_of, make_town, hub, login, accounts, redis, kiosk_ws
):
    home = await make_town(operators=2)
    elsewhere = await make_town(kiosks=0, operators=0)
    moved, stays = home.operators
    old_console = await console_of(await login(moved))

    await Staff(accounts).move(moved, elsewhere.id)
    code = await closed_with(old_console)
    consoles = [await console_of(await login(name)) for name in (moved, stays)]
    for console in consoles:
        await console.send({"type": "set_availability", "state": "available"})
        await console.recv_type("availability")
    kiosk = await kiosk_ws(next(iter(home.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "moved-away-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    ring = await consoles[1].recv_type("ring")  # rings are written before they are sent
    moved_ringing = await redis.hget(keys.presence(moved), "ringing")

    assert code == REVOKED and ring["call"]["id"] == call_id
    assert moved not in await accounts.town_operators(home.id)
    assert moved in await accounts.town_operators(elsewhere.id)
    assert moved_ringing in (None, "")


@pytest.mark.parametrize("how", ["rotate", "revoke"])
async def test_a_rotated_or_revoked_kiosk_token_is_cut_off(make_town, hub, kiosk_ws, how):
    town = await make_town(operators=0)
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")

    done = await asyncio.to_thread(admin, hub.redis_url, "kiosk", how, kiosk_id)
    code = await closed_with(kiosk)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await kiosk_ws(token)

    assert code == REVOKED and refused.value.response.status_code == 401
    if how == "rotate":
        new_token = done.stdout.strip().splitlines()[-1]
        assert new_token != token
        fresh = await kiosk_ws(new_token)
        assert (await fresh.recv_type("welcome"))["kiosk"]["id"] == kiosk_id


async def test_credentials_changed_by_hand_are_caught_by_the_periodic_check(
    console_of, make_town, hub, login, redis, kiosk_ws
):
    """Credentials ended with no message at all (changed in Redis by hand): the hub's
    own check of its sockets closes them within a few seconds."""
    town = await make_town()
    console = await console_of(await login(town.operators[0]))
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")

    await redis.hincrby(keys.operator(town.operators[0]), "epoch", 1)
    await redis.hincrby(keys.kiosk(kiosk_id), "epoch", 1)
    codes = await asyncio.gather(closed_with(console), closed_with(kiosk))

    assert codes == [REVOKED, REVOKED]


async def test_a_revoke_is_kept_in_the_channels_stream_so_a_lost_publication_is_repaired(
    console_of, make_town, login, accounts: Accounts, redis, kiosk_ws
):
    """The change and its message are one step, the message kept in the channel's
    stream as every bus message is (a hub that missed it reads it there,
    tests/test_bus_repair.py)."""
    town = await make_town()
    console = await console_of(await login(town.operators[0]))
    kiosk_id, token = next(iter(town.kiosks.items()))
    kiosk = await kiosk_ws(token)
    await kiosk.recv_type("welcome")
    channels = [keys.kiosk_channel(kiosk_id), keys.operator_channel(town.operators[0])]
    before = [await redis.xrevrange(keys.inbox(c), count=1) for c in channels]

    await accounts.revoke_kiosk(kiosk_id)
    await accounts.end_sessions(town.operators[0])
    codes = await asyncio.gather(closed_with(kiosk), closed_with(console))
    kept = [
        [json.loads(f["m"]) for _, f in await redis.xrange(
            keys.inbox(c), f"({b[0][0]}" if b else "-", "+")]
        for c, b in zip(channels, before, strict=True)
    ]  # fmt: skip

    revoke = {"kind": "revoke", "session": None}
    assert codes == [REVOKED, REVOKED]
    assert [m for m in kept[0] if m.get("kind") == "revoke"] == [revoke]
    assert revoke in kept[1]


async def test_kiosk_tokens_use_a_fast_keyed_hash_and_old_argon2_ones_still_work(
    make_town, accounts: Accounts, redis, kiosk_ws
):
    from server.accounts import passwords

    town = await make_town(operators=0)
    kiosk_id, token = next(iter(town.kiosks.items()))
    stored = await redis.hget(keys.kiosk(kiosk_id), "token_hash")
    # a kiosk added before tokens had a keyed hash: its argon2 hash is upgraded at login
    await redis.hset(keys.kiosk(kiosk_id), "token_hash", await passwords.hash_password(token))
    kiosk = await kiosk_ws(token)
    welcome = await kiosk.recv_type("welcome")
    upgraded = await redis.hget(keys.kiosk(kiosk_id), "token_hash")

    assert stored.startswith("hmac-sha256$") and token.split(".", 1)[1] not in stored
    assert welcome["kiosk"]["id"] == kiosk_id and upgraded == stored
