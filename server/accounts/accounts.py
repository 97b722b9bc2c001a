"""Towns, kiosks, operators and their sessions.

Passwords are stored as argon2id hashes (``server.accounts.passwords``). A kiosk's token is 256
random bits, so it is stored as a fast keyed hash (HMAC-SHA-256 under a key kept in
Redis): a reconnect storm of thousands of kiosks costs microseconds each, not seconds.

Every change to an operator (password, role, town, disabled) or a kiosk (rotated,
revoked) bumps its ``epoch``: sessions made under an older epoch no longer count, and
the change is published on the operator's or kiosk's channel so every hub closes
the sockets opened under the old one at once (``server.edge.revocation``; the hubs also
check each socket's epoch every few seconds, so a lost message only delays it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from server.accounts import passwords
from server.accounts.session_clock import SessionClock
from server.accounts.throttle import LoginThrottle
from server.clock import now_ms
from server.errors import BadRequest, NotFound, Unauthorized
from server.store import keys

Role = Literal["operator", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("operator", "supervisor", "admin")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_DIGEST = "hmac-sha256$"
SESSION_COOKIE = "yijian_session"  # the operator's session token, HttpOnly


@dataclass(frozen=True)
class Town:
    id: str
    name: str


@dataclass(frozen=True)
class Kiosk:
    id: str
    town_id: str
    name: str
    village: str
    epoch: int = 0


@dataclass(frozen=True)
class Operator:
    username: str
    town_id: str
    role: Role
    epoch: int = 0
    disabled: bool = False

    @classmethod
    def from_hash(cls, username: str, data: dict[str, str]) -> Operator:
        return cls(username, data["town"], data["role"], int(data.get("epoch") or 0),  # type: ignore[arg-type]
                   data.get("disabled") == "1")  # fmt: skip


def check_id(kind: str, value: str) -> str:
    if not ID_PATTERN.match(value):
        raise BadRequest(
            f"{kind} id must be 1-64 letters, digits, '-' or '_'; got {value!r}",
            code="invalid_id",
        )
    return value


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_digest(key: bytes, token: str) -> str:
    """The stored form of a kiosk token: HMAC-SHA-256 under the hub's token key."""
    return TOKEN_DIGEST + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def revoke_message(session: str | None = None) -> str:
    """What a channel carries to end sockets: all of them, or one session's."""
    return json.dumps({"kind": "revoke", "session": session})


