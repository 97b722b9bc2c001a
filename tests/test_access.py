"""Every route in the OpenAPI document and every WebSocket message type, tried by
someone who should get nothing: an anonymous client, an operator (and a supervisor)
of another town, and a plain operator where a supervisor or an admin is needed. Each
gets 401, 403 or 404 (an ``error`` on a socket), never the other town's data.

The lists are walked, not written out: a new route must say who may use it
(``x-role``), and a new message type or request body needs a sample here, or this
fails."""

from __future__ import annotations

import typing
from typing import Any

import httpx
import pytest
import websockets

from server.store import keys
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, fake_sdp
from tests.tracking_support import seed_calls
from yijian import protocol as p

ROLES = ("public", "operator", "supervisor", "admin")
REFUSED = {401, 403, 404}


class Theirs:
    """Town B's things, the targets: a past call with its request, a live call, a
    kiosk, an operator."""

    def __init__(self, town: Any, call: str, request: str, live: str) -> None:
        self.town, self.call, self.request, self.live = town, call, request, live
        self.kiosk = next(iter(town.kiosks))
        self.operator = town.operators[0]

    @property
    def marks(self) -> tuple[str, ...]:
        """What must never show up in an answer to a stranger."""
        return (self.town.id, self.call, self.request, self.live, self.kiosk)

    def path_value(self, name: str) -> str:
        return {"call_id": self.call, "request_id": self.request, "town_id": self.town.id,
                "username": self.operator, "kiosk_id": self.kiosk}[name]  # fmt: skip


def bodies(theirs: Theirs) -> dict[tuple[str, str], Any]:
    """A valid body for every route that takes one, aimed at town B."""
    return {
        ("post", "/api/auth/login"): {"username": "nobody", "password": "wrong-password"},
        ("put", "/api/calls/{call_id}/request"): {
            "summary": "改掉",
            "category": "其他",
            "status": "resolved",
        },
        ("patch", "/api/requests/{request_id}"): {"status": "resolved"},
        ("post", "/api/requests/{request_id}/notes"): {"text": "看看"},
        ("post", "/api/requests/{request_id}/anonymise"): {"reason": "walk"},
        ("delete", "/api/requests/{request_id}"): {"reason": "walk"},
        ("put", "/api/towns/{town_id}/settings"): {"max_wait_s": 1},
        ("put", "/api/towns/{town_id}/categories"): {"categories": ["改掉"]},
        ("post", "/api/operators"): {
            "username": "intruder",
            "town_id": theirs.town.id,
            "role": "admin",
            "password": "long enough pw",
        },
        ("patch", "/api/operators/{username}"): {"disabled": True},
    }


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/")
    ]


async def attempt(
    http: httpx.AsyncClient, method: str, path: str, op: dict[str, Any], theirs: Theirs,
    body: Any,
) -> httpx.Response:  # fmt: skip
    url = path
    for param in op.get("parameters", []):
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", theirs.path_value(param["name"]))
    query = {"town": theirs.town.id} if any(
        q["name"] == "town" and q["in"] == "query" for q in op.get("parameters", [])
    ) else {}  # fmt: skip
    return await http.request(method, url, params=query, json=body)


@pytest.fixture
async def theirs(make_town, redis, kiosk_ws, operator_ws) -> Theirs:
    town = await make_town(kiosks=1, operators=1)
    past = (await seed_calls(redis, town.id, 1, abandon_every=99)).calls[0]
    console = await operator_ws(town.operators[0])  # so B's queue keeps the call
    await console.recv_type("welcome")
    kiosk = await kiosk_ws(next(iter(town.kiosks.values())))
    await kiosk.recv_type("welcome")
    await kiosk.send({"type": "call_request", "idempotency_key": "access-walk-1"})
    live = (await kiosk.recv_type("call_queued"))["call_id"]
    return Theirs(town, past.id, past.extra["request_id"], live)


async def test_every_route_refuses_strangers_and_gives_no_other_towns_data(
    hub, make_town, accounts, login, theirs
):
    home = await make_town(kiosks=0, operators=1)
    await accounts.add_operator(f"{home.id}-sup", home.id, "supervisor", PASSWORD)
    samples = bodies(theirs)
    anonymous = httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT)
    doc = (await anonymous.get("/openapi.json")).json()
    strangers = {"operator of another town": await login(home.operators[0]),
                 "supervisor of another town": await login(f"{home.id}-sup")}  # fmt: skip
    plain = await login(theirs.operator)  # B's own operator, where more is needed
    before = await accounts.redis.hgetall(keys.request(theirs.request))
    wrong: list[str] = []

    for method, path, op in operations(doc):
        role = op.get("x-role")
        if role not in ROLES:
            wrong.append(f"{method.upper()} {path} does not say who may use it (x-role)")
            continue
        if "requestBody" in op and (method, path) not in samples:
            wrong.append(f"{method.upper()} {path} takes a body this test has no sample of")
            continue
        if role == "public":
            continue
        body = samples.get((method, path))
        tries = [("anonymous", anonymous, {401})]
        tries += [(who, http, REFUSED) for who, http in strangers.items()]
        if role != "operator":
            tries.append(("plain operator of the town", plain, {403}))
        for who, http, expected in tries:
            answer = await attempt(http, method, path, op, theirs, body)
            targeted = "{" in path or body is not None or "town" in str(op.get("parameters", []))
            # an error may echo what was asked; an answer must hold nothing of B's
            leaked = [m for m in theirs.marks if answer.is_success and m in answer.text]
            if answer.status_code not in expected and (targeted or answer.status_code >= 300):
                wrong.append(f"{method.upper()} {path} as {who}: {answer.status_code} "
                             f"{answer.text[:120]}")  # fmt: skip
            elif leaked:
                wrong.append(f"{method.upper()} {path} as {who} shows {leaked}")
    await anonymous.aclose()

    assert wrong == []
    assert await accounts.redis.hgetall(keys.request(theirs.request)) == before


