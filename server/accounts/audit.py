"""The audit log: who did what, when, from where. Append-only Redis Streams, one per
town (``keys.audit``) and one for the admins (``keys.AUDIT_ADMIN``), each capped at
about ``keys.AUDIT_MAXLEN`` entries.

An entry is the actor (a username, ``cli``, ``kiosk:ID`` or ``hub``), their role, the
client's address (as login throttling sees it: ``X-Forwarded-For`` only from a trusted
proxy; empty where there is none, as for an answer over the console's socket), the
action (``ACTIONS``), its target (a username, kiosk, request number, call, town) and a
few details. Never a password, token, session or free text a villager gave: a detail
whose name says secret is refused here, and the request's text never leaves the
request (an anonymised or deleted request leaves nothing of its words behind).

An entry goes to the stream of the town it concerns, so that town's supervisors see
what was done there, admins' doings included; what concerns no one town (an admin's
login, a failed login under a name that does not exist, an export across every town)
goes to the admins' stream.

Lives with the accounts because the accounts' own verbs (logins) write it; request
tracking (the answer hook), the routes and the CLI call it from above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.clock import now_ms
from server.errors import BadRequest
from server.store import keys

ACTIONS = (
    "login", "login_failed", "logout",
    "call_answered", "call_viewed", "request_viewed",
    "request_changed", "request_anonymised", "request_deleted",
    "export",
    "settings_changed", "categories_changed",
    "town_added",
    "operator_added", "operator_disabled", "operator_enabled", "operator_password_reset",
    "operator_role_changed", "operator_moved",
    "kiosk_added", "kiosk_rotated", "kiosk_revoked",
)  # fmt: skip
SECRET_WORDS = ("password", "token", "secret", "session", "cookie")
MAX_SCAN = 5_000  # entries one page may read past the filter before it hands a cursor back
MAX_LIMIT = 200

# KEYS[1] the answering operator's hash (keys.operator), KEYS[2] the town's audit stream,
# KEYS[3] the addresses of the operator's consoles (keys.operator_conn_addresses).
# ARGV[1] MAXLEN, ARGV[2] at (ms), ARGV[3] actor, ARGV[4] target, ARGV[5] town,
# ARGV[6] details (JSON), ARGV[7] the console holding the call. The role and the
# console's address are read here so the answer's entry costs one round trip.
ANSWERED = """
local role = redis.call('HGET', KEYS[1], 'role') or ''
local address = redis.call('HGET', KEYS[3], ARGV[7]) or ''
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'at', ARGV[2],
  'actor', ARGV[3], 'role', role, 'address', address, 'action', 'call_answered',
  'target', ARGV[4], 'town', ARGV[5], 'details', ARGV[6])
"""


@dataclass(frozen=True)
class Actor:
    """Who did it: ``name`` a username, ``cli``, ``kiosk:ID`` or ``hub``."""

    name: str
    role: str = ""
    address: str = ""


CLI = Actor("cli", "admin")


@dataclass(frozen=True)
class Entry:
    id: str
    at: int
    actor: str
    role: str
    address: str
    action: str
    target: str
    town_id: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stream(cls, entry_id: str, data: dict[str, str]) -> Entry:
        return cls(
            id=entry_id, at=int(data.get("at") or entry_id.split("-")[0]),
            actor=data.get("actor", ""), role=data.get("role", ""),
            address=data.get("address", ""), action=data.get("action", ""),
            target=data.get("target", ""), town_id=data.get("town") or None,
            details=json.loads(data.get("details") or "{}"),
        )  # fmt: skip


def _older_than(cursor: str) -> str | None:
    """The exclusive top of a page after ``cursor`` (an entry id); ``None``: nothing is
    older. Redis refuses ids past 64 bits, so they are checked here."""
    ms, _, seq = cursor.partition("-")
    if not (ms.isdigit() and seq.isdigit()) or max(int(ms), int(seq)) >= 2**64:
        raise BadRequest(f"cursor must be an entry id (MS-SEQ); got {cursor!r}", code="bad_cursor")
    return f"({int(ms)}-{int(seq)}" if int(ms) or int(seq) else None


def stream(town_id: str | None) -> str:
    """The town's stream; ``None``: the admins'."""
    return keys.audit(town_id) if town_id else keys.AUDIT_ADMIN


def fields(actor: Actor, action: str, town_id: str | None, target: str,
           details: dict[str, Any]) -> dict[str, str]:  # fmt: skip
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    secret = [name for name in details if any(w in name.lower() for w in SECRET_WORDS)]
    if secret:
        raise ValueError(f"an audit entry never holds secrets; got {secret}")
    return {
        "at": str(now_ms()), "actor": actor.name, "role": actor.role,
        "address": actor.address, "action": action, "target": target,
        "town": town_id or "", "details": json.dumps(details, ensure_ascii=False),
    }  # fmt: skip


class Audit:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._answered = redis.register_script(ANSWERED)

    async def record(
        self, actor: Actor, action: str, town_id: str | None, target: str = "",
        **details: Any,
    ) -> None:  # fmt: skip
        """One entry, one XADD."""
        entry = fields(actor, action, town_id, target, details)
        await self.redis.xadd(stream(town_id), entry, maxlen=keys.AUDIT_MAXLEN,  # type: ignore[arg-type]
                              approximate=True)  # fmt: skip

    @staticmethod
    def queue(
        pipe: Pipeline, actor: Actor, action: str, town_id: str | None, target: str = "",
        **details: Any,
    ) -> None:  # fmt: skip
        """The same entry, queued into a caller's transaction."""
        entry = fields(actor, action, town_id, target, details)
        pipe.xadd(stream(town_id), entry, maxlen=keys.AUDIT_MAXLEN, approximate=True)  # type: ignore[arg-type]

    async def call_answered(
        self, operator: str, town_id: str, call_id: str, conn_id: str, **details: Any
    ) -> None:
        """The answer, with the operator's role and the address of the console that
        holds the call (``conn_id``) read in the same script: one round trip."""
        fields(Actor(operator), "call_answered", town_id, call_id, details)  # the checks
        await self._answered(
            keys=[keys.operator(operator), stream(town_id),
                  keys.operator_conn_addresses(operator)],
            args=[keys.AUDIT_MAXLEN, now_ms(), operator, call_id, town_id,
                  json.dumps(details, ensure_ascii=False), conn_id],
        )  # fmt: skip

    async def page(
        self, town_id: str | None, limit: int = 50, cursor: str | None = None,
        action: str | None = None, actor: str | None = None,
    ) -> tuple[list[Entry], str | None]:  # fmt: skip
        """Newest first; ``cursor`` is the last entry id seen. With a filter, a page
        reads at most ``MAX_SCAN`` entries and may come back short, with the cursor
        to go on from (``None``: nothing older is left)."""
        key, found, read = stream(town_id), list[Entry](), 0
        top = _older_than(cursor) if cursor else "+"
        while top is not None and read < MAX_SCAN:
            batch = await self.redis.xrevrange(key, top, "-", count=min(500, max(limit, 100)))
            if not batch:
                return found, None
            for entry_id, data in batch:
                read += 1
                entry = Entry.from_stream(entry_id, data)
                if (action is None or entry.action == action) and (
                    actor is None or entry.actor == actor
                ):
                    found.append(entry)
                    if len(found) == limit:
                        return found, entry_id
            top = "(" + batch[-1][0]
        return found, top[1:] if top else None