class Accounts:
    def __init__(
        self, redis: aioredis.Redis, session_ttl_s: int = 12 * 3600,
        throttle: LoginThrottle | None = None, session_idle_s: int | None = None,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.session_ttl_s = session_ttl_s  # the absolute limit, from the login
        self.clock = SessionClock(session_idle_s or session_ttl_s, session_ttl_s)
        self.throttle = throttle
        self._token_key: bytes | None = None

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
            pipe.publish(keys.kiosk_channel(kiosk_id), revoke_message())
            await pipe.execute()

    async def kiosk(self, kiosk_id: str) -> Kiosk:
        data = await self.redis.hgetall(keys.kiosk(kiosk_id))
        if not data:
            raise NotFound(f"no kiosk {kiosk_id!r}", code="kiosk_not_found")
        return Kiosk(kiosk_id, data["town"], data["name"], data.get("village", ""),
                     int(data.get("epoch") or 0))  # fmt: skip

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

    # --- operators ---------------------------------------------------------------

    async def add_operator(self, username: str, town_id: str, role: Role, password: str) -> None:
        """Add an operator, or replace an existing one's town, role and password (which
        ends their sessions and sockets, and takes them off their old town)."""
        check_id("operator", username)
        check_role(role)
        check_password(password)
        await self.town(town_id)
        old_town = await self.redis.hget(keys.operator(username), "town")
        digest = await passwords.hash_password(password)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.operator(username),
                      mapping={"town": town_id, "role": role, "password_hash": digest})  # fmt: skip
            if old_town is not None and old_town != town_id:
                pipe.srem(keys.town_operators(old_town), username)
            pipe.sadd(keys.OPERATORS, username)
            pipe.sadd(keys.town_operators(town_id), username)
            await pipe.execute()
        if old_town is not None:
            await self.end_sessions(username)

    async def end_sessions(self, username: str) -> None:
        """Every session of the operator ends and every socket of theirs closes."""
        sessions = await self.redis.smembers(keys.operator_sessions(username))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(keys.operator(username), "epoch", 1)
            pipe.delete(keys.operator_sessions(username), *map(keys.session, sessions))
            pipe.publish(keys.operator_channel(username), revoke_message())
            await pipe.execute()

    async def town_operators(self, town_id: str) -> list[str]:
        return sorted(await self.redis.smembers(keys.town_operators(town_id)))

    async def operator(self, username: str) -> Operator:
        data = await self.redis.hgetall(keys.operator(username))
        if not data:
            raise NotFound(f"no operator {username!r}", code="operator_not_found")
        return Operator.from_hash(username, data)

    async def login(self, username: str, password: str, address: str = "") -> tuple[Operator, str]:
        """Check the password; return the operator and a new session token."""
        if self.throttle is not None:
            await self.throttle.check(username, address)
        data = (
            await self.redis.hgetall(keys.operator(username)) if ID_PATTERN.match(username) else {}
        )
        ok = await passwords.verify(data.get("password_hash", passwords.DUMMY_HASH), password)
        if not ok or not data or data.get("disabled") == "1":
            if self.throttle is not None:
                await self.throttle.failed(username, address)
            raise Unauthorized("wrong username or password", code="bad_credentials")
        if self.throttle is not None:
            await self.throttle.succeeded(username)
        operator = Operator.from_hash(username, data)
        token = secrets.token_urlsafe(32)
        digest = session_hash(token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.session(digest), mapping={"username": username, "created": now_ms(),
                                                     "epoch": operator.epoch})  # fmt: skip
            pipe.expire(keys.session(digest), self.clock.first_ttl_s)
            pipe.sadd(keys.operator_sessions(username), digest)
            await pipe.execute()
        await self._forget_expired_sessions(username)
        return operator, token

    async def _forget_expired_sessions(self, username: str) -> None:
        members = list(await self.redis.smembers(keys.operator_sessions(username)))
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.exists(keys.session(member))
            found = await pipe.execute()
        if gone := [m for m, there in zip(members, found, strict=True) if not there]:
            await self.redis.srem(keys.operator_sessions(username), *gone)

    async def session_operator(self, token: str | None) -> Operator:
        if not token or len(token) > 200:
            raise Unauthorized("not logged in", code="not_logged_in")
        key = keys.session(session_hash(token))
        username, epoch, created = await self.redis.hmget(key, ["username", "epoch", "created"])
        ttl_s = self.clock.ttl_s(created)
        if username is None or ttl_s <= 0:
            raise Unauthorized("the session has expired; log in again", code="not_logged_in")
        await self.redis.expire(key, ttl_s)  # a use: the idle limit starts again
        try:
            operator = await self.operator(username)
        except NotFound:
            raise Unauthorized("the operator no longer exists", code="not_logged_in") from None
        if operator.disabled or operator.epoch != int(epoch or 0):
            raise Unauthorized("the session has ended; log in again", code="not_logged_in")
        return operator

    async def logout(self, token: str | None) -> None:
        if not token or len(token) > 200:
            return
        digest = session_hash(token)
        username = await self.redis.hget(keys.session(digest), "username")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.session(digest))
            if username is not None:
                pipe.srem(keys.operator_sessions(username), digest)
                pipe.publish(keys.operator_channel(username), revoke_message(digest))
            await pipe.execute()


def check_role(role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}",
                         code="bad_role")  # fmt: skip


def check_password(password: str) -> None:
    if len(password) < 8:
        raise BadRequest("the password must have at least 8 characters", code="weak_password")
