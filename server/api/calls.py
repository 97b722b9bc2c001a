"""The REST API: thin routes over the account and call stores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from server.accounts.accounts import SESSION_COOKIE, home_town
from server.accounts.audit import Actor
from server.api.deps import (
    PUBLIC,
    AccessDep,
    AccountsDep,
    AuditDep,
    CallLogDep,
    CallsDep,
    OperatorDep,
    needs,
)
from server.api.http_edge import client_address, is_https
from server.api.reports import CallFilterDep
from server.errors import BadState
from server.store import keys
from server.tracking.calllog import MAX_LIMIT
from server.tracking.request_model import SAVE_STATUSES, Changes

router = APIRouter(prefix="/api")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RequestBody(Body):
    summary: str = Field(min_length=1, max_length=2000)
    category: str = Field(min_length=1, max_length=40)
    status: Literal["open", "in_progress", "resolved", "closed"]


def operator_json(op: Any, town_name: str) -> dict[str, str]:
    return {"username": op.username, "town_id": op.town_id, "town_name": town_name, "role": op.role}


@router.post("/auth/login", **PUBLIC)
async def login(body: LoginBody, request: Request, accounts: AccountsDep) -> JSONResponse:
    settings = request.app.state.settings
    address = client_address(request, settings.trusted_proxies)
    operator, token = await accounts.login(body.username, body.password, address)
    # a new token at every login; the one this browser held before (if any) ends
    await accounts.logout(request.cookies.get(SESSION_COOKIE))
    town = await accounts.town(operator.town_id)
    response = JSONResponse(operator_json(operator, town.name))
    secure = (settings.cookie_secure or is_https(request, settings.trusted_proxies)
              or (settings.public_origin or "").startswith("https://"))  # fmt: skip
    response.set_cookie(
        SESSION_COOKIE, token, max_age=accounts.session_ttl_s, httponly=True,
        samesite="strict", secure=secure, path="/",
    )  # fmt: skip
    return response


@router.post("/auth/logout", status_code=204, **PUBLIC)
async def logout(request: Request, accounts: AccountsDep) -> Response:
    if username := await accounts.logout(request.cookies.get(SESSION_COOKIE)):
        op = await accounts.operator(username)
        address = client_address(request, request.app.state.settings.trusted_proxies)
        await accounts.audit.record(Actor(username, op.role, address), "logout", home_town(op),
                                    username)  # fmt: skip
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", **needs("operator"))
async def me(operator: OperatorDep, accounts: AccountsDep) -> dict[str, str]:
    town = await accounts.town(operator.town_id)
    return operator_json(operator, town.name)


@router.get("/config", **needs("operator"))
async def config(operator: OperatorDep, request: Request) -> dict[str, Any]:
    return {
        "ice_servers": [
            s.model_dump(exclude_none=True) for s in request.app.state.settings.ice_servers
        ],
        "categories": await request.app.state.categories.of(operator.town_id),
        "request_statuses": list(SAVE_STATUSES),
        # the town's clock, so "today" in the console is the town's day
        "utc_offset_h": (await request.app.state.towns.settings(operator.town_id)).utc_offset_h,
    }


@router.get("/towns", **needs("operator"))
async def towns(who: AccessDep, accounts: AccountsDep) -> dict[str, Any]:
    """The towns this operator may look at (an admin: all of them), with their names."""
    own = who.scope(None)
    ids = [own] if own is not None else sorted(await accounts.redis.smembers(keys.TOWNS))
    found = [await accounts.town(town_id) for town_id in ids]
    return {"items": [{"id": t.id, "name": t.name} for t in found]}


@router.get("/calls", **needs("operator"))
async def list_calls(
    flt: CallFilterDep,
    log: CallLogDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")] = None,
) -> dict[str, Any]:
    """The call log; besides town, kiosk, status, since and until it filters by village,
    operator and ``q`` (text of the call's request)."""
    items, next_cursor = await log.page(flt, limit, cursor)
    return {"items": [c.to_api() for c in items], "next_cursor": next_cursor}


@router.get("/calls/{call_id}", **needs("operator"))
async def get_call(
    call_id: str, who: AccessDep, calls: CallsDep, audit: AuditDep
) -> dict[str, Any]:
    call = who.call(await calls.get(call_id))
    await audit("call_viewed", call.town_id, call.id)
    return {**call.to_api(), "events": await calls.events(call.id)}


@router.put("/calls/{call_id}/request", **needs("operator"))
async def save_request(
    call_id: str, body: RequestBody, who: AccessDep, calls: CallsDep, request: Request,
    audit: AuditDep,
) -> dict[str, Any]:  # fmt: skip
    call, operator = who.call(await calls.get(call_id)), who.operator
    if call.answered_at is None:
        raise BadState(f"call {call_id} was never answered; it has no request to save")
    who.own_work(call.operator, f"call {call_id}")
    changes = Changes(**body.model_dump())
    await request.app.state.requests.save_from_call(call, changes, operator)
    saved = await calls.get(call.id)
    await audit("request_changed", call.town_id, saved.extra.get("request_number", ""),
                call_id=call.id, fields=sorted(body.model_fields_set))  # fmt: skip
    await request.app.state.queue.request_saved(operator.username)  # ends the wrap-up early
    return {**saved.to_api(), "events": await calls.events(call.id)}
