"""The fleet view: every kiosk of a town with its health and alerts (supervisors and
admins; ``server.tracking.fleet`` explains where each figure comes from)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from server.api.deps import AccessDep, needs
from server.store import keys
from server.tracking.fleet_view import KioskHealth, town_fleet

router = APIRouter(prefix="/api", tags=["kiosks"])


class KioskList(BaseModel):
    items: list[KioskHealth]


@router.get("/kiosks", **needs("supervisor"))
async def list_kiosks(who: AccessDep, request: Request, town: str | None = None) -> KioskList:
    """The kiosks of the town (an admin: of any town, or every town without ``town``),
    by id, each with ``online``, ``last_seen``, ``last_call``, ``self_test``, the button,
    ``version`` and ``alerts``. Never a token."""
    redis = request.app.state.redis
    scope = who.scope(town)
    towns = [scope] if scope is not None else sorted(await redis.smembers(keys.TOWNS))
    items = [kiosk for town_id in towns for kiosk in await town_fleet(redis, town_id)]
    return KioskList(items=items)
