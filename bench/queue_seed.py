"""Seeding the queue bench's town: the town and its operators through
``server.accounts.accounts.Accounts``, and the kiosks written straight into Redis (pipelined),
as ``Accounts.add_kiosk`` writes them.

``token_hash`` is the one place that knows how a kiosk's token is stored; it calls
``server.accounts.accounts.token_digest``, as ``Accounts.rotate_kiosk`` does, so a change in
how the hub keeps tokens reaches the bench by itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.kiosks import token_digest
from server.accounts.towns import Towns
from server.store import keys

PASSWORD = "bench password 一键"
PIPELINE = 500  # kiosks per pipelined write
# Calls wait for the operators, and rings for an answer: nothing may time out.
# Any kiosk may press again at once.
TOWN = {"wrap_up_s": 0, "ring_timeout_s": 600, "max_wait_s": 3600, "grace_s": 600,
        "max_missed_rings": 100, "kiosk_calls_per_min": 1000}  # fmt: skip


def token_hash(key: bytes, token: str) -> str:
    """The ``token_hash`` field of a kiosk's hash, for ``token`` under the hub's key."""
    return token_digest(key, token)


@dataclass
class Town:
    id: str
    kiosks: dict[str, str] = field(default_factory=dict)  # kiosk id -> token
    operators: list[str] = field(default_factory=list)


async def seed_town(redis: aioredis.Redis, kiosks: int, operators: int) -> Town:
    """A fresh town with ``operators`` operators and ``kiosks`` kiosks."""
    town = Town("bench" + secrets.token_hex(3))
    accounts = Accounts(redis)
    await accounts.add_town(town.id, "压测镇")
    for name, value in TOWN.items():
        await Towns(redis).set(town.id, name, str(value))
    for i in range(operators):
        username = f"{town.id}-op{i}"
        await accounts.add_operator(username, town.id, "operator", PASSWORD)
        town.operators.append(username)
    key = await accounts.token_key()
    ids = [f"{town.id}-k{i:05d}" for i in range(kiosks)]
    for start in range(0, len(ids), PIPELINE):
        async with redis.pipeline(transaction=False) as pipe:
            for kiosk_id in ids[start : start + PIPELINE]:
                token = f"{kiosk_id}.{secrets.token_urlsafe(32)}"
                town.kiosks[kiosk_id] = token
                pipe.hset(keys.kiosk(kiosk_id), mapping={
                    "town": town.id, "name": f"服务点 {kiosk_id[-5:]}", "village": "压测村",
                    "token_hash": token_hash(key, token), "revoked": "", "epoch": 1,
                })  # fmt: skip
                pipe.sadd(keys.KIOSKS, kiosk_id)
            await pipe.execute()
    return town
