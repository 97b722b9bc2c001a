"""Dependencies shared by the REST routes: the stores on app.state, and the one place a
route learns who is asking and what they may do (``server.accounts.access``'s rule).

Every route declares what it needs with ``**needs(role)`` (or ``**PUBLIC``): that
both checks the role before the route runs and writes it into the OpenAPI document
(``x-role``), where the access test (``tests/test_access.py``) finds every route.
Inside, the route asks its ``AccessDep`` which town it may look at (``scope``), whether
a record may be seen (``see``, else 404), or whether a town may be changed (``town``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Cookie, Depends, Request
from pydantic import BaseModel

from server.accounts import access
from server.accounts.accounts import Accounts, Operator, Role
from server.accounts.audit import Actor, Audit
from server.forwarded import client_address
from server.queue.calls import CallStore
from server.queue.records import CallRecord
from server.tracking.calllog import CallLog


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every refusal: ``{"error": {"code", "message"}}`` (``server.errors``)."""

    error: ErrorDetail


ERROR_STATUSES = {
    400: "malformed input or a broken rule", 401: "not logged in, or the session ended",
    403: "logged in, but not allowed", 404: "no such thing (or another town's)",
    409: "the thing is in the wrong state", 422: "the request does not match its schema",
    429: "throttled; see Retry-After",
}  # fmt: skip


def error_responses(extra: dict[int | str, Any] | None = None) -> dict[int | str, Any]:
    declared: dict[int | str, Any] = {
        status: {"model": ErrorBody, "description": text} for status, text in ERROR_STATUSES.items()
    }
    return {**declared, **(extra or {})}


PUBLIC: dict[str, Any] = {"openapi_extra": {"x-role": "public"}, "responses": error_responses()}


def accounts(request: Request) -> Accounts:
    return request.app.state.accounts  # type: ignore[no-any-return]


def calls(request: Request) -> CallStore:
    return request.app.state.calls  # type: ignore[no-any-return]


def call_log(request: Request) -> CallLog:
    return request.app.state.call_log  # type: ignore[no-any-return]


async def current_operator(
    accounts: Annotated[Accounts, Depends(accounts)],
    yijian_session: Annotated[str | None, Cookie()] = None,
) -> Operator:
    return await accounts.session_operator(yijian_session)


class Access:
    """What the logged-in operator may see and change; the town always from their record."""

    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    def scope(self, town: str | None) -> str | None:
        """The town a list covers (``None``: every town, for an admin)."""
        return access.town_scope(self.operator, town)

    def town(self, town_id: str, role: Role = "operator", what: str = "") -> str:
        """A town in the path: one the operator may see, with at least ``role`` there."""
        return access.own_town(self.operator, town_id, role, what)

    def see(self, town_id: str, kind: str, thing_id: str) -> None:
        access.see(self.operator, town_id, kind, thing_id)

    def call(self, call: CallRecord) -> CallRecord:
        self.see(call.town_id, "call", call.id)
        return call

    def own_work(self, owner: str | None, what: str) -> None:
        access.own_work(self.operator, owner, what)

    def require(self, role: Role, what: str = "do this") -> None:
        access.require(self.operator, role, what)


async def current_access(operator: Annotated[Operator, Depends(current_operator)]) -> Access:
    return Access(operator)


class Auditor:
    """The audit log, with the asker and their address filled in (``server.accounts.audit``)."""

    def __init__(self, audit: Audit, actor: Actor) -> None:
        self.audit = audit
        self.actor = actor

    async def __call__(
        self, action: str, town_id: str | None, target: str = "", **details: Any
    ) -> None:
        await self.audit.record(self.actor, action, town_id, target, **details)


async def current_auditor(
    request: Request, who: Annotated[Access, Depends(current_access)]
) -> Auditor:
    address = client_address(request, request.app.state.settings.trusted_proxies)
    op = who.operator
    return Auditor(request.app.state.accounts.audit, Actor(op.username, op.role, address))


def needs(role: Role, responses: dict[int | str, Any] | None = None) -> dict[str, Any]:
    """A route's keyword arguments: refuse anyone below ``role``, and say so in OpenAPI,
    with the error answers every route may give (and the route's own ``responses``)."""

    async def check(who: Annotated[Access, Depends(current_access)]) -> None:
        who.require(role)

    return {"dependencies": [Depends(check)], "openapi_extra": {"x-role": role},
            "responses": error_responses(responses)}  # fmt: skip


AccountsDep = Annotated[Accounts, Depends(accounts)]
CallsDep = Annotated[CallStore, Depends(calls)]
CallLogDep = Annotated[CallLog, Depends(call_log)]
OperatorDep = Annotated[Operator, Depends(current_operator)]
AccessDep = Annotated[Access, Depends(current_access)]
AuditDep = Annotated[Auditor, Depends(current_auditor)]
