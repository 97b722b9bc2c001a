"""What kiosks and consoles are shown of a call and of a town's operators: the views
that the queue's messages carry."""

from __future__ import annotations

from server.clock import iso
from server.queue.presence import Presence
from server.queue.records import CallRecord
from yijian import protocol as p


def call_view(call: CallRecord, position: int | None = None) -> p.CallView:
    return p.CallView(
        id=call.id, kiosk_id=call.kiosk_id, kiosk_name=call.kiosk_name, village=call.village,
        town_id=call.town_id, status=call.status, created_at=iso(call.created_at),
        answered_at=iso(call.answered_at), operator=call.operator, position=position,
    )  # fmt: skip


def team_view(town_id: str, people: list[Presence], at_ms: int) -> p.Team:
    """The town's operators as ``team`` and ``GET /api/presence`` show them."""
    return p.Team(
        town_id=town_id,
        operators=[
            p.TeamMember(
                username=op.username,
                state=op.state(at_ms),  # type: ignore[arg-type]
                availability=op.availability,  # type: ignore[arg-type]
                missed_rings=op.missed,
                call_id=op.live_call,
                ringing=op.ringing,
                wrap_until=iso(op.wrap_until) if op.wrap_until > at_ms else None,
            )
            for op in people
        ],
    )
