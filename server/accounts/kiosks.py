"""Towns and their kiosks: the records, and the kiosks' tokens; the base of
``Accounts`` (``server.accounts.accounts``), which adds operators and their sessions.

A kiosk's token is 256 random bits, so it is stored as a fast keyed hash (HMAC-SHA-256
under a key kept in Redis): a reconnect storm of thousands of kiosks costs microseconds
each, not seconds. Rotating or revoking a kiosk bumps its ``epoch`` and, in the same
step, delivers the change on its channel (kept in its stream: a lost publication is
repaired), so every hub closes the sockets opened under the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.accounts import passwords
from server.errors import BadRequest, NotFound, Unauthorized
from server.store import keys, scripts

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_DIGEST = "hmac-sha256$"


@dataclass(frozen=True)
class Town:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Kiosk:
    id: str
    town_id: str
    name: str
    village: str
    epoch: int = 0


def check_id(kind: str, value: str) -> str:
    if not ID_PATTERN.match(value):
        raise BadRequest(
            f"{kind} id must be 1-64 letters, digits, '-' or '_'; got {value!r}",
            code="invalid_id",
        )
    return value


def token_digest(key: bytes, token: str) -> str:
    """The stored form of a kiosk token: HMAC-SHA-256 under the hub's token key."""
    return TOKEN_DIGEST + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def revoke_message(session: str | None = None) -> str:
    """What a channel carries to end sockets: all of them, or one session's."""
    return json.dumps({"kind": "revoke", "session": session})


class KioskAccounts:
    """The towns and the kiosks registered in them."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._token_key: bytes | None = None
        self._deliver = redis.register_script(scripts.DELIVER)

    async def deliver_in(self, pipe: Pipeline, channel: str, message: str) -> None:
        """Queue in ``pipe`` the bus's delivery of ``message`` (JSON text) on ``channel``,
        in the same step as the change it tells: kept in the channel's stream, so a hub
        that misses the publication still gets it within its repair (``server.store.bus``)."""
        await self._deliver(keys=[keys.inbox(channel)], args=[channel, message], client=pipe)

    # --- towns -------------------------------------------------------------------

    async def add_town(self, town_id: str, name: str) -> Town:
        check_id("town", town_id)
        await self.redis.hset(keys.town(town_id), mapping={"name": name})
        await self.redis.sadd(keys.TOWNS, town_id)
        return Town(town_id, name)

    async def town(self, town_id: str) -> Town:
        name = await self.redis.hget(keys.town(town_id), "name")
        if name is None:
            raise NotFound(f"no town {town_id!r}", code="town_not_found")
        return Town(town_id, name)

    async def has_any_town(self) -> bool:
        return bool(await self.redis.scard(keys.TOWNS))

    # --- kiosks ------------------------------------------------------------------

    async def token_key(self) -> bytes:
        if self._token_key is None:
            await self.redis.set(keys.TOKEN_KEY, secrets.token_hex(32), nx=True)
            self._token_key = bytes.fromhex(await self.redis.get(keys.TOKEN_KEY))
        return self._token_key

    async def add_kiosk(self, kiosk_id: str, town_id: str, name: str, village: str = "") -> str:
        """Register a kiosk (or replace its token) and return its new secret token.

        The token starts with the kiosk's id ("ID.SECRET"), so the Bearer header alone
        names the kiosk; only its keyed hash is stored.
        """
        check_id("kiosk", kiosk_id)
        await self.town(town_id)
        place = {"town": town_id, "name": name, "village": village}
        old_town = await self.redis.hget(keys.kiosk(kiosk_id), "town")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.kiosk(kiosk_id), mapping=place)
            pipe.sadd(keys.KIOSKS, kiosk_id)
            if old_town is not None and old_town != town_id:
                pipe.srem(keys.town_kiosks(old_town), kiosk_id)
            pipe.sadd(keys.town_kiosks(town_id), kiosk_id)
            await pipe.execute()
        return await self.rotate_kiosk(kiosk_id)

    async def rotate_kiosk(self, kiosk_id: str) -> str:
        """A new token for the kiosk; the old one is refused from now on and its open
        sockets are closed."""
        await self.kiosk(kiosk_id)
        token = f"{kiosk_id}.{secrets.token_urlsafe(32)}"
        digest = token_digest(await self.token_key(), token)
        await self._kiosk_changed(kiosk_id, {"token_hash": digest, "revoked": "",
                                             "revoked_hash": ""})  # fmt: skip
        return token

    async def revoke_kiosk(self, kiosk_id: str) -> None:
        """The kiosk's token is refused from now on and its open sockets are closed.
        Its hash is kept apart, so that token alone is told ``kiosk_revoked``."""
        await self.kiosk(kiosk_id)
        hashes = await self.redis.hmget(keys.kiosk(kiosk_id), ["token_hash", "revoked_hash"])
        last = next((h for h in hashes if h), "")
        await self._kiosk_changed(kiosk_id, {"token_hash": "", "revoked": "1",
                                             "revoked_hash": last})  # fmt: skip

    async def _kiosk_changed(self, kiosk_id: str, mapping: dict[str, str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.kiosk(kiosk_id), mapping=mapping)
            pipe.hincrby(keys.kiosk(kiosk_id), "epoch", 1)
            await self.deliver_in(pipe, keys.kiosk_channel(kiosk_id), revoke_message())
            await pipe.execute()

    async def kiosk(self, kiosk_id: str) -> Kiosk:
        data = await self.redis.hgetall(keys.kiosk(kiosk_id))
        if not data:
            raise NotFound(f"no kiosk {kiosk_id!r}", code="kiosk_not_found")
        return Kiosk(kiosk_id, data["town"], data["name"], data.get("village", ""),
                     int(data.get("epoch") or 0))  # fmt: skip

    async def still_valid(self, kiosk: Kiosk) -> bool:
        """Whether the kiosk's token is still the one it authenticated with."""
        epoch, revoked = await self.redis.hmget(keys.kiosk(kiosk.id), ["epoch", "revoked"])
        return revoked != "1" and int(epoch or 0) == kiosk.epoch

    async def authenticate_kiosk(self, kiosk_id: str, token: str) -> Kiosk:
        data = await self.redis.hgetall(keys.kiosk(kiosk_id)) if ID_PATTERN.match(kiosk_id) else {}
        stored = data.get("token_hash", "")
        if passwords.is_argon2(stored):  # made before tokens had a keyed hash: upgrade it
            if not await passwords.verify(stored, token):
                raise Unauthorized("unknown kiosk or wrong token", code="bad_token")
            digest = token_digest(await self.token_key(), token)
            await self.redis.hset(keys.kiosk(kiosk_id), "token_hash", digest)
        else:
            digest = token_digest(await self.token_key(), token)
            revoked = data.get("revoked") == "1"
            if revoked and hmac.compare_digest(data.get("revoked_hash", ""), digest):
                raise Unauthorized("this kiosk's token was revoked", code="kiosk_revoked")
            if not data or revoked or not hmac.compare_digest(stored, digest):
                raise Unauthorized("unknown kiosk or wrong token", code="bad_token")
        return Kiosk(kiosk_id, data["town"], data["name"], data.get("village", ""),
                     int(data.get("epoch") or 0))  # fmt: skip
