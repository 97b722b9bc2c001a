"""Managing operators (supervisors their own town, admins any) and kiosks (admins).
The kiosks' list, with their health, is ``server.api.fleet``'s ``GET /api/kiosks``.

Thin: the verbs are ``server.accounts.staff.Staff``'s, which end the operator's
sessions and close their sockets at once; who may use them is ``AccessDep``'s rule.
A supervisor never touches an admin, never makes one, never reaches another town;
nobody disables, demotes or moves themselves (another admin or supervisor must).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from server.accounts import access
from server.accounts.accounts import Role
from server.accounts.staff import Staff
from server.api.deps import AccessDep, AccountsDep, AuditDep, needs
from server.errors import BadRequest, Forbidden

router = APIRouter(prefix="/api", tags=["staff"])
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
KioskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ID = r"^[A-Za-z0-9_-]{1,64}$"


def _staff(request: Request) -> Staff:
    return Staff(request.app.state.accounts)


StaffDep = Annotated[Staff, Depends(_staff)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewOperator(Body):
    username: str = Field(pattern=ID)
    town_id: str = Field(pattern=ID)
    role: Role = "operator"
    password: str = Field(min_length=8, max_length=256)


class OperatorChange(Body):
    """One or more changes; each ends the operator's sessions and sockets."""

    disabled: bool | None = None
    role: Role | None = None
    town_id: str | None = Field(default=None, pattern=ID)
    password: str | None = Field(default=None, min_length=8, max_length=256)


class OperatorOut(BaseModel):
    username: str
    town_id: str
    role: Role
    disabled: bool


class OperatorList(BaseModel):
    items: list[OperatorOut]


class KioskToken(BaseModel):
    id: str
    token: str


@router.get("/operators", **needs("supervisor"))
async def list_operators(who: AccessDep, staff: StaffDep, town: str | None = None) -> OperatorList:
    """The operators of the town (an admin: of any town, or all without ``town``)."""
    items = await staff.list(who.scope(town))
    return OperatorList(items=[OperatorOut(**item) for item in items])


@router.post("/operators", status_code=201, **needs("supervisor"))
async def add_operator(
    body: NewOperator, who: AccessDep, staff: StaffDep, audit: AuditDep
) -> OperatorOut:
    town_id = who.town(body.town_id, "supervisor", "add operators")
    access.may_grant(who.operator, body.role)
    op = await staff.add(body.username, town_id, body.role, body.password)
    await audit("operator_added", town_id, op.username, role=op.role)
    return OperatorOut(username=op.username, town_id=op.town_id, role=op.role, disabled=False)


@router.patch("/operators/{username}", **needs("supervisor"))
async def change_operator(
    username: Username, body: OperatorChange, who: AccessDep, accounts: AccountsDep,
    staff: StaffDep, audit: AuditDep,
) -> OperatorOut:  # fmt: skip
    target = await accounts.operator(username)
    who.see(target.town_id, "operator", username)
    if target.role == "admin":
        who.require("admin", "change an admin")
    given = body.model_fields_set
    if not given:
        raise BadRequest("say what to change: disabled, role, town_id or password",
                         code="nothing_to_change")  # fmt: skip
    if username == who.operator.username and given & {"disabled", "role", "town_id"}:
        raise Forbidden("you may not disable, demote or move yourself; ask another",
                        code="not_yourself")  # fmt: skip
    if body.role is not None:
        access.may_grant(who.operator, body.role)
    if body.town_id is not None:
        who.town(body.town_id, "supervisor", "move operators")
    # every check is done: now the changes, each ending the sessions and each audited
    town = target.town_id
    if body.password is not None:
        await staff.reset_password(username, body.password)
        await audit("operator_password_reset", town, username)
    if body.role is not None:
        await staff.set_role(username, body.role)
        await audit("operator_role_changed", town, username, to=body.role, **{"from": target.role})
    if body.town_id is not None and body.town_id != town:
        await staff.move(username, body.town_id)
        for side in (town, body.town_id):  # both towns' logs tell it
            await audit("operator_moved", side, username, to=body.town_id, **{"from": town})
        town = body.town_id
    if body.disabled is not None:
        await staff.set_disabled(username, body.disabled)
        await audit("operator_disabled" if body.disabled else "operator_enabled", town, username)
    op = await accounts.operator(username)
    return OperatorOut(username=op.username, town_id=op.town_id, role=op.role,
                       disabled=op.disabled)  # fmt: skip


@router.post("/kiosks/{kiosk_id}/rotate", **needs("admin"))
async def rotate_kiosk(kiosk_id: KioskId, accounts: AccountsDep, audit: AuditDep) -> KioskToken:
    """A new token (shown once); the old one is refused and its socket closed at once."""
    token = await accounts.rotate_kiosk(kiosk_id)
    await audit("kiosk_rotated", (await accounts.kiosk(kiosk_id)).town_id, kiosk_id)
    return KioskToken(id=kiosk_id, token=token)


@router.post("/kiosks/{kiosk_id}/revoke", status_code=204, **needs("admin"))
async def revoke_kiosk(kiosk_id: KioskId, accounts: AccountsDep, audit: AuditDep) -> None:
    """The token is refused and the socket closed at once, until a rotate."""
    await accounts.revoke_kiosk(kiosk_id)
    await audit("kiosk_revoked", (await accounts.kiosk(kiosk_id)).town_id, kiosk_id)
