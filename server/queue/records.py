"""A call as the hub knows it (``CallRecord``, read from its hash), its statuses and
its id, which starts with the time."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from server.clock import iso

LIVE = ("queued", "connected")
FINAL = ("completed", "abandoned", "unanswered", "failed")
STATUSES = LIVE + FINAL
# Written by request tracking (server.tracking.request_store): shown in call items when present.
EXTRA_FIELDS = ("request_id", "request_number", "rating")


def new_call_id(at_ms: int) -> str:
    """Time first (11 hex digits of ms), so ids sort by creation, then randomness."""
    return f"{at_ms:011x}{secrets.token_hex(4)}"


def id_bound(at_ms: int) -> str:
    return f"{max(at_ms, 0):011x}"


@dataclass(frozen=True)
class CallRecord:
    id: str
    kiosk_id: str
    town_id: str
    kiosk_name: str
    village: str
    status: str
    created_at: int
    answered_at: int | None = None
    ended_at: int | None = None
    operator: str | None = None
    operator_conn: str | None = None
    end_reason: str | None = None
    request: dict[str, Any] | None = None
    kind: str = "call"  # or "callback": the town called the kiosk
    overflow: tuple[str, ...] = ()  # other towns where this call also rings
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> CallRecord:
        def opt_int(name: str) -> int | None:
            return int(data[name]) if data.get(name) else None

        return cls(
            id=data["id"],
            kiosk_id=data["kiosk_id"],
            town_id=data["town_id"],
            kiosk_name=data.get("kiosk_name", ""),
            village=data.get("village", ""),
            status=data["status"],
            created_at=int(data["created_at"]),
            answered_at=opt_int("answered_at"),
            ended_at=opt_int("ended_at"),
            operator=data.get("operator") or None,
            operator_conn=data.get("operator_conn") or None,
            end_reason=data.get("end_reason") or None,
            request=json.loads(data["request"]) if data.get("request") else None,
            extra={k: data[k] for k in EXTRA_FIELDS if data.get(k)},
            kind=data.get("kind") or "call",
            overflow=tuple(t for t in data.get("overflow", "").split(",") if t),
        )

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def to_api(self) -> dict[str, Any]:
        waited_until = self.answered_at or self.ended_at
        return {
            "id": self.id,
            "kiosk_id": self.kiosk_id,
            "kiosk_name": self.kiosk_name,
            "village": self.village,
            "town_id": self.town_id,
            "status": self.status,
            "created_at": iso(self.created_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "operator": self.operator,
            "end_reason": self.end_reason,
            "wait_s": (waited_until - self.created_at) / 1000 if waited_until else None,
            "talk_s": (self.ended_at - self.answered_at) / 1000
            if self.ended_at and self.answered_at
            else None,
            "request": self.request,
            **self.extra,
        }
