"""Seeding many calls and requests fast, in the stores' own layout.

The stores' write helpers (``server.tracking.request_store.queue_create``,
``server.tracking.stats.queue_call_ended``) take anything with a pipeline's write methods; the
``Grouped`` writer here merges their commands (one ZADD or SADD per key, counters
summed) and sends them in large pipelines, so a million calls seed in minutes while
the keys, fields and counters are exactly what the hub writes.
"""

from __future__ import annotations

import functools
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from server.accounts.categories import DEFAULT_CATEGORIES
from server.accounts.towns import TownSettings
from server.queue.records import CallRecord
from server.store import keys
from server.tracking import stats
from server.tracking.request_model import RequestRecord, number
from server.tracking.request_store import queue_create
from server.tracking.text_index import tokens

PHRASES = (
    "村口路灯坏了", "低保申请材料", "邻居占用公共通道", "河边垃圾没人清理", "老人医保报销进度",
    "自来水管爆裂", "宅基地纠纷", "村道坑洼积水", "野狗伤人", "养老金没有到账",
    "噪音扰民", "危房改造补助", "孩子入学咨询", "农药残留投诉", "电动车被盗",
    "water pipe", "bus schedule", "internet outage",
)  # fmt: skip
DAY_MS = 86_400_000


class Grouped:
    """A pipeline-like sink that merges writes per key before sending them."""

    def __init__(self) -> None:
        self.hashes: list[tuple[str, dict[str, Any]]] = []
        self.zsets: dict[str, dict[str, float]] = defaultdict(dict)
        self.sets: dict[str, set[str]] = defaultdict(set)
        self.lists: dict[str, list[str]] = defaultdict(list)
        self.strings: dict[str, str] = {}
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def hset(self, key: str, field: str | None = None, value: Any = None,
             mapping: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.hashes.append((key, mapping if mapping is not None else {str(field): value}))

    def zadd(self, key: str, members: dict[str, float]) -> None:
        self.zsets[key].update(members)

    def sadd(self, key: str, *members: str) -> None:
        self.sets[key].update(members)

    def rpush(self, key: str, *values: str) -> None:
        self.lists[key].extend(values)

    def set(self, key: str, value: str) -> None:
        self.strings[key] = value

    def hincrby(self, key: str, field: str, amount: int) -> None:
        self.counters[key][field] += amount

    def resp(self) -> bytes:
        """Every write as Redis protocol (RESP), for ``redis-cli --pipe``; then empty."""
        out: list[bytes] = []
        for key, mapping in self.hashes:
            out.append(_command("HSET", key, *(x for kv in mapping.items() for x in kv)))
        for key, zmembers in self.zsets.items():
            out.append(_command("ZADD", key, *(x for m, s in zmembers.items() for x in (s, m))))
        out += [_command("SADD", key, *members) for key, members in self.sets.items()]
        out += [_command("RPUSH", key, *values) for key, values in self.lists.items()]
        out += [_command("SET", key, value) for key, value in self.strings.items()]
        for key, counts in self.counters.items():
            for field, amount in counts.items():
                out.append(_command("HINCRBY", key, field, amount))
        self.__init__()  # type: ignore[misc]
        return b"".join(out)


def _command(*args: Any) -> bytes:
    encoded = [a.encode() if type(a) is str else str(a).encode() for a in args]
    return b"*%d\r\n" % len(encoded) + b"".join([b"$%d\r\n%b\r\n" % (len(e), e) for e in encoded])


class HourlyTownSettings(TownSettings):
    """A town's clock, memoised per hour: the seeding asks it a million times, and only
    the local date and hour matter (offsets are whole hours)."""

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - a handful of configs, kept all run
    def _hour(self, hour: int) -> datetime:
        return TownSettings.local(self, hour * 3_600_000)

    def local(self, at_ms: int) -> datetime:
        return self._hour(at_ms // 3_600_000)

    def day(self, at_ms: int) -> str:
        return self._day(at_ms // 3_600_000)

    @functools.lru_cache(maxsize=100_000)  # noqa: B019
    def _day(self, hour: int) -> str:
        return self._hour(hour).strftime("%Y-%m-%d")


@dataclass
class Town:
    cfg: TownSettings
    kiosks: list[tuple[str, str, str]]  # id, name, village
    operators: list[str]
    seq: dict[int, int]


def make_towns(count: int) -> list[Town]:
    towns = []
    for t in range(count):
        town_id = f"bt{t:02d}"
        kiosks = [(f"{town_id}-k{k}", f"服务点{k}", f"村{k % 5}") for k in range(10)]
        towns.append(Town(HourlyTownSettings(id=town_id), kiosks,
                          [f"{town_id}-op{o}" for o in range(5)], {}))  # fmt: skip
    return towns


async def register(redis: aioredis.Redis, towns: list[Town]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for town in towns:
            pipe.sadd(keys.TOWNS, town.cfg.id)
            pipe.hset(keys.town(town.cfg.id), mapping={"name": f"{town.cfg.id}镇"})
            for kiosk_id, name, village in town.kiosks:
                pipe.sadd(keys.KIOSKS, kiosk_id)
                pipe.hset(keys.kiosk(kiosk_id), mapping={
                    "town": town.cfg.id, "name": name, "village": village,
                    "token_hash": "-", "lat": "22.2", "long": "112.3"})  # fmt: skip
            for op in town.operators:
                pipe.sadd(keys.OPERATORS, op)
                pipe.hset(keys.operator(op), mapping={"town": town.cfg.id, "role": "operator"})
        await pipe.execute()


def one_call(out: Grouped, rng: random.Random, town: Town, at: int, now: int) -> CallRecord:
    """One ended call (and its request), written the way the hub writes them."""
    kiosk_id, kiosk_name, village = rng.choice(town.kiosks)
    call_id = f"{at:011x}{rng.getrandbits(32):08x}"
    roll = rng.random()
    status = "completed" if roll < 0.82 else "abandoned" if roll < 0.92 else (
        "unanswered" if roll < 0.98 else "failed")  # fmt: skip
    wait = int(rng.expovariate(1 / 9000)) + 500
    answered = at + wait if status in ("completed", "failed") else None
    ended = (answered + rng.randint(30_000, 600_000)) if answered else at + wait
    operator = rng.choice(town.operators) if answered else None
    call = CallRecord(id=call_id, kiosk_id=kiosk_id, town_id=town.cfg.id, kiosk_name=kiosk_name,
                      village=village, status=status, created_at=at, answered_at=answered,
                      ended_at=ended, operator=operator,
                      end_reason="operator_hangup" if answered else "kiosk_hangup")  # fmt: skip
    fields: dict[str, Any] = {
        "id": call_id, "kiosk_id": kiosk_id, "town_id": town.cfg.id, "kiosk_name": kiosk_name,
        "village": village, "status": status, "created_at": at, "queued_at": at, "kind": "call",
        "ended_at": ended, "end_reason": call.end_reason,
    }  # fmt: skip
    if answered:
        fields.update(answered_at=answered, operator=operator, wrap_up_ms=0)
        out.zadd(keys.call_index("operator", operator or ""), {call_id: 0})
    for index in (keys.CALLS, keys.town_calls(town.cfg.id), keys.kiosk_calls(kiosk_id),
                  keys.call_index("status", town.cfg.id, status)):  # fmt: skip
        out.zadd(index, {call_id: 0})
    fields["counted"] = stats.queue_call_ended(out, town.cfg, call)  # type: ignore[arg-type]
    if answered or status == "unanswered":
        rec = one_request(rng, town, call, (answered or ended) + 1, now)
        queue_create(out, rec, None, operator or "hub")  # type: ignore[arg-type]
        out.strings.pop(keys.kiosk_open_request(kiosk_id), None)  # old requests: all handled
        if rng.random() < 0.3:
            text = "已联系村委会跟进处理"
            note = {"author": operator or "hub", "at": rec.updated_at, "text": text}
            out.rpush(keys.request_notes(rec.id), json.dumps(note, ensure_ascii=False))
            for token in tokens(text):
                out.sadd(keys.search_token(town.cfg.id, token), rec.id)
        if rec.due_at and rec.status in ("open", "in_progress"):
            out.zadd(keys.town_due(town.cfg.id), {rec.id: rec.due_at})
        fields.update(request_id=rec.id, request_number=rec.number,
                      request=json.dumps(rec.call_view(), ensure_ascii=False))  # fmt: skip
    out.hset(keys.call(call_id), mapping=fields)
    return call


def one_request(
    rng: random.Random, town: Town, call: CallRecord, at: int, now: int
) -> RequestRecord:
    year = town.cfg.local(at).year
    town.seq[year] = town.seq.get(year, 0) + 1
    age_days = (now - at) / DAY_MS
    status = "open"
    if call.answered_at:
        status = rng.choices(("open", "in_progress", "resolved", "closed"),
                             (1, 2, 3, 4) if age_days > 7 else (4, 3, 2, 1))[0]  # fmt: skip
    summary = "".join(rng.sample(PHRASES, 2)) if call.answered_at else ""
    return RequestRecord(
        id=f"{at:011x}{rng.getrandbits(32):08x}", number=number(town.cfg.number_prefix, year,
        town.seq[year]), town_id=town.cfg.id, kiosk_id=call.kiosk_id, kiosk_name=call.kiosk_name,
        village=call.village, kind="call" if call.answered_at else "callback", status=status,
        created_at=at, updated_at=at + 3_600_000, day=town.cfg.day(at),
        category=rng.choice(DEFAULT_CATEGORIES) if summary else "", summary=summary,
        operator=call.operator, due_at=at + 7 * DAY_MS if rng.random() < 0.5 else None,
        resolved_at=at + 3_600_000 if status in ("resolved", "closed") else None,
        call_ids=(call.id,), lat="22.2", long="112.3",
    )  # fmt: skip