def message_types(union: Any) -> list[type[p.BaseModel]]:
    members = typing.get_args(typing.get_args(union)[0])
    return list(members)


def samples(theirs: Theirs, kiosk_side: bool) -> dict[str, dict[str, Any]]:
    """Every message a client may send, aimed at town B's live call, kiosk, request
    and town."""
    call = theirs.live
    ice = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
           "sdpMid": "0", "sdpMLineIndex": 0}  # fmt: skip
    return {
        "hangup": {"type": "hangup", "call_id": call},
        "sdp": {
            "type": "sdp",
            "call_id": call,
            "description": fake_sdp("offer" if kiosk_side else "answer"),
        },
        "ice": {"type": "ice", "call_id": call, "candidate": ice},
        "media_state": {"type": "media_state", "call_id": call, "state": "connected"},
        "answer": {"type": "answer", "call_id": call},
        "callback": {"type": "callback", "kiosk_id": theirs.kiosk, "request_id": theirs.request},
        "watch_team": {"type": "watch_team", "town_id": theirs.town.id},
        "rating": {"type": "rating", "call_id": theirs.call, "value": "unsatisfied"},
        "callback_answer": {"type": "callback_answer", "call_id": call, "accept": True},
        # their own: nothing of B's can come back, and they are allowed
        "ping": {"type": "ping"},
        "set_availability": {"type": "set_availability", "state": "away"},
        "call_request": {"type": "call_request", "idempotency_key": "access-walk-own"},
        "heartbeat": {"type": "heartbeat", "version": "walk"},
    }


OWN = {"ping", "set_availability", "call_request", "heartbeat"}


def type_name(model: type[p.BaseModel]) -> str:
    return typing.get_args(model.model_fields["type"].annotation)[0]  # type: ignore[no-any-return]


async def refusals(
    client: Any, messages: dict[str, dict[str, Any]], names: list[str], theirs: Theirs
) -> list[str]:
    """Send each message (and a ping after it, to know when its answers are all in):
    a stranger's message must get an ``error``, and no answer may show B's things."""
    wrong = []
    for name in [n for n in names if n in messages]:  # the others fail as missing
        await client.send({**messages[name], "ref": f"walk-{name}"})
        await client.send({"type": "ping", "ref": f"after-{name}"})
        replies = []
        while (reply := await client.recv()) != {"type": "pong", "ref": f"after-{name}"}:
            replies.append(reply)
        if name not in OWN and not any(r["type"] == "error" for r in replies):
            wrong.append(f"{name} was not refused: {replies}")
        shown = [
            r for r in replies if r["type"] != "error" and any(m in str(r) for m in theirs.marks)
        ]
        if shown:
            wrong.append(f"{name} showed B's: {shown}")
    return wrong


async def test_every_socket_message_refuses_strangers(
    hub, make_town, accounts, theirs, operator_ws, kiosk_ws, ws_clients
):
    home = await make_town(kiosks=1, operators=1)
    await accounts.add_operator(f"{home.id}-sup", home.id, "supervisor", PASSWORD)
    op_types = [type_name(m) for m in message_types(p.OperatorMessage)]
    kiosk_types = [type_name(m) for m in message_types(p.KioskMessage)]
    missing = [t for t in op_types + kiosk_types if t not in samples(theirs, False)]
    refused_anonymous = []
    for path in ("/ws/operator", "/ws/kiosk"):
        with pytest.raises(websockets.InvalidStatus) as caught:
            await websockets.connect(hub.ws_base + path, open_timeout=TIMEOUT)
        refused_anonymous.append(caught.value.response.status_code)

    wrong = []
    for username in (home.operators[0], f"{home.id}-sup"):
        console = await operator_ws(username)
        await console.recv_type("welcome")
        wrong += await refusals(console, samples(theirs, False), op_types, theirs)
    kiosk = await kiosk_ws(next(iter(home.kiosks.values())))
    await kiosk.recv_type("welcome")
    wrong += await refusals(kiosk, samples(theirs, True), kiosk_types, theirs)
    plain = await operator_ws(theirs.operator)  # B's own plain operator: no team
    await plain.recv_type("welcome")
    await plain.send({**samples(theirs, False)["watch_team"], "ref": "plain-team"})
    team_refused = await plain.recv_type("error")

    assert missing == [] and refused_anonymous == [401, 401]
    assert wrong == []
    assert team_refused["code"] == "supervisor_only"
