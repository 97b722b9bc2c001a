"""Who may see or change what, in which town: the hub's one access rule.

Three roles, each with everything the one before it has:

- ``operator``: their own town's calls, requests, team and settings (read);
- ``supervisor``: besides, changes their own town (settings, categories, operators);
- ``admin``: every town, kiosks, and making admins.

The town is always the one in the server's record of who is logged in (the session
names the operator; the operator's record names the town), never one a client sends.
A thing of another town (a call, a request, an operator, a kiosk) does not exist for
an operator: asking for it is ``*_not_found``, the same answer as for an id that
exists nowhere. Asking to look at another town as a whole (``?town=B``) is
``other_town`` (403), which says nothing of whether B exists.

The REST routes reach this through ``server.api.deps`` (one dependency per route);
the consoles' socket through ``server.edge.team`` and the call-backs it asks for
(``server.queue.callbacks``). Nothing else decides access.
"""

from __future__ import annotations

from server.accounts.accounts import ROLES, Operator, Role
from server.errors import Forbidden, NotFound

RANK: dict[Role, int] = {role: i for i, role in enumerate(ROLES)}


def at_least(operator: Operator | str, role: Role) -> bool:
    """Whether the operator (or a role by name) has ``role``'s rights or more."""
    held = operator.role if isinstance(operator, Operator) else operator
    return RANK.get(held, -1) >= RANK[role]  # type: ignore[call-overload]


def require(operator: Operator, role: Role, what: str = "do this") -> None:
    """Refuse unless the operator's role is ``role`` or above."""
    if not at_least(operator, role):
        above = "an admin" if role == "admin" else f"a {role} or an admin"
        raise Forbidden(f"only {above} may {what}; you are {operator.role}",
                        code=f"{role}_only")  # fmt: skip


def town_scope(operator: Operator, town: str | None) -> str | None:
    """The town a list or a figure covers: the asked one if the operator may see it,
    else their own; ``None`` (every town) only for an admin who asks for none."""
    if operator.role == "admin":
        return town or None
    if town and town != operator.town_id:
        raise Forbidden(f"you may only see town {operator.town_id!r}; asked for {town!r}",
                        code="other_town")  # fmt: skip
    return operator.town_id


def own_town(operator: Operator, town_id: str, role: Role = "operator", what: str = "") -> str:
    """A town named in a path or a message: the operator's own (any for an admin),
    and a role of at least ``role`` to do ``what`` there."""
    if role != "operator":
        require(operator, role, what or "change the town")
    scoped = town_scope(operator, town_id)
    return scoped or town_id


def see(operator: Operator, town_id: str, kind: str, thing_id: str) -> None:
    """A thing of another town does not exist as far as an operator can tell."""
    if operator.role != "admin":
        of_town(operator.town_id, town_id, kind, thing_id)


def of_town(town_id: str, thing_town: str | None, kind: str, thing_id: str) -> None:
    """The same for a thing used in a town's name, whoever asks (a call-back to a
    kiosk links only that kiosk's town's requests and calls, even for an admin)."""
    if thing_town != town_id:
        raise NotFound(f"no {kind} {thing_id!r}", code=f"{kind}_not_found")


def own_work(operator: Operator, owner: str | None, what: str) -> None:
    """A plain operator changes only their own work (the call they answered); a
    supervisor or an admin anyone's in the towns they may see."""
    if operator.role == "operator" and owner != operator.username:
        raise Forbidden(f"{what} is {owner or 'nobody'}'s, not yours", code="not_your_call")


def may_grant(operator: Operator, role: Role) -> None:
    """Only an admin makes (or unmakes) an admin."""
    if role == "admin" and operator.role != "admin":
        raise Forbidden("only an admin may make an admin", code="admin_only")
