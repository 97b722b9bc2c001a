"""Operators' presence for the console: who is available, ringing, busy, in wrap-up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from server.clock import iso, now_ms
from server.deps import AccountsDep, OperatorDep, scoped_town

router = APIRouter(prefix="/api")


@router.get("/presence")
async def presence(
    operator: OperatorDep, accounts: AccountsDep, request: Request, town: str | None = None
) -> dict[str, Any]:
    """Every operator of the town with their live state (supervisors watch this)."""
    town_id = scoped_town(operator, town) or operator.town_id
    hub = request.app.state.hub
    people = await hub.presence.many(await accounts.town_operators(town_id))
    now = now_ms()
    return {
        "town_id": town_id,
        "operators": [
            {
                "username": p.username,
                "state": p.state(now),
                "availability": p.availability,
                "missed_rings": p.missed,
                "call_id": p.live_call,
                "ringing": p.ringing,
                "wrap_until": iso(p.wrap_until) if p.wrap_until > now else None,
            }
            for p in people
        ],
    }
