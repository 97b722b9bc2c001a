"""The numbers a supervisor reports, kept as calls happen, never by scanning calls.

Each town has one counter hash per local day of call creation (``keys.stats_day``)
and one histogram of answered calls' exact waits in milliseconds
(``keys.stats_waits``), which gives the p90 and the service level for any threshold.
A call counts once, when it ends (its hash keeps ``counted``, the day it counted in,
set in the same transaction); a request counts in the day it was created, under its
current status. docs/requests.md defines every figure.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.accounts.towns import Towns, TownSettings
from server.clock import now_ms
from server.errors import BadRequest
from server.queue.records import CallRecord
from server.store import keys
from server.store.index_scan import id_bound
from server.tracking.scripts import COUNT_CALL, Writer

MAX_DAYS = 3 * 366


Count = tuple[str, str, int]  # a counter hash, its field, the amount to add


def call_counts(settings: TownSettings, call: CallRecord) -> tuple[str, list[Count]]:
    """The day one ended call counts in, and what it adds to the counters."""
    day = settings.day(call.created_at)
    key = keys.stats_day(call.town_id, day)
    counts = [
        (key, "calls", 1),
        (key, f"s_{call.status}", 1),
        (key, f"k:{call.kiosk_id}", 1),
        (key, f"h:{settings.local(call.created_at).hour}", 1),
    ]
    if call.answered_at is not None:
        wait = call.answered_at - call.created_at
        counts += [
            (key, "answered", 1),
            (key, "wait_ms", wait),
            (key, "talk_ms", (call.ended_at or call.answered_at) - call.answered_at),
            (keys.stats_waits(call.town_id, day), str(wait), 1),
        ]
    return day, counts


def queue_call_ended(pipe: Writer, settings: TownSettings, call: CallRecord) -> str:
    """Queue the counters of one ended call (the benchmark's bulk seeding); returns the
    day it counts in."""
    day, counts = call_counts(settings, call)
    for key, field, amount in counts:
        pipe.hincrby(key, field, amount)
    return day


def queue_request_status(pipe: Writer, town_id: str, day: str, old: str | None, new: str) -> None:
    key = keys.stats_day(town_id, day)
    if old is not None:
        pipe.hincrby(key, f"rq_{old}", -1)
    pipe.hincrby(key, f"rq_{new}", 1)


def queue_rating(pipe: Pipeline, town_id: str, day: str, value: str) -> None:
    key = keys.stats_day(town_id, day)
    pipe.hincrby(key, "rated", 1)
    if value == "satisfied":
        pipe.hincrby(key, "satisfied", 1)


def queue_wrap_up(pipe: Pipeline, town_id: str, day: str, wrap_ms: int) -> None:
    pipe.hincrby(keys.stats_day(town_id, day), "wrap_ms", wrap_ms)


def p90(waits: Counter[int]) -> int | None:
    """Nearest-rank 90th percentile of an exact histogram."""
    total = sum(waits.values())
    if not total:
        return None
    rank, seen = math.ceil(0.9 * total), 0
    for wait in sorted(waits):
        seen += waits[wait]
        if seen >= rank:
            return wait
    return None  # pragma: no cover - unreachable


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _days(cfg: TownSettings, since_ms: int, until_ms: int) -> list[str]:
    first, last = cfg.local(since_ms).date(), cfg.local(until_ms - 1).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise BadRequest(f"a range may span at most {MAX_DAYS} days; got {count}", code="bad_range")
    return [(first.fromordinal(first.toordinal() + i)).isoformat() for i in range(max(count, 0))]


@dataclass(frozen=True)
class Range:
    since_ms: int
    until_ms: int  # exclusive


class Stats:
    def __init__(self, redis: aioredis.Redis, towns: Towns) -> None:
        self.redis = redis
        self.towns = towns
        self._count_call = redis.register_script(COUNT_CALL)

    async def record_call_ended(
        self, call: CallRecord, settings: TownSettings | None = None
    ) -> bool:
        """Count an ended call, exactly once however often it is called: one script
        call when the town's settings are given."""
        day, counts = call_counts(settings or await self.towns.settings(call.town_id), call)
        args = [day, *(word for count in counts for word in count)]
        return bool(await self._count_call(keys=[keys.call(call.id)], args=args))

    async def summary(self, town_ids: list[str], rng: Range) -> dict[str, Any]:
        cfgs = [await self.towns.settings(t) for t in town_ids]
        plan = [(cfg, day) for cfg in cfgs for day in _days(cfg, rng.since_ms, rng.until_ms)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for cfg, day in plan:
                pipe.hgetall(keys.stats_day(cfg.id, day))
                pipe.hgetall(keys.stats_waits(cfg.id, day))
            for cfg in cfgs:
                pipe.zrangebyscore(keys.town_due(cfg.id), "-inf", now_ms())
            replies = await pipe.execute()
        totals: Counter[str] = Counter()
        waits: Counter[int] = Counter()
        by_day: dict[str, Counter[str]] = {}
        within = 0
        for i, (cfg, day) in enumerate(plan):
            counts = Counter({k: int(v) for k, v in replies[2 * i].items()})
            day_waits = Counter({int(k): int(v) for k, v in replies[2 * i + 1].items()})
            totals.update(counts)
            waits.update(day_waits)
            by_day.setdefault(day, Counter()).update(counts)
            limit_ms = cfg.service_level_s * 1000
            within += sum(n for w, n in day_waits.items() if w <= limit_ms)
        overdue = 0
        for cfg, due in zip(cfgs, replies[2 * len(plan) :], strict=True):
            days = [d for c, d in plan if c is cfg]
            if days:
                low = id_bound(cfg.day_start_ms(days[0]))
                high = id_bound(cfg.day_start_ms(days[-1]) + 86_400_000)
                overdue += sum(1 for rid in due if low <= rid < high)
        return self._figures(cfgs, totals, waits, within, overdue, by_day)

    @staticmethod
    def _figures(
        cfgs: list[TownSettings], t: Counter[str], waits: Counter[int], within: int,
        overdue: int, by_day: dict[str, Counter[str]],
    ) -> dict[str, Any]:  # fmt: skip
        calls, answered = t["calls"], t["answered"]
        thresholds = {cfg.service_level_s for cfg in cfgs}
        worst = p90(waits)
        collected = sum(t[f"rq_{s}"] for s in ("open", "in_progress", "resolved", "closed"))
        return {
            "calls": calls,
            "answered": answered,
            "completed": t["s_completed"],
            "abandoned": t["s_abandoned"],
            "unanswered": t["s_unanswered"],
            "failed": t["s_failed"],
            "answer_rate": _ratio(answered, calls),
            "avg_wait_s": _ratio(t["wait_ms"] / 1000, answered),
            "p90_wait_s": None if worst is None else worst / 1000,
            "service_level": _ratio(within, calls),
            "service_level_threshold_s": thresholds.pop() if len(thresholds) == 1 else None,
            "requests_collected": collected,
            "requests_resolved": t["rq_resolved"] + t["rq_closed"],
            "requests_open": t["rq_open"] + t["rq_in_progress"],
            "requests_overdue": overdue,
            "avg_talk_s": _ratio(t["talk_ms"] / 1000, answered),
            "avg_wrap_up_s": _ratio(t["wrap_ms"] / 1000, answered),
            "avg_handle_s": _ratio((t["talk_ms"] + t["wrap_ms"]) / 1000, answered),
            "rated": t["rated"],
            "satisfaction_rate": _ratio(t["satisfied"], t["rated"]),
            "calls_per_kiosk": {k[2:]: n for k, n in sorted(t.items()) if k.startswith("k:") and n},
            "calls_by_hour": [t[f"h:{h}"] for h in range(24)],
            "series": [
                {
                    "date": day,
                    "calls": c["calls"],
                    "answered": c["answered"],
                    "abandoned": c["s_abandoned"],
                    "unanswered": c["s_unanswered"],
                    "requests_collected": sum(
                        c[f"rq_{s}"] for s in ("open", "in_progress", "resolved", "closed")
                    ),
                    "requests_resolved": c["rq_resolved"] + c["rq_closed"],
                }
                for day, c in sorted(by_day.items())
            ],
        }
