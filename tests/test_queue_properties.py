"""The queue's invariants under random sequences of presses (new idempotency keys and
repeated ones), answers (one operator, or two at once), hang-ups from either side,
dropped and restored kiosk and console sockets, availability changes, and time
passing until the hub's own deadlines fire.

A hypothesis state machine drives raw kiosk and console sockets against a real hub
process on the session's Redis, in a fresh town per example with short timers (a
ring times out in 0.3 s, a call waits at most 2-3 s, a dropped side has 0.5 s to
come back, no wrap-up). After every step ``tests.queue_watch`` waits, bounded, until
two reads of the town agree, and checks the invariants of ``tests.queue_model``
through the REST API and Redis.

Hypothesis does not shrink here: a replay against a live hub does not fail at the
same step, so a failure instead carries the example's own journal of resolved steps.
``YIJIAN_PROPERTY_EXAMPLES=200`` runs a longer search.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from server.accounts.accounts import Accounts
from server.accounts.towns import Towns
from server.clock import now_ms
from server.store import keys
from tests.queue_model import History
from tests.queue_parties import ConsoleParty, KioskParty, Pool
from tests.queue_watch import Watch
from tests.support import TIMEOUT, HubProcess, WsClient

EXAMPLES = int(os.environ.get("YIJIAN_PROPERTY_EXAMPLES", "15"))
SOONEST_DEADLINE_MS = 4_000  # time_passes waits for deadlines due within this
TOWN = {
    "ring_timeout_s": 0.3,
    "grace_s": 0.5,
    "wrap_up_s": 0,
    "max_missed_rings": 3,
    "kiosk_calls_per_min": 1000,
}  # machines press faster than villagers
ANSWER_ERRORS = ("call_taken", "call_ended", "operator_busy")
POOL_KIOSKS, POOL_OPERATORS = 3, 3
SIDES = st.sampled_from(["kiosk", "operator"])


def pick(names: list[str], n: int) -> str | None:
    return names[n % len(names)] if names else None


def replying_to(ref: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("ref") == ref


class QueueMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop  # set by the test, shared by its examples
    pool: Pool

    def __init__(self) -> None:
        super().__init__()
        self.refs = itertools.count()
        self.kiosks: dict[str, KioskParty | None] = {}
        self.consoles: dict[str, ConsoleParty | None] = {}
        self.history = History()
        self.key_call: dict[str, str] = {}  # idempotency key -> the call it made
        self.last_key: dict[str, str] = {}
        self.seen: set[str] = set()
        self.redis = self.pool.redis
        self.hub = self.pool.hub
        self.api = next(iter(self.pool.http.values()))
        self.town = ""
        self.journal: list[str] = []  # every step as it resolved, for the failure report
        self._watch: Watch | None = None

    def run(self, coro: Any) -> Any:
        """Run one step on the shared loop. A failure carries the example's journal:
        hypothesis does not shrink here (replays against a live hub do not repeat)."""
        try:
            return self.loop.run_until_complete(asyncio.wait_for(coro, 4 * TIMEOUT))
        except Exception as exc:
            steps = "\n".join(f"  {i:2d}. {step}" for i, step in enumerate(self.journal, 1))
            raise AssertionError(f"{exc}\n\nin town {self.town}, after:\n{steps}") from exc

    @property
    def watch(self) -> Watch:
        assert self._watch is not None, "no town yet"
        return self._watch

    def note(self, step: str) -> None:
        self.journal.append(step)

    # --- set-up ---------------------------------------------------------------------

    @initialize(
        kiosks=st.integers(2, POOL_KIOSKS),
        operators=st.integers(2, POOL_OPERATORS),
        strategy=st.sampled_from(["ringall", "longest_idle"]),
        max_wait_s=st.sampled_from([2, 3]),
        presses=st.integers(0, POOL_KIOSKS),
        answers=st.integers(0, 2),
    )
    def open_town(
        self, kiosks: int, operators: int, strategy: str, max_wait_s: int, presses: int,
        answers: int,
    ) -> None:  # fmt: skip
        """A fresh town with short timers and every console available, where the first
        ``presses`` kiosks have pressed and the first ``answers`` operators have each
        answered the head of the queue."""
        self.strategy, self.max_wait_s = strategy, max_wait_s
        self.run(self._open_town(kiosks, operators))
        for kiosk_id in list(self.kiosks)[:presses]:
            self.run(self._press(kiosk_id, again=False))
        for username in list(self.consoles)[:answers]:
            self.run(self._answer([username], "head"))

    async def _open_town(self, kiosks: int, operators: int) -> None:
        town = "p" + secrets.token_hex(4)
        self.note(f"town {town}: {self.strategy}, max_wait_s {self.max_wait_s}")
        await Accounts(self.redis).add_town(town, f"性质镇 {town}")
        towns = Towns(self.redis)
        for name, value in {
            **TOWN,
            "strategy": self.strategy,
            "max_wait_s": self.max_wait_s,
        }.items():
            await towns.set(town, name, str(value))
        await self.pool.move_to(town)
        self.town = town
        self.kiosks = dict.fromkeys(list(self.pool.tokens)[:kiosks])
        self.consoles = dict.fromkeys(list(self.pool.http)[:operators])
        self._watch = Watch(self.api, self.redis, town, self.strategy, self.max_wait_s,
                           self.kiosks, self.consoles, self.history)  # fmt: skip
        for kiosk_id in self.kiosks:
            await self._join_kiosk(kiosk_id)
        for username in self.consoles:
            await self._join_console(username)
            await self._set_availability(username, "available")

    def teardown(self) -> None:
        self.run(self._close())

    async def _close(self) -> None:
        try:
            if self._watch is not None:
                await self._watch.final_logs_unchanged()
        finally:
            for party in [*self.kiosks.values(), *self.consoles.values()]:
                if party is not None:
                    await party.close()
            await self.pool.clear(set(self.history.last_seen))

    # --- connections ----------------------------------------------------------------

    async def _join_kiosk(self, kiosk_id: str) -> None:
        self.note(f"{kiosk_id} connects")
        before = await self.redis.get(keys.kiosk_live(kiosk_id))
        client = await WsClient.connect(
            self.hub.ws_base + "/ws/kiosk",
            {"Authorization": f"Bearer {self.pool.tokens[kiosk_id]}"},
        )
        party = self.kiosks[kiosk_id] = KioskParty(kiosk_id, client)
        welcome = await party.expect(lambda m: m["type"] == "welcome")
        after = await self.redis.get(keys.kiosk_live(kiosk_id))
        if before == after:  # nothing ended it meanwhile: welcome must hand it back
            resumed = welcome["call"]["id"] if welcome.get("call") else None
            assert resumed == after, f"{kiosk_id} came back to {resumed}, its live call {after}"

    async def _join_console(self, username: str) -> None:
        self.note(f"{username} opens a console")
        before = await self.redis.get(keys.operator_live(username))
        client = await WsClient.connect(
            self.hub.ws_base + "/ws/operator", {"Cookie": self.pool.cookie(username)}
        )
        party = self.consoles[username] = ConsoleParty(username, client)
        welcome = await party.expect(lambda m: m["type"] == "welcome")
        after = await self.redis.get(keys.operator_live(username))
        if before == after:
            resumed = welcome["call"]["id"] if welcome.get("call") else None
            assert resumed == after, f"{username} came back to {resumed}, its live call {after}"

    async def _leave(self, parties: dict[str, Any], name: str) -> None:
        self.note(f"{name} drops its socket")
        party, parties[name] = parties[name], None
        await party.close()

    # --- rules ----------------------------------------------------------------------
    # Hypothesis turns on a random subset of rules in each example (swarm testing), so
    # every example starts with some presses. A rule's index picks among the parties it
    # applies to now; with none it does nothing. (No preconditions: they would read the
    # live hub, and hypothesis needs the same draws each time it replays an example.)

    def _online(self, parties: dict[str, Any]) -> list[str]:
        return [name for name, party in parties.items() if party is not None]

    def _in_calls(self, parties: dict[str, Any]) -> list[str]:
        return [name for name, party in parties.items() if party and party.call_id]

    @rule(k=st.integers(0, 3), again=st.booleans())
    def press(self, k: int, again: bool) -> None:
        """A press with a fresh idempotency key, or a resend of the last one."""
        if kiosk_id := pick(self._online(self.kiosks), k):
            self.run(self._press(kiosk_id, again and kiosk_id in self.last_key))

    async def _press(self, kiosk_id: str, again: bool) -> None:
        kiosk = self.kiosks[kiosk_id]
        assert kiosk is not None
        key = self.last_key[kiosk_id] if again else f"key-{secrets.token_hex(6)}"
        self.last_key[kiosk_id] = key
        self.note(f"{kiosk_id} presses ({'the same key again' if again else 'a new key'})")
        live_before = await self.redis.get(keys.kiosk_live(kiosk_id))
        ref, mark = f"r{next(self.refs)}", len(kiosk.inbox)
        await kiosk.send({"type": "call_request", "idempotency_key": key, "ref": ref})
        reply = await kiosk.expect(
            lambda m: m.get("ref") == ref or m["type"] == "call_answered", start=mark
        )
        if reply["type"] == "error":
            assert again and reply["code"] == "call_ended", f"press {key}: {reply}"
            assert self.key_call[key] in self.history.final or await self.watch.is_final(
                self.key_call[key]
            ), f"press {key}: told its call ended, but it lives"
            return
        call_id = reply["call_id"]
        if key in self.key_call:
            assert call_id == self.key_call[key], (
                f"key {key} made {self.key_call[key]}, now {call_id}"
            )
        elif live_before is not None:
            assert call_id == live_before or await self.watch.is_final(live_before), (
                f"{kiosk_id} pressed during live call {live_before} and got {call_id}"
            )
        else:
            assert call_id not in self.seen, f"a fresh press returned old call {call_id}"
        self.key_call.setdefault(key, call_id)
        self.seen.add(call_id)

    @rule(
        o=st.integers(0, 2), which=st.sampled_from(["ringing", "head", "tail"]),
        together=st.booleans(),
    )  # fmt: skip
    def answer(self, o: int, which: str, together: bool) -> None:
        """An operator answers the call ringing on their screen, or any waiting call;
        or two operators answer the same call at the same moment (one wins)."""
        online = self._online(self.consoles)
        if online:
            names = [online[o % len(online)], online[(o + 1) % len(online)]]
            self.run(self._answer(names[: 2 if together and len(online) > 1 else 1], which))

    async def _answer(self, usernames: list[str], which: str) -> None:
        queue = await self.redis.zrange(keys.town_queue(self.town), 0, -1)
        consoles = [self.consoles[u] for u in usernames]
        call_id = consoles[0].ringing if which == "ringing" and consoles[0] else None
        if call_id is None and queue:
            call_id = queue[-1] if which == "tail" else queue[0]
        if call_id is None:
            return
        self.note(f"{' and '.join(usernames)} answer {call_id} (the {which} call)")
        busy = [await self.redis.get(keys.operator_live(u)) for u in usernames]
        refs = [f"r{next(self.refs)}" for _ in usernames]
        marks = [len(c.inbox) for c in consoles if c]
        await asyncio.gather(*(
            c.send({"type": "answer", "call_id": call_id, "ref": ref})
            for c, ref in zip(consoles, refs, strict=True) if c
        ))  # fmt: skip
        replies = [
            await c.expect(replying_to(ref), start=mark)
            for c, ref, mark in zip(consoles, refs, marks, strict=True) if c
        ]  # fmt: skip
        winners = [u for u, r in zip(usernames, replies, strict=True) if r["type"] == "answered"]
        assert len(winners) <= 1, f"{winners} all won call {call_id}"
        for username, reply, held in zip(usernames, replies, busy, strict=True):
            if reply["type"] == "error":
                assert reply["code"] in ANSWER_ERRORS, f"{username} answering: {reply}"
            elif held is not None:
                raise AssertionError(f"{username} in call {held} also won {call_id}")

    @rule(side=SIDES, i=st.integers(0, 3))
    def hang_up(self, side: str, i: int) -> None:
        parties: dict[str, Any] = self.kiosks if side == "kiosk" else self.consoles
        if name := pick(self._in_calls(parties), i):
            self.run(self._hang_up(parties[name], parties[name].call_id))

    async def _hang_up(self, party: KioskParty | ConsoleParty, call_id: str) -> None:
        self.note(f"{party.name} hangs up {call_id}")
        ref = f"r{next(self.refs)}"
        await party.send({"type": "hangup", "call_id": call_id, "ref": ref})
        reply = await party.expect(
            lambda m: m.get("ref") == ref or (m["type"] == "call_ended" and m["call_id"] == call_id)
        )
        if reply["type"] == "error":  # it ended (or was requeued) just before
            assert reply["code"] in ("call_ended", "not_your_call", "bad_state"), reply

    @rule(side=SIDES, i=st.integers(0, 3), in_call=st.booleans(), back_at_once=st.booleans())
    def connection(self, side: str, i: int, in_call: bool, back_at_once: bool) -> None:
        """Drop a socket (one in a call, or any) and maybe come straight back, or bring
        a dropped one back."""
        parties: dict[str, Any] = self.kiosks if side == "kiosk" else self.consoles
        join = self._join_kiosk if side == "kiosk" else self._join_console
        name = (
            pick(self._in_calls(parties) if in_call else [], i) or list(parties)[i % len(parties)]
        )
        if parties[name] is None:
            self.run(join(name))
            return
        self.run(self._leave(parties, name))
        if back_at_once:
            self.run(join(name))

    @rule(o=st.integers(0, 2), state=st.sampled_from(["available", "away"]))
    def availability(self, o: int, state: str) -> None:
        if username := pick(self._online(self.consoles), o):
            self.run(self._set_availability(username, state))

    async def _set_availability(self, username: str, state: str) -> None:
        self.note(f"{username} sets {state}")
        console = self.consoles[username]
        assert console is not None
        ref = f"r{next(self.refs)}"
        await console.send({"type": "set_availability", "state": state, "ref": ref})
        reply = await console.expect(lambda m: m.get("ref") == ref)
        assert reply == {"type": "availability", "state": state, "ref": ref}, reply

    @rule()
    def time_passes(self) -> None:
        """Nobody acts until the town's next deadline (a ring timeout, a grace, a
        maximum wait) has fired: the input here is time itself."""
        self.run(self._next_deadline())

    async def _next_deadline(self) -> None:
        ours = {self.town, *self.seen, *self.history.last_seen, *self.consoles}
        soon = now_ms() + SOONEST_DEADLINE_MS
        pending = [
            (due, member)
            for member, due in await self.redis.zrange(keys.TIMERS, 0, -1, withscores=True)
            if ours & set(member.split("|")[1:]) and due <= soon
        ]
        if not pending:
            self.note("0.3 s pass (no deadline is near)")
            await asyncio.sleep(0.3)
            return
        due, member = min(pending)
        self.note(f"time passes until {member} fires")
        deadline = time.monotonic() + (due - now_ms()) / 1000 + TIMEOUT
        while await self.redis.zscore(keys.TIMERS, member) == due:  # until fired or moved
            assert time.monotonic() < deadline, f"deadline {member} never fired"
            await asyncio.sleep(0.05)

    # --- checks ---------------------------------------------------------------------

    @invariant()
    def the_queue_keeps_its_promises(self) -> None:
        if self._watch is not None:
            self.run(self._watch.check())


@pytest.fixture(scope="module")
def quick_hub(redis_url: str, artifacts: Path) -> Iterator[HubProcess]:
    """A hub on the session's Redis whose sweep runs every 0.1 s, so the town's short
    deadlines fire on time (the session hub also sweeps the same timers, every 1 s:
    two hubs acting as one, as in production)."""
    hub = HubProcess(redis_url, artifacts, {"YIJIAN_SWEEP_INTERVAL_S": "0.1"}).start()
    yield hub
    hub.stop()


@pytest.mark.timeout(600)
def test_the_queue_keeps_its_invariants(quick_hub: HubProcess, redis_url: str) -> None:
    loop = asyncio.new_event_loop()  # its own: hypothesis drives the machine synchronously
    pool = loop.run_until_complete(Pool.open(quick_hub, redis_url, POOL_KIOSKS, POOL_OPERATORS))
    QueueMachine.loop, QueueMachine.pool = loop, pool
    run = settings(
        max_examples=EXAMPLES,
        stateful_step_count=20,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: see run()
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow],
    )
    try:
        run_state_machine_as_test(QueueMachine, settings=run)
    finally:
        loop.run_until_complete(pool.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
