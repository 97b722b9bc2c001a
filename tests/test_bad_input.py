"""Bad input gets a clear error and disturbs nobody else."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.store import keys
from tests.support import TIMEOUT, WsClient

BAD_MESSAGES = [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    (json.dumps({"type": "teleport"}), "unknown_type"),
    (json.dumps({"no_type": 1}), "unknown_type"),
    (json.dumps({"type": "hangup"}), "invalid_message"),
    (json.dumps({"type": "hangup", "call_id": "x", "extra": 1}), "invalid_message"),
    (json.dumps({"type": "ping", "ref": "r" * 100}), "invalid_message"),
    (json.dumps({"type": "sdp", "call_id": "../../etc", "description": {}}), "invalid_message"),
    (json.dumps({"type": "ping", "pad": "x" * 70_000}), "too_large"),
]


async def assert_errors_then_usable(client: WsClient) -> None:
    for text, code in BAD_MESSAGES:
        await client.send(text)
        reply = await client.recv_type("error")
        assert reply["code"] == code, (text[:40], reply)
        assert reply["message"]
    await client.socket.send(b"\x00binary")
    assert (await client.recv_type("error"))["code"] == "bad_json"
    await client.send({"type": "ping", "ref": "still-there"})
    assert (await client.recv_type("pong"))["ref"] == "still-there"


async def test_kiosk_socket_answers_bad_messages_with_codes_and_stays_usable(make_town, kiosk_ws):
    town = await make_town()
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await assert_errors_then_usable(kiosk)


async def test_operator_socket_answers_bad_messages_with_codes_and_stays_usable(
    make_town, operator_ws
):
    town = await make_town()
    operator = await operator_ws(town.operators[0])
    await operator.recv_type("welcome")
    await assert_errors_then_usable(operator)
    await operator.send({"type": "answer", "call_id": "nosuchcall", "ref": "a1"})
    error = await operator.recv_type("error")
    assert (error["code"], error["ref"]) == ("call_not_found", "a1")


async def test_a_client_that_keeps_misbehaving_is_disconnected_and_others_carry_on(
    make_town, kiosk_ws, operator_ws
):
    town = await make_town(kiosks=2)
    bad_token, good_token = town.kiosks.values()
    bad = await kiosk_ws(bad_token)
    good = await kiosk_ws(good_token)
    operator = await operator_ws(town.operators[0])
    await operator.recv_type("welcome")
    await operator.send({"type": "set_availability", "state": "available"})
    await bad.recv_type("welcome")
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(100):
            await bad.send("garbage")
            await bad.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    await good.recv_type("welcome")
    await good.send({"type": "call_request", "idempotency_key": "good-kiosk-1"})
    call_id = (await good.recv_type("call_queued"))["call_id"]
    assert (await operator.recv_type("ring"))["call"]["id"] == call_id


async def test_wrong_kiosk_token_is_refused_at_the_handshake(hub, make_town):
    town = await make_town()
    kiosk_id = next(iter(town.kiosks))
    for token in (f"{kiosk_id}.wrong", "nodot", ""):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(
                hub.ws_base + "/ws/kiosk", additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=TIMEOUT,
            )  # fmt: skip
        assert refused.value.response.status_code == 401
        assert b"bad_token" in refused.value.response.body


async def test_operator_socket_needs_a_session_and_the_hubs_origin(hub, make_town, login):
    town = await make_town()
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(hub.ws_base + "/ws/operator", open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 401
    http = await login(town.operators[0])
    cookie = f"yijian_session={http.cookies.get('yijian_session')}"
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(
            hub.ws_base + "/ws/operator", origin="http://evil.example",
            additional_headers={"Cookie": cookie}, open_timeout=TIMEOUT,
        )  # fmt: skip
    assert refused.value.response.status_code == 403
    ok = await websockets.connect(
        hub.ws_base + "/ws/operator", origin=hub.base, additional_headers={"Cookie": cookie},
        open_timeout=TIMEOUT,
    )  # fmt: skip
    assert json.loads(await ok.recv())["type"] == "welcome"
    await ok.close()


async def test_wrong_password_is_401_with_a_code(hub, make_town):
    town = await make_town()
    async with httpx.AsyncClient(base_url=hub.base) as http:
        for username in (town.operators[0], "nobody"):
            response = await http.post(
                "/api/auth/login", json={"username": username, "password": "wrong password"}
            )
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "bad_credentials"
        response = await http.post("/api/auth/login", json={"username": "x"})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"
        assert (await http.get("/api/calls")).status_code == 401


async def test_an_operator_of_another_town_cannot_see_or_answer_a_call(
    make_town, kiosk_ws, operator_ws, login
):
    home, other = await make_town(), await make_town()
    kiosk = await kiosk_ws(next(iter(home.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "other-town-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]

    stranger = await login(other.operators[0])
    assert (await stranger.get(f"/api/calls/{call_id}")).status_code == 404
    assert (await stranger.get(f"/api/calls?town={home.id}")).status_code == 403
    listed = (await stranger.get("/api/calls")).json()["items"]
    assert call_id not in [c["id"] for c in listed]
    response = await stranger.put(
        f"/api/calls/{call_id}/request",
        json={"summary": "x", "category": "其他", "status": "open"},
    )
    assert response.status_code == 404

    socket = await operator_ws(other.operators[0])
    await socket.recv_type("welcome")
    await socket.send({"type": "answer", "call_id": call_id})
    assert (await socket.recv_type("error"))["code"] == "call_not_found"
    await socket.send({"type": "hangup", "call_id": call_id})
    assert (await socket.recv_type("error"))["code"] == "call_not_found"


async def test_a_message_the_hub_fails_on_gets_internal_and_the_socket_stays(
    make_town, kiosk_ws, operator_ws, redis
):
    """A defect met while handling one message (here: an ended call's record in Redis
    is of the wrong type) is answered with `internal`, not by closing the socket."""
    town = await make_town()
    operator = await operator_ws(town.operators[0])  # logged in, so the call waits
    await operator.recv_type("welcome")
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "broken-record-1"})
    call_id = (await kiosk.recv_type("call_queued"))["call_id"]
    await kiosk.send({"type": "hangup", "call_id": call_id})
    assert (await kiosk.recv_type("call_ended"))["status"] == "abandoned"
    record = await redis.dump(keys.call(call_id))
    await redis.delete(keys.call(call_id))
    await redis.set(keys.call(call_id), "not a hash")  # broken data, as a defect would leave
    try:
        await kiosk.send({"type": "rating", "call_id": call_id, "value": "satisfied", "ref": "r1"})
        error = await kiosk.recv_type("error")
        await kiosk.send({"type": "ping", "ref": "still-there"})
        pong = await kiosk.recv_type("pong")
    finally:
        await redis.restore(keys.call(call_id), 0, record, replace=True)
    assert (error["code"], error.get("ref")) == ("internal", "r1"), error
    assert pong["ref"] == "still-there"
