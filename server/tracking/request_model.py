"""The tracked request as data: its record, its indexes and the rules of its status.

A request is a Redis hash (``keys.request``) with an append-only list of notes and of
history events beside it. See docs/requests.md for the lifecycle.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from server.accounts import access
from server.clock import iso, now_ms
from server.errors import BadRequest, Forbidden
from server.store import keys

REQUEST_STATUSES = ("open", "in_progress", "resolved", "closed")
# What the console offers when saving a call's request; closing is a later step.
SAVE_STATUSES = REQUEST_STATUSES[:3]
UNFINISHED = ("open", "in_progress")
FINISHED = ("resolved", "closed")
KINDS = ("call", "callback")
SATISFACTION = ("satisfied", "unsatisfied")


def new_request_id(at_ms: int) -> str:
    """Time first, like call ids, so the indexes sort by creation."""
    return f"{at_ms:011x}{secrets.token_hex(4)}"


def number(prefix: str, year: int, seq: int) -> str:
    return f"{number_head(prefix, year)}{seq:06d}"  # scripts.CREATE_REQUEST pads it alike


def number_head(prefix: str, year: int) -> str:
    """A request number up to its sequence."""
    return f"{prefix}-{year}-"


@dataclass(frozen=True)
class RequestRecord:
    id: str
    number: str
    town_id: str
    kiosk_id: str
    kiosk_name: str
    village: str
    kind: str
    status: str
    created_at: int
    updated_at: int
    day: str  # the town's local day of creation: the stats bucket it counts in
    category: str = ""
    summary: str = ""
    assignee: str | None = None
    operator: str | None = None  # who answered the call that opened it
    due_at: int | None = None
    resolved_at: int | None = None
    satisfaction: str | None = None
    call_ids: tuple[str, ...] = ()
    lat: str = ""
    long: str = ""
    anonymised_at: int | None = None  # its words blanked on the villager's request (PIPL)

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> RequestRecord:
        def opt_int(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        return cls(
            id=data["id"], number=data["number"], town_id=data["town_id"],
            kiosk_id=data["kiosk_id"], kiosk_name=data.get("kiosk_name", ""),
            village=data.get("village", ""), kind=data.get("kind", "call"),
            status=data["status"], created_at=int(data["created_at"]),
            updated_at=int(data["updated_at"]), day=data.get("day", ""),
            category=data.get("category", ""), summary=data.get("summary", ""),
            assignee=data.get("assignee") or None, operator=data.get("operator") or None,
            due_at=opt_int("due_at"), resolved_at=opt_int("resolved_at"),
            satisfaction=data.get("satisfaction") or None,
            call_ids=tuple(c for c in data.get("call_ids", "").split(",") if c),
            lat=data.get("lat", ""), long=data.get("long", ""),
            anonymised_at=opt_int("anonymised_at"),
        )  # fmt: skip

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id, "number": self.number, "town_id": self.town_id,
            "kiosk_id": self.kiosk_id, "kiosk_name": self.kiosk_name, "village": self.village,
            "kind": self.kind, "status": self.status, "created_at": str(self.created_at),
            "updated_at": str(self.updated_at), "day": self.day, "category": self.category,
            "summary": self.summary, "assignee": self.assignee or "",
            "operator": self.operator or "", "due_at": _opt(self.due_at),
            "resolved_at": _opt(self.resolved_at), "satisfaction": self.satisfaction or "",
            "call_ids": ",".join(self.call_ids), "lat": self.lat, "long": self.long,
            # only once set (it is never unset): no field for it in the other requests
            **({"anonymised_at": str(self.anonymised_at)} if self.anonymised_at else {}),
        }  # fmt: skip

    def overdue(self, at_ms: int | None = None) -> bool:
        at = now_ms() if at_ms is None else at_ms
        return self.due_at is not None and self.due_at < at and self.status in UNFINISHED

    @property
    def saved(self) -> bool:
        """Has anyone written it up yet? Until then its calls show no request."""
        return bool(self.summary)

    def call_view(self) -> dict[str, str]:
        """What each linked call shows as its ``request``."""
        return {"summary": self.summary, "category": self.category, "status": self.status}

    def to_api(self, at_ms: int | None = None) -> dict[str, Any]:
        return {
            "id": self.id, "number": self.number, "town_id": self.town_id,
            "kiosk_id": self.kiosk_id, "kiosk_name": self.kiosk_name, "village": self.village,
            "kind": self.kind, "status": self.status, "category": self.category,
            "summary": self.summary, "assignee": self.assignee, "operator": self.operator,
            "due_at": iso(self.due_at), "overdue": self.overdue(at_ms),
            "satisfaction": self.satisfaction, "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at), "resolved_at": iso(self.resolved_at),
            "call_ids": list(self.call_ids), "anonymised_at": iso(self.anonymised_at),
        }  # fmt: skip


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def index_keys(rec: RequestRecord) -> set[str]:
    """Every index zset that lists this request, as it is now."""
    found = {
        keys.REQUESTS,
        keys.request_index("town", rec.town_id),
        keys.request_index("kiosk", rec.kiosk_id),
        keys.request_index("status", rec.town_id, rec.status),
    }
    if rec.village:
        found.add(keys.request_index("village", rec.town_id, rec.village))
    if rec.category:
        found.add(keys.request_index("category", rec.town_id, rec.category))
    if rec.operator:
        found.add(keys.request_index("operator", rec.operator))
    if rec.assignee:
        found.add(keys.request_index("assignee", rec.assignee))
    return found


def event(type_: str, by: str, at_ms: int, **fields: Any) -> str:
    return json.dumps({"type": type_, "at": at_ms, "by": by, **fields}, ensure_ascii=False)


def decode_entries(raw: list[str]) -> list[dict[str, Any]]:
    entries = [json.loads(r) for r in raw]
    for entry in entries:
        entry["at"] = iso(entry.get("at"))
    return entries


@dataclass
class Changes:
    """A PATCH of a request; None leaves a field alone, "" clears assignee and due."""

    summary: str | None = None
    category: str | None = None
    status: str | None = None
    assignee: str | None = None
    due_at: int | None = None
    clear_due: bool = False
    note: str | None = None


def check_status_change(rec: RequestRecord, to: str, role: str, note: str | None) -> None:
    """The rules of the lifecycle; each breach is an error with its own code."""
    if to not in REQUEST_STATUSES:
        raise BadRequest(
            f"status must be one of {', '.join(REQUEST_STATUSES)}; got {to!r}", code="bad_status"
        )
    if to == rec.status:
        return
    if "closed" in (to, rec.status) and not access.at_least(role, "supervisor"):
        verb = "close" if to == "closed" else "reopen a closed"
        raise Forbidden(
            f"only a supervisor or an admin may {verb} request {rec.number}; you are {role}",
            code="supervisor_only",
        )
    needs_note = to == "resolved" or (to == "closed" and rec.resolved_at is None)
    if needs_note and not (note and note.strip()):
        raise BadRequest(
            f"setting request {rec.number} to {to} needs a resolution note "
            "(send 'note' with the change)",
            code="resolution_note_required",
        )
