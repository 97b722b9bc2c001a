"""What the queue's property test (tests/test_queue_properties.py) checks.

A ``Snapshot`` is one read of the example's town: the call log through the REST API,
the queue, the live-call keys and presence from Redis, and what each connected kiosk
and console was told (``tests.queue_parties``). The checks compare them.

Two kinds of invariant:

- always: must hold in every snapshot (a call has one final status that never
  changes; an operator holds at most one live call; an answered call never ends
  abandoned; each call's log has its transitions in a legal order);
- eventually: must hold once the hub has had a moment (the queue's positions are
  1..n and every waiting kiosk was told its place; every screen shows what Redis
  says). They are retried on fresh snapshots for a bounded time, then reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.queue.presence import Presence

FINAL = ("completed", "abandoned", "unanswered", "failed")
LIVE = ("queued", "connected")
TRANSITIONS = ("created", "queued", "answered", "requeued", "ended")


@dataclass
class Snapshot:
    at_ms: int
    calls: dict[str, dict[str, Any]]  # the call log's items, by id
    queue: list[str]  # the town's queue zset, head first
    operator_live: dict[str, str | None]
    kiosk_live: dict[str, str | None]
    presence: dict[str, Presence]
    kiosks: dict[str, tuple[str | None, str, int | None] | None]  # None: not connected
    consoles: dict[str, tuple[str | None, str | None] | None]

    def key(self) -> Any:
        calls = tuple(
            (c["id"], c["status"], c["operator"], c["answered_at"], c["ended_at"])
            for c in sorted(self.calls.values(), key=lambda c: c["id"])
        )
        people = tuple(
            (p.username, p.availability, p.alive, p.live_call, p.ringing, p.missed)
            for p in self.presence.values()
        )
        return (calls, tuple(self.queue), tuple(self.operator_live.items()),
                tuple(self.kiosk_live.items()), people, tuple(self.kiosks.items()),
                tuple(self.consoles.items()))  # fmt: skip

    def queued(self) -> list[str]:
        return [i for i, c in self.calls.items() if c["status"] == "queued"]


def parse_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def transitions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] in TRANSITIONS]


def check_event_log(call: dict[str, Any]) -> list[str]:
    """Problems with one call's log (``GET /api/calls/{id}``) against its own record.
    The log is append-only and written in the same script as the change it records,
    so this must hold whenever the record and the log are read together."""
    cid, events = call["id"], call["events"]
    steps = transitions(events)
    names = [e["type"] for e in steps]
    if names[:2] != ["created", "queued"]:
        return [f"{cid}: the log does not start created, queued: {names}"]
    problems: list[str] = []
    state, operator, final = "queued", None, None
    for event in steps[2:]:
        match event["type"], state:
            case "answered", "queued":
                state, operator = "connected", event["operator"]
            case "requeued", "connected":
                if event["operator"] != operator:
                    problems.append(f"{cid}: requeued from {event['operator']}, not {operator}")
                state, operator = "queued", None
            case "ended", "queued" | "connected":
                final = event["status"]
                legal = (
                    ("abandoned", "unanswered") if state == "queued" else ("completed", "failed")
                )
                if final not in legal:
                    problems.append(f"{cid}: ended {final} from {state} ({names})")
                state = "ended"
            case kind, _:
                problems.append(f"{cid}: {kind} while {state}: {names}")
    offered = [e["operator"] for e in events if e["type"] == "offered"]
    if len(offered) != len(set(offered)):
        problems.append(f"{cid}: an operator was logged 'offered' twice: {offered}")
    status = call["status"]
    if state == "ended":
        last = steps[-1]
        if (status, call["end_reason"]) != (final, last["reason"]):
            problems.append(f"{cid}: record says {status}/{call['end_reason']}, "
                            f"its ended event {final}/{last['reason']}")  # fmt: skip
    elif status != state:
        problems.append(f"{cid}: record says {status}, its log says {state} ({names})")
    elif state == "connected" and call["operator"] != operator:
        problems.append(f"{cid}: connected to {call['operator']}, answered by {operator}")
    if (call["answered_at"] is not None) != (status in ("connected", "completed", "failed")):
        problems.append(f"{cid}: answered_at {call['answered_at']} with status {status}")
    if (call["ended_at"] is not None) != (status in FINAL):
        problems.append(f"{cid}: ended_at {call['ended_at']} with status {status}")
    return problems


@dataclass
class History:
    """What the checks remember across snapshots of one example."""

    final: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # as first seen ended
    final_log: dict[str, list[str]] = field(default_factory=dict)  # its transitions then
    last_seen: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    logs: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest detail per call
    log_key: dict[str, Any] = field(default_factory=dict)  # list fields the detail had
    requeues_seen: bool = False


def always_problems(snap: Snapshot, history: History) -> list[str]:
    """Invariants that hold in any snapshot of the call log, settled or not."""
    problems = []
    by_operator: dict[str, list[str]] = {}
    by_kiosk: dict[str, list[str]] = {}
    for cid, call in snap.calls.items():
        status = call["status"]
        if status not in (*LIVE, *FINAL):
            problems.append(f"{cid}: unknown status {status}")
        if status == "connected":
            by_operator.setdefault(call["operator"], []).append(cid)
        if status in LIVE:
            by_kiosk.setdefault(call["kiosk_id"], []).append(cid)
        ended = (status, call["ended_at"], call["end_reason"], call["answered_at"])
        if cid in history.final and history.final[cid] != ended:
            problems.append(f"{cid}: ended as {history.final[cid]}, now {ended}")
        elif status in FINAL:
            history.final.setdefault(cid, ended)
        before = history.last_seen.get(cid)
        if before and before[0] == "connected" and status in ("abandoned", "unanswered"):
            log = history.logs.get(cid, {}).get("events", [])
            after_answer = [e["type"] for e in transitions(log)][-2:-1]
            if after_answer != ["requeued"]:
                problems.append(f"{cid}: answered by {before[1]}, then ended {status}")
        history.last_seen[cid] = (status, call["operator"])
    for operator, held in by_operator.items():
        if len(held) > 1:
            problems.append(f"operator {operator} holds {len(held)} live calls: {held}")
    for kiosk, held in by_kiosk.items():
        if len(held) > 1:
            problems.append(f"kiosk {kiosk} has {len(held)} live calls: {held}")
    return problems


def eventual_problems(snap: Snapshot, history: History, strategy: str) -> list[str]:
    """Invariants that hold once the hub has settled (checked with a bounded retry)."""
    problems = []
    queued = snap.queued()
    if sorted(snap.queue) != sorted(queued):
        problems.append(f"queue zset {snap.queue} but queued calls {queued}")
    plain = [c for c in snap.queue if not _was_requeued(history, c)]
    if plain != sorted(plain):  # ids sort by creation: FIFO among never-requeued calls
        problems.append(f"queue order {snap.queue} is not first come, first served")
    true_place = {cid: i + 1 for i, cid in enumerate(snap.queue)}
    for username, live in snap.operator_live.items():
        held = [c for c, v in snap.calls.items()
                if v["status"] == "connected" and v["operator"] == username]  # fmt: skip
        if held != ([live] if live else []):
            problems.append(f"{username}: live key {live}, connected calls {held}")
    for kiosk_id, live in snap.kiosk_live.items():
        mine = [c for c, v in snap.calls.items()
                if v["status"] in LIVE and v["kiosk_id"] == kiosk_id]  # fmt: skip
        if mine != ([live] if live else []):
            problems.append(f"{kiosk_id}: live key {live}, live calls {mine}")
        view = snap.kiosks.get(kiosk_id)
        if view is None:
            continue
        call_id, told_status, told_place = view
        status = snap.calls[live]["status"] if live in snap.calls else "idle"
        if (call_id, told_status) != (live if live in snap.calls else None, status):
            problems.append(f"{kiosk_id} shows {told_status} {call_id}; the hub: {status} {live}")
        elif status == "queued" and live is not None:
            place = true_place.get(live)
            if told_place is None or place is None or not 1 <= told_place <= place:
                problems.append(f"{kiosk_id} was told place {told_place}, it is {place}")
            elif told_place != place and not history.requeues_seen:
                problems.append(f"{kiosk_id} was told place {told_place}, it is {place} "
                                f"(no call was requeued, so it should know)")  # fmt: skip
    problems += ring_problems(snap.queue, list(snap.presence.values()), snap.at_ms, strategy)
    ringing = {p.username: p.ringing for p in snap.presence.values()}
    for username, console in snap.consoles.items():
        if console is None:
            continue
        call_id, on_screen = console
        if call_id != snap.operator_live.get(username):
            problems.append(f"{username}'s console shows call {call_id}, "
                            f"the hub {snap.operator_live.get(username)}")  # fmt: skip
        want = None if call_id else ringing.get(username)
        if on_screen != want:
            problems.append(f"{username}'s console rings {on_screen}; the hub says {want}")
    return problems


def ring_problems(queue: list[str], people: list[Presence], at_ms: int, strategy: str) -> list[str]:
    """Autofill: the first m = min(free, waiting) calls of ``queue`` (head first) ring,
    and nothing else rings. ringall shares every free operator out over them, earlier
    calls getting the odd ones; longest_idle rings one operator per call."""
    free = [p.username for p in people if p.can_ring(at_ms)]
    ringing = {p.username: p.ringing for p in people if p.ringing}
    m = min(len(free), len(queue))
    first = queue[:m]
    problems = []
    if any(c not in first for c in ringing.values()):
        problems.append(f"an operator rings for a call not among the first {m} {first}: {ringing}")
    if any(u not in free for u in ringing):
        problems.append(f"someone who cannot take a call rings: {ringing}, free {free}")
    for i, call_id in enumerate(first):
        count = sum(1 for c in ringing.values() if c == call_id)
        want = len(free) // m + (1 if i < len(free) % m else 0) if strategy == "ringall" else 1
        if count != want:
            problems.append(f"{strategy}: {call_id} (place {i + 1}) rings {count} of free "
                            f"{free}, not {want}: {ringing}")  # fmt: skip
    return problems


def _was_requeued(history: History, call_id: str) -> bool:
    log = history.logs.get(call_id)
    return log is None or any(e["type"] == "requeued" for e in log["events"])
