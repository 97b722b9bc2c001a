"""The flood: N kiosks press within a window while 8 operators are available but
hold their answers, then the operators answer and hang up at once until the queue
is empty.

Places are checked three ways:
- at the flood: the places the replies told are exactly 1..N;
- during the drain: no kiosk is ever told a worse place than it was told before;
- at the end: the operators stop with ``tail`` calls still waiting, and within
  ``SETTLE_S`` each waiting kiosk's last told place must be its true place (its rank
  among the calls still waiting); then the drain finishes.
The drain rate counts only the time the operators were answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from itertools import pairwise

from bench.flood_clients import WAIT_S, Kiosk
from bench.queue_steps import Party

SETTLE_S = 10.0  # for the hub to tell the waiting kiosks their places after a change


@dataclass
class FloodResult:
    presses: int
    queued: int
    told_exact: bool
    never_worse: bool
    exact_at_end: bool
    drained: int
    drain_s: float
    spread_s: float

    @property
    def calls_per_s(self) -> float:
        return self.drained / self.drain_s if self.drain_s > 0 else 0.0


def gone(kiosk: Kiosk) -> bool:
    """The kiosk's call left the queue: answered, or over."""
    return kiosk.answered_at is not None or kiosk.ended or kiosk.closed.is_set()


async def flood(party: Party, kiosks: list[Kiosk], window_s: float, tail: int,
                timeout_s: float) -> FloodResult:  # fmt: skip
    n, board = len(kiosks), party.board
    for console in party.consoles:
        console.answering = False
    started = time.perf_counter() + 0.1

    async def press_at(i: int, kiosk: Kiosk) -> None:
        await asyncio.sleep(max(0.0, started + window_s * i / n - time.perf_counter()))
        await kiosk.press(party.key())

    await asyncio.gather(*(press_at(i, k) for i, k in enumerate(kiosks)))
    spread = max(k.pressed_at for k in kiosks) - min(k.pressed_at for k in kiosks)
    with contextlib.suppress(TimeoutError):  # counted below
        await board.until(lambda: all(k.replied for k in kiosks), WAIT_S)
    queued = [k for k in kiosks if k.call_id is not None]
    first = sorted(k.told[0] for k in queued)
    told_exact = first == list(range(1, n + 1))
    if not told_exact:
        print(f"    places told at the flood: {describe(first, n)}")
    refused = [e for k in kiosks for e in k.errors]
    if refused or len(queued) < n:
        print(f"    {n - len(queued)} presses not queued; errors {refused[:3]}")

    order = sorted(queued, key=lambda k: (k.told[0], k.call_id or ""))
    drain_s = 0.0
    stop_at = max(0, len(order) - tail)
    drain_s += await answer_until(party, lambda: sum(gone(k) for k in order) >= stop_at, timeout_s)
    exact_at_end = await settled_places(party, order)
    drain_s += await answer_until(party, lambda: all(gone(k) for k in order), timeout_s - drain_s)
    drained = sum(k.answered_at is not None for k in order)
    never_worse = all(b <= a for k in order for a, b in pairwise(k.told))
    return FloodResult(n, len(queued), told_exact, never_worse, exact_at_end, drained,
                       drain_s, spread)  # fmt: skip


async def answer_until(party: Party, done: object, timeout_s: float) -> float:
    """Operators answer and hang up at once until ``done()``; the seconds it took."""
    assert callable(done)
    started = time.perf_counter()
    for console in party.consoles:
        await console.start_answering()
    try:
        await party.board.until(done, max(1.0, timeout_s))
    except TimeoutError:
        print(f"    the operators did not get there in {timeout_s:.0f} s")
    finally:
        for console in party.consoles:
            console.answering = False
    return time.perf_counter() - started


async def settled_places(party: Party, order: list[Kiosk]) -> bool:
    """With the operators stopped, every waiting kiosk's last told place becomes its
    rank among the waiting calls, within SETTLE_S."""
    # Answers already sent finish first; until then the waiting calls are not settled.
    try:
        await party.board.until(lambda: places_match(order), SETTLE_S)
        return True
    except TimeoutError:
        waiting = [k for k in order if not gone(k)]
        wrong = [(k.told[-1], rank) for rank, k in enumerate(waiting, 1) if k.told[-1] != rank]
        print(f"    {len(wrong)} of {len(waiting)} waiting kiosks not told their true place "
              f"within {SETTLE_S:.0f} s (told, true): {wrong[:5]}")  # fmt: skip
        return False


def places_match(order: list[Kiosk]) -> bool:
    waiting = [k for k in order if not gone(k)]
    return all(k.told[-1] == rank for rank, k in enumerate(waiting, 1))


def describe(told: list[int], n: int) -> str:
    seen: dict[int, int] = {}
    for place in told:
        seen[place] = seen.get(place, 0) + 1
    twice = [p for p, c in seen.items() if c > 1]
    missing = sorted(set(range(1, n + 1)) - set(seen))
    return f"{len(twice)} told to several kiosks (e.g. {twice[:5]}); missing {missing[:5]}"
