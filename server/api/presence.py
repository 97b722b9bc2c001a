"""Operators' presence for the console: who is available, ringing, busy, in wrap-up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from server.api.deps import AccessDep, AccountsDep, needs
from server.clock import now_ms
from server.queue.views import team_view

router = APIRouter(prefix="/api")


@router.get("/presence", **needs("operator"))
async def presence(
    who: AccessDep, accounts: AccountsDep, request: Request, town: str | None = None
) -> dict[str, Any]:
    """Every operator of the town with their live state (the console's fallback: the
    hub pushes the same to supervisors as ``team``)."""
    town_id = who.scope(town) or who.operator.town_id
    people = await request.app.state.presence.many(await accounts.town_operators(town_id))
    return team_view(town_id, people, now_ms()).model_dump(include={"town_id", "operators"})
