"""Operators' presence, shared by every tab and every hub, in Redis.

An operator is one presence however many consoles they have open: the choice
``available``/``away`` is theirs, the rest follows from facts in Redis:

    offline   no console holds a live lease (closed, crashed, frozen, or its hub died)
    busy      in a call
    ringing   a call is being offered to them
    wrap_up   just finished a call; no rings until ``wrap_until`` or the request is saved
    available / away   as they chose
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from server.clock import now_ms
from server.store import keys

STATES = ("offline", "away", "available", "ringing", "busy", "wrap_up")
LEASE_MS = 10_000  # a console silent this long is offline


@dataclass(frozen=True)
class Presence:
    username: str
    availability: str  # available | away
    alive: bool
    live_call: str | None
    ringing: str | None
    ring_since: int
    missed: int
    idle_since: int
    wrap_until: int

    def state(self, at_ms: int) -> str:
        if not self.alive:
            return "offline"
        if self.live_call:
            return "busy"
        if self.ringing:
            return "ringing"
        if self.wrap_until > at_ms:
            return "wrap_up"
        return self.availability

    def can_ring(self, at_ms: int) -> bool:
        """Free to be offered a call: connected, available, not in a call or wrap-up."""
        return (
            self.alive
            and self.availability == "available"
            and not self.live_call
            and self.wrap_until <= at_ms
        )


class PresenceStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def get(self, username: str) -> Presence:
        return (await self.many([username]))[0]

    async def many(self, usernames: list[str]) -> list[Presence]:
        if not usernames:
            return []
        now = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in usernames:
                pipe.hgetall(keys.presence(name))
                pipe.zcount(keys.operator_conns(name), now, "+inf")
                pipe.get(keys.operator_live(name))
            rows = await pipe.execute()
        found = []
        for i, name in enumerate(usernames):
            data, alive, live = rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]
            found.append(
                Presence(
                    username=name,
                    availability=data.get("availability", "away"),
                    alive=alive > 0,
                    live_call=live,
                    ringing=data.get("ringing") or None,
                    ring_since=int(data.get("ring_since") or 0),
                    missed=int(data.get("missed") or 0),
                    idle_since=int(data.get("idle_since") or 0),
                    wrap_until=int(data.get("wrap_until") or 0),
                )
            )
        return found

    async def connect(self, username: str, conn_id: str, address: str = "") -> bool:
        """Register a console (and the address it connected from); True when it is the
        operator's only live one (a fresh start, which begins ``away`` as it opens)."""
        now = now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(keys.operator_conns(username), "-inf", now)
            pipe.zcard(keys.operator_conns(username))
            pipe.zadd(keys.operator_conns(username), {conn_id: now + LEASE_MS})
            pipe.zadd(keys.LEASES, {keys.lease("o", username, conn_id): now + LEASE_MS})
            pipe.hset(keys.operator_conn_addresses(username), conn_id, address)
            pipe.expire(keys.operator_conn_addresses(username), keys.CONN_ADDRESS_TTL_S)
            _, others, *_ = await pipe.execute()
        if others == 0:
            await self.redis.hset(
                keys.presence(username), mapping={"availability": "away", "ringing": ""}
            )
        return others == 0

    async def disconnect(self, username: str, conn_id: str) -> bool:
        """Drop a console; True when the operator has no live console left."""
        now = now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.operator_conns(username), conn_id)
            pipe.zrem(keys.LEASES, keys.lease("o", username, conn_id))
            pipe.hdel(keys.operator_conn_addresses(username), conn_id)
            pipe.zcount(keys.operator_conns(username), now, "+inf")
            *_, left = await pipe.execute()
        return bool(left == 0)

    async def renew(self, leases: dict[str, list[str]]) -> None:
        """Extend the leases of consoles that answered lately: username -> conn ids."""
        if not leases:
            return
        until = now_ms() + LEASE_MS
        async with self.redis.pipeline(transaction=False) as pipe:
            for username, conn_ids in leases.items():
                pipe.zadd(keys.operator_conns(username), dict.fromkeys(conn_ids, until))
                pipe.expire(keys.operator_conn_addresses(username), keys.CONN_ADDRESS_TTL_S)
            await pipe.execute()

    async def set_availability(self, username: str, availability: str) -> None:
        mapping: dict[str, str | int] = {"availability": availability}
        if availability == "available":
            mapping.update(missed=0, idle_since=now_ms())
        await self.redis.hset(keys.presence(username), mapping=mapping)

    async def set_ringing(self, username: str, call_id: str | None) -> None:
        await self.redis.hset(
            keys.presence(username),
            mapping={"ringing": call_id or "", "ring_since": now_ms() if call_id else 0},
        )

    async def missed_ring(self, username: str) -> int:
        return int(await self.redis.hincrby(keys.presence(username), "missed", 1))

    async def end_wrap_up(self, username: str) -> None:
        now = now_ms()
        await self.redis.hset(keys.presence(username), mapping={"wrap_until": 0, "idle_since": now})
