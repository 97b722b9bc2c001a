"""What the queue's verbs give back (``server.queue.lifecycle``), and the small rules
they share with the socket edges: a live call, the estimated wait."""

from __future__ import annotations

from dataclasses import dataclass

from server.accounts.towns import TownSettings
from server.errors import BadState
from server.queue.records import CallRecord
from yijian import protocol as p


@dataclass(frozen=True)
class Answered:
    """What an answer gave: the call; whether this answer took it now (not a resend);
    the settings of the call's town, read in the same step."""

    call: CallRecord
    fresh: bool
    settings: TownSettings | None = None


@dataclass(frozen=True)
class Pressed:
    """What a press gave: the kiosk's live call; its place while it waits; the town's
    settings it was made under (``start`` needs them too)."""

    call: CallRecord
    created: bool
    settings: TownSettings
    position: int | None = None
    estimated_wait_s: int | None = None
    rang: str | None = None  # its dispatch, in the same step: 'nobody', the head call, ''


@dataclass(frozen=True)
class Placed:
    """A press's outcome, from the one script that made it: the kiosk's live call, its
    place in the queue (None once answered) and the town's recent answer times."""

    call: CallRecord
    created: bool
    position: int | None
    recent_answers: list[int]
    rang: str | None = None  # a press's dispatch in the same step: 'nobody', the head, ''


class TownChanged(Exception):
    """A press's town settings changed since they were read: here is its hash now."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__("the town's settings changed")
        self.data = data


@dataclass(frozen=True)
class Step:
    """A claim's or an end's outcome: the call, and its town's settings, read by the
    same script; whether that script also told both sides and dispatched the town."""

    call: CallRecord
    settings: TownSettings
    dispatched: bool = False


def wait_estimate(answers: list[int], position: int, max_wait_s: float) -> int | None:
    """Seconds to wait: position x the recent interval between answers in the town
    (newest first), at most ``max_wait_s``; None before two answers."""
    if len(answers) < 2:
        return None
    interval = (answers[0] - answers[-1]) / (len(answers) - 1) / 1000
    return int(min(interval * position, max_wait_s))


def check_live(call: CallRecord, connected: bool) -> CallRecord:
    if not call.live:
        raise BadState(f"call {call.id} has ended ({call.status})", code="call_ended")
    if connected and call.status != "connected":
        raise BadState(f"call {call.id} is {call.status}, not connected")
    return call


def ended_message(call: CallRecord) -> p.CallEnded:
    """How both sides hear that a call ended."""
    return p.CallEnded(call_id=call.id, status=call.status, reason=call.end_reason or "")
