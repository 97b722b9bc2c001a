"""Dependencies shared by the REST routes: the stores on app.state and the logged-in operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Request

from server.accounts.accounts import Accounts, Operator
from server.errors import Forbidden, NotFound
from server.queue.calls import CallStore
from server.queue.records import CallRecord
from server.tracking.calllog import CallLog


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


AccountsDep = Annotated[Accounts, Depends(accounts)]
CallsDep = Annotated[CallStore, Depends(calls)]
CallLogDep = Annotated[CallLog, Depends(call_log)]
OperatorDep = Annotated[Operator, Depends(current_operator)]


def scoped_town(operator: Operator, town: str | None) -> str | None:
    """The town an operator may look at: their own, or any for an admin."""
    if operator.role == "admin":
        return town
    if town is not None and town != operator.town_id:
        raise Forbidden(f"you may only see town {operator.town_id!r}", code="other_town")
    return operator.town_id


def visible_call(operator: Operator, call: CallRecord) -> CallRecord:
    """Another town's call does not exist as far as an operator can tell."""
    if operator.role != "admin" and call.town_id != operator.town_id:
        raise NotFound(f"no call {call.id!r}", code="call_not_found")
    return call
