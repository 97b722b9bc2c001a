"""Reading one example's town and checking it, for the queue's property test.

``Watch.check`` waits (bounded) until two reads in a row agree, checks the invariants
that hold in any read, then retries the ones that hold once the hub has caught up
(``tests.queue_model``) on fresh reads until they pass or ``EVENTUALLY_S`` is out.
A read is the call log through the REST API (``GET /api/calls?town=``, and each
changed or live call's ``GET /api/calls/{id}`` with its events) plus the queue,
live-call keys and presence from Redis, plus what every connected party was told.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis

from server.clock import now_ms
from server.queue.presence import PresenceStore
from server.store import keys
from tests.queue_model import (
    FINAL,
    History,
    Snapshot,
    always_problems,
    check_event_log,
    eventual_problems,
    parse_ms,
    transitions,
)
from tests.queue_parties import ConsoleParty, KioskParty
from tests.support import TIMEOUT

SETTLE_GAP_S = 0.05  # between the two reads that must agree
EVENTUALLY_S = 3.0  # for the hub to catch up after a step (its deadlines are 0.3-0.5 s)
SWEEP_SLACK_S = 1.5  # how late past max_wait_s a waiting call may still be queued


@dataclass
class Watch:
    api: httpx.AsyncClient  # logged in as an operator of the town
    redis: aioredis.Redis
    town: str
    strategy: str
    max_wait_s: float
    kiosks: dict[str, KioskParty | None]  # the machine's, updated in place
    consoles: dict[str, ConsoleParty | None]
    history: History

    async def check(self) -> None:
        deadline = time.monotonic() + EVENTUALLY_S
        while True:
            snap = await self.settled()
            problems = always_problems(snap, self.history)
            assert not problems, "\n".join(problems)
            await self.check_logs(snap)
            problems = eventual_problems(snap, self.history, self.strategy)
            problems += self.waited_too_long(snap)
            problems += self.told_the_same(snap)
            if not problems:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"still after {EVENTUALLY_S} s:\n" + "\n".join(problems))
            await asyncio.sleep(SETTLE_GAP_S)

    async def settled(self) -> Snapshot:
        """Read until two reads in a row agree (bounded)."""
        deadline = time.monotonic() + TIMEOUT
        last = await self.snapshot()
        while True:
            await asyncio.sleep(SETTLE_GAP_S)
            snap = await self.snapshot()
            if snap.key() == last.key():
                return snap
            assert time.monotonic() < deadline, "the hub kept changing for TIMEOUT seconds"
            problems = always_problems(last, self.history)
            assert not problems, "\n".join(problems)
            last = snap

    async def snapshot(self) -> Snapshot:
        response = await self.api.get("/api/calls", params={"town": self.town, "limit": 200})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.town_queue(self.town), 0, -1)
            for username in self.consoles:
                pipe.get(keys.operator_live(username))
            for kiosk_id in self.kiosks:
                pipe.get(keys.kiosk_live(kiosk_id))
            queue, *live = await pipe.execute()
        presence = await PresenceStore(self.redis).many(list(self.consoles))
        n = len(self.consoles)
        return Snapshot(
            at_ms=now_ms(),
            calls={c["id"]: c for c in body["items"]},
            queue=queue,
            operator_live=dict(zip(self.consoles, live[:n], strict=True)),
            kiosk_live=dict(zip(self.kiosks, live[n:], strict=True)),
            presence={p.username: p for p in presence},
            kiosks={k: p.view() if p else None for k, p in self.kiosks.items()},
            consoles={u: p.view() if p else None for u, p in self.consoles.items()},
        )

    async def detail(self, call_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/api/calls/{call_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def is_final(self, call_id: str) -> bool:
        return (await self.detail(call_id))["status"] in FINAL

    async def check_logs(self, snap: Snapshot) -> None:
        """Every state change has its event, in a legal order, agreeing with the record.
        A record and its log are two reads; a mismatch is read again before it counts."""
        for call_id, call in snap.calls.items():
            fingerprint = (call["status"], call["operator"], call["ended_at"])
            if call["status"] in FINAL and self.history.log_key.get(call_id) == fingerprint:
                continue
            for attempt in range(5):
                detail = await self.detail(call_id)
                problems = check_event_log(detail)
                if not problems:
                    break
                await asyncio.sleep(0.05 * (attempt + 1))
            assert not problems, "\n".join(problems)
            self.history.logs[call_id] = detail
            self.history.log_key[call_id] = (
                detail["status"], detail["operator"], detail["ended_at"]
            )  # fmt: skip
            steps = [e["type"] for e in transitions(detail["events"])]
            if "requeued" in steps:
                self.history.requeues_seen = True
            if detail["status"] in FINAL:
                self.history.final_log.setdefault(call_id, steps)
            seen = self.history.last_seen.get(call_id)
            if seen and seen[0] == "connected":
                answered_by = [e.get("operator") for e in detail["events"]
                               if e["type"] == "answered"]  # fmt: skip
                assert seen[1] in answered_by, (
                    f"{call_id} was connected to {seen[1]} but has no answered event by them"
                )

    def waited_too_long(self, snap: Snapshot) -> list[str]:
        """Nobody waits past max_wait_s (counted from the last time the call joined the
        queue), give or take the hub's sweep."""
        problems = []
        for call_id in snap.queued():
            log = self.history.logs.get(call_id)
            if log is None:
                continue
            joined = max(parse_ms(e["at"]) for e in log["events"]
                         if e["type"] in ("queued", "requeued"))  # fmt: skip
            waited = (snap.at_ms - joined) / 1000
            if waited > self.max_wait_s + SWEEP_SLACK_S:
                steps = [e["type"] for e in log["events"]]
                problems.append(
                    f"{call_id} has waited {waited:.1f} s, max_wait_s is {self.max_wait_s}: {steps}"
                )
        return problems

    def told_the_same(self, snap: Snapshot) -> list[str]:
        """What each side was told a call ended as is what the call log says; one answer
        message per answer."""
        problems = []
        parties = [p for p in [*self.kiosks.values(), *self.consoles.values()] if p]
        for party in parties:
            for call_id, status in party.told_final.items():
                actual = snap.calls.get(call_id, {}).get("status")
                if actual != status:
                    problems.append(f"{party.name} was told {call_id} ended {status}; "
                                    f"the log says {actual}")  # fmt: skip
        for console in self.consoles.values():
            for call_id in set(console.won if console else []):
                log = self.history.logs.get(call_id, {"events": []})["events"]
                answers = sum(1 for e in log if e["type"] == "answered")
                if console and console.won.count(call_id) > answers:
                    problems.append(f"{console.name} won {call_id} more often than it was answered")
        return problems

    async def final_logs_unchanged(self) -> None:
        """An ended call's log never grows another transition."""
        for call_id, steps in self.history.final_log.items():
            detail = await self.detail(call_id)
            now = [e["type"] for e in transitions(detail["events"])]
            assert now == steps, f"{call_id}: ended with log {steps}, later {now}"
