"""Seeding the queue bench's town through ``server.accounts.Accounts``, in threads.

argon2 releases the GIL, so threads (each with its own loop and Redis client) hash
in parallel. A few kiosks always get the real argon2 parameters, to measure a real
handshake; the caller decides which hasher the rest get.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from unittest import mock

import redis.asyncio as aioredis
from argon2 import PasswordHasher

import server.accounts
from server.accounts import Accounts
from server.towns import Towns

PASSWORD = "bench password 一键"
THREADS = 4
# Calls wait for the operators, who answer and hang up at once: nothing may time out.
TOWN = {"wrap_up_s": 0, "ring_timeout_s": 600, "max_wait_s": 3600, "grace_s": 600,
        "max_missed_rings": 100}  # fmt: skip


@dataclass
class Town:
    id: str
    kiosks: dict[str, str] = field(default_factory=dict)  # kiosk id -> token
    real_kiosks: dict[str, str] = field(default_factory=dict)  # real argon2 parameters
    operators: list[str] = field(default_factory=list)


def seed_town(redis_url: str, kiosks: int, operators: int, handshakes: int) -> Town:
    """A town with ``operators`` operators, ``kiosks`` kiosks hashed with the hasher in
    place, and ``handshakes`` more with the real one (blocking)."""
    town = Town("bench" + secrets.token_hex(3))
    asyncio.run(_town(redis_url, town, operators))
    ids = [f"{town.id}-k{i:05d}" for i in range(kiosks)]
    with ThreadPoolExecutor(THREADS) as pool:
        for made in pool.map(lambda chunk: _kiosks(redis_url, town.id, chunk), _chunks(ids)):
            town.kiosks.update(made)
    real_ids = [f"{town.id}-real{i}" for i in range(handshakes)]
    with mock.patch.object(server.accounts, "_hasher", PasswordHasher()):
        town.real_kiosks = _kiosks(redis_url, town.id, real_ids)
    return town


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i::THREADS] for i in range(THREADS)]


async def _town(redis_url: str, town: Town, operators: int) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    accounts = Accounts(redis)
    await accounts.add_town(town.id, "压测镇")
    for name, value in TOWN.items():
        await Towns(redis).set(town.id, name, str(value))
    for i in range(operators):
        username = f"{town.id}-op{i}"
        await accounts.add_operator(username, town.id, "operator", PASSWORD)
        town.operators.append(username)
    await redis.aclose()


def _kiosks(redis_url: str, town_id: str, ids: list[str]) -> dict[str, str]:
    async def add() -> dict[str, str]:
        redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        accounts = Accounts(redis)
        try:
            return {
                k: await accounts.add_kiosk(k, town_id, f"服务点 {k[-5:]}", "压测村") for k in ids
            }
        finally:
            await redis.aclose()

    return asyncio.run(add())
