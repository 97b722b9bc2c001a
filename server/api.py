"""The REST API: thin routes over the account and call stores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from server.calllog import MAX_LIMIT, CallFilter
from server.calls import DEFAULT_CATEGORIES, REQUEST_STATUSES, STATUSES
from server.clock import parse_iso
from server.deps import (
    SESSION_COOKIE,
    AccountsDep,
    CallLogDep,
    CallsDep,
    OperatorDep,
    scoped_town,
    visible_call,
)
from server.errors import BadRequest, BadState, Forbidden

router = APIRouter(prefix="/api")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RequestBody(Body):
    summary: str = Field(min_length=1, max_length=2000)
    category: str = Field(min_length=1, max_length=40)
    status: Literal["open", "in_progress", "resolved"]


def operator_json(op: Any, town_name: str) -> dict[str, str]:
    return {"username": op.username, "town_id": op.town_id, "town_name": town_name, "role": op.role}


@router.post("/auth/login")
async def login(body: LoginBody, request: Request, accounts: AccountsDep) -> JSONResponse:
    operator, token = await accounts.login(body.username, body.password)
    town = await accounts.town(operator.town_id)
    response = JSONResponse(operator_json(operator, town.name))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=accounts.session_ttl_s, httponly=True,
        samesite="strict", secure=request.app.state.settings.cookie_secure, path="/",
    )  # fmt: skip
    return response


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, accounts: AccountsDep) -> Response:
    await accounts.logout(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me")
async def me(operator: OperatorDep, accounts: AccountsDep) -> dict[str, str]:
    town = await accounts.town(operator.town_id)
    return operator_json(operator, town.name)


@router.get("/config")
async def config(operator: OperatorDep, request: Request) -> dict[str, Any]:
    return {
        "ice_servers": [
            s.model_dump(exclude_none=True) for s in request.app.state.settings.ice_servers
        ],
        "categories": list(DEFAULT_CATEGORIES),
        "request_statuses": list(REQUEST_STATUSES),
    }


def _time(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 time; got {value!r}", code="bad_time"
        ) from None


@router.get("/calls")
async def list_calls(
    operator: OperatorDep,
    log: CallLogDep,
    town: str | None = None,
    kiosk: str | None = None,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")] = None,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}; got {status!r}",
                         code="bad_status")  # fmt: skip
    flt = CallFilter(
        town_id=scoped_town(operator, town), kiosk_id=kiosk, status=status,
        since_ms=_time(since, "since"), until_ms=_time(until, "until"),
    )  # fmt: skip
    items, next_cursor = await log.page(flt, limit, cursor)
    return {"items": [c.to_api() for c in items], "next_cursor": next_cursor}


@router.get("/calls/{call_id}")
async def get_call(call_id: str, operator: OperatorDep, calls: CallsDep) -> dict[str, Any]:
    call = visible_call(operator, await calls.get(call_id))
    return {**call.to_api(), "events": await calls.events(call.id)}


@router.put("/calls/{call_id}/request")
async def save_request(
    call_id: str, body: RequestBody, operator: OperatorDep, calls: CallsDep, request: Request
) -> dict[str, Any]:
    call = visible_call(operator, await calls.get(call_id))
    if call.answered_at is None:
        raise BadState(f"call {call_id} was never answered; it has no request to save")
    if call.operator != operator.username and operator.role == "operator":
        raise Forbidden(f"call {call_id} was answered by {call.operator}", code="not_your_call")
    saved = await calls.save_request(call, body.model_dump(), by=operator.username)
    await request.app.state.hub.request_saved(operator.username)  # ends the wrap-up early
    return {**saved.to_api(), "events": await calls.events(call.id)}
