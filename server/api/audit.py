"""``GET /api/audit``: the audit log (``server.accounts.audit``), newest first, paged with
a cursor. A supervisor reads their own town's; an admin any town's (``?town=``) and the
admins' own (``?scope=admin``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from server.accounts.audit import ACTIONS, MAX_LIMIT, Entry
from server.api.deps import AccessDep, AccountsDep, needs
from server.api.tracked import choice
from server.clock import iso

router = APIRouter(prefix="/api", tags=["audit"])
Cursor = Annotated[str | None, Query(max_length=41, pattern=r"^[0-9]{1,20}-[0-9]{1,20}$")]
Name = Annotated[str | None, Query(max_length=80)]


class AuditEntry(BaseModel):
    id: str
    at: str
    actor: str  # a username, "cli", "kiosk:ID" or "hub"
    role: str
    address: str
    action: str
    target: str
    town_id: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


def _out(entry: Entry) -> AuditEntry:
    return AuditEntry(
        id=entry.id, at=iso(entry.at) or "", actor=entry.actor, role=entry.role,
        address=entry.address, action=entry.action, target=entry.target,
        town_id=entry.town_id, details=entry.details,
    )  # fmt: skip


@router.get("/audit", **needs("supervisor"))
async def list_audit(
    who: AccessDep,
    accounts: AccountsDep,
    town: Name = None,
    scope: Literal["town", "admin"] = "town",
    action: Name = None,
    actor: Name = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Cursor = None,
) -> AuditPage:
    """Who did what, when and from where; filter by ``action`` and by ``actor``."""
    if scope == "admin":
        who.require("admin", "read the admins' audit log")
        town_id = None
    else:
        town_id = who.scope(town) or who.operator.town_id
    entries, next_cursor = await accounts.audit.page(
        town_id, limit, cursor, choice(action or None, ACTIONS, "action"), actor or None
    )
    return AuditPage(items=[_out(e) for e in entries], next_cursor=next_cursor)
