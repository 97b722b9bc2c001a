"""Redis commands per press and per call, counted from MONITOR (``bench.redis_count``).

A few single calls into an empty queue, each in three steps, each step its own
window: the press (until the call rings on every available console), the answer
(until the kiosk hears it and every other console's ring stops) and the hang-up
(until the kiosk hears the call ended). A first call warms the hub up (its scripts
loaded) and is not counted. Run with only the consoles and a few kiosks connected,
so the hub's periodic work per socket stays small beside a step.
"""

from __future__ import annotations

import collections
from collections import Counter
from dataclasses import dataclass, field

from bench.flood_clients import Console, Kiosk
from bench.queue_steps import Party
from bench.redis_count import Monitor, most_frequent


@dataclass
class Counts:
    press: list[int] = field(default_factory=list)
    answer: list[int] = field(default_factory=list)
    hangup: list[int] = field(default_factory=list)
    call: list[int] = field(default_factory=list)
    by_name: list[collections.Counter[str]] = field(default_factory=list)  # per call

    def summary(self, suffix: str = "") -> dict[str, object]:
        out: dict[str, object] = {}
        for step in ("press", "answer", "hangup", "call"):
            counts: list[int] = getattr(self, step)
            out[f"redis_commands_per_{step}{suffix}"] = most_frequent(counts)
            out[f"redis_commands_per_{step}{suffix}_range"] = [min(counts), max(counts)]
        typical = most_frequent(self.call)
        names = next(
            n for n, total in zip(self.by_name, self.call, strict=True) if total == typical
        )
        out[f"redis_commands_per_call{suffix}_by_name"] = dict(names.most_common())
        out[f"redis_commands_calls_counted{suffix}"] = len(self.call)
        return out


async def count_calls(party: Party, monitor: Monitor, calls: int, first: int) -> Counts:
    """``calls`` counted single calls (after one uncounted), from kiosks ``first``..."""
    counts = Counts()
    for i in range(calls + 1):
        press, answer, hangup = await one_call(party, monitor, party.kiosk(first + i))
        if i == 0:
            continue  # the warm-up call
        counts.press.append(press.total())
        counts.answer.append(answer.total())
        counts.hangup.append(hangup.total())
        counts.call.append(press.total() + answer.total() + hangup.total())
        counts.by_name.append(press + answer + hangup)
    return counts


async def one_call(party: Party, monitor: Monitor, kiosk: Kiosk) -> list[Counter[str]]:
    """The hubs' commands for the press, the answer and the hang-up of one call."""
    available = [c for c in party.consoles if c.availability == "available"]
    answerer, others, board = available[0], available[1:], party.board
    start = await monitor.mark()
    call_id = await party.press(kiosk)
    await board.until(lambda: all(call_id in c.rings for c in available))
    await monitor.quiet()
    press = await monitor.count_between(start, await monitor.mark())

    start = await monitor.mark()
    await answerer.send({"type": "answer", "call_id": call_id})
    await board.until(lambda: kiosk.answered_at is not None and call_id in answerer.won
                      and all(call_id in c.stops for c in others))  # fmt: skip
    await monitor.quiet()
    answer = await monitor.count_between(start, await monitor.mark())

    start = await monitor.mark()
    await answerer.send({"type": "hangup", "call_id": call_id})
    await board.until(lambda: kiosk.ended and call_id in answerer.ended)
    await monitor.quiet()
    hangup = await monitor.count_between(start, await monitor.mark())
    return [press, answer, hangup]


async def set_available(party: Party, consoles: list[Console], state: str) -> None:
    for console in consoles:
        await console.send({"type": "set_availability", "state": state})
    await party.board.until(lambda: all(c.availability == state for c in consoles))
