"""Seeding calls and their requests straight through the stores, against the session's
Redis, the way the hub makes them: create, claim, save, end."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from server.accounts.accounts import Operator
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns
from server.queue.calls import CallStore
from server.queue.records import CallRecord
from server.store import keys
from server.tracking import hooks as tracking
from server.tracking.request_model import Changes

SUMMARIES = (
    "村口路灯坏了三盏, 请安排维修。",
    "低保申请材料怎么准备?",
    "邻居占用公共通道堆放杂物。",
    "河边垃圾很久没人清理。",
    "Water pipe broken near the school",
    "老人医保报销进度咨询。",
)


@dataclass
class Seeded:
    calls: list[CallRecord]
    operators: list[Operator]
    kiosks: list[Kiosk]


async def seed_calls(
    redis: aioredis.Redis, town_id: str, count: int, *,
    operators: int = 3, kiosks: int = 3, villages: tuple[str, ...] = ("石头村", "河口村"),
    abandon_every: int = 7,
) -> Seeded:  # fmt: skip
    """``count`` calls in a fresh town, with a mix of outcomes and requests:
    every ``abandon_every``th abandoned, every 11th unanswered, the rest answered and
    written up."""
    calls = CallStore(redis)
    wired = tracking.wire(redis, calls, Towns(redis))
    # Written directly, without the argon2 hashes that accounts.add_* compute: these
    # kiosks and operators never log in, their calls are made here.
    ops = [Operator(f"{town_id}-seed{i}", town_id, "operator") for i in range(operators)]
    ks = [Kiosk(f"{town_id}-sk{i}", town_id, f"服务点 {i}", villages[i % len(villages)])
          for i in range(kiosks)]  # fmt: skip
    for op in ops:
        await redis.hset(keys.operator(op.username), mapping={"town": town_id, "role": op.role})
    for k in ks:
        await redis.hset(keys.kiosk(k.id), mapping={"town": town_id, "name": k.name,
                                                    "village": k.village})  # fmt: skip
    categories = await wired.categories.of(town_id)

    async def one(n: int) -> CallRecord:
        kiosk, op = ks[n % len(ks)], ops[n % len(ops)]
        call, _ = await calls.create(kiosk, secrets.token_hex(8))
        if n % abandon_every == 3 % abandon_every:
            ended = await calls.end(call.id, reason="kiosk_hangup", by="kiosk")
        elif n % 11 == 5:
            ended = await calls.end(call.id, reason="max_wait", by="hub", if_queued="unanswered")
        else:
            await calls.claim(call.id, op, "seed-conn")
            answered = await calls.get(call.id)
            changes = Changes(
                summary=f"{SUMMARIES[n % len(SUMMARIES)]} #{n}",
                category=categories[n % len(categories)],
                status=("open", "in_progress", "resolved", "resolved")[(n // len(ks)) % 4],
            )
            await wired.requests.save_from_call(answered, changes, op)
            ended = await calls.end(call.id, reason="operator_hangup", by=op.username)
        assert ended is not None
        return ended

    async def lane(first: int) -> list[CallRecord]:
        # One lane per kiosk (and its operator), as in life: a kiosk's calls follow
        # each other; different kiosks' calls overlap.
        return [await one(n) for n in range(first, count, len(ks))]

    lanes = await asyncio.gather(*(lane(i) for i in range(len(ks))))
    made = sorted((c for lane_calls in lanes for c in lane_calls), key=lambda c: c.id)
    return Seeded(made, ops, ks)


async def collect(http: Any, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a paged list, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await http.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
