"""A town's queue settings over HTTP: everyone of the town reads, supervisors change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import RootModel

from server.accounts.towns import SETTING_NAMES
from server.api.deps import AccessDep, AuditDep, needs

router = APIRouter(prefix="/api")


class SettingsBody(RootModel[dict[str, str | int | float]]):
    """Any of the settings in docs/queue.md, as {name: value}."""


@router.get("/towns/{town_id}/settings", **needs("operator"))
async def get_settings(town_id: str, who: AccessDep, request: Request) -> dict[str, Any]:
    town = who.town(town_id)
    settings = await request.app.state.towns.settings(town)
    return {"town_id": town, "settings": settings.model_dump(), "names": list(SETTING_NAMES)}


@router.put("/towns/{town_id}/settings", **needs("supervisor"))
async def put_settings(
    town_id: str, body: SettingsBody, who: AccessDep, request: Request, audit: AuditDep
) -> dict[str, Any]:
    town = who.town(town_id, "supervisor", "change the queue settings")
    towns = request.app.state.towns
    for name in body.root:  # check all before writing any
        if name not in SETTING_NAMES:
            await towns.set(town, name, "")  # raises the unknown-setting error
    for name, value in body.root.items():
        await towns.set(town, name, str(value), admin=who.operator.role == "admin")
    if body.root:
        await audit("settings_changed", town, town, settings=body.root)
    return await get_settings(town, who, request)
