"""Towns, kiosks, operators and their sessions: ``Accounts``, whose base
(``server.accounts.kiosks.KioskAccounts``) holds the towns and the kiosks.

Passwords are stored as argon2id hashes (``server.accounts.passwords``).

Every change to an operator (password, role, town, disabled) or a kiosk (rotated,
revoked) bumps its ``epoch``: sessions made under an older epoch no longer count, and
the change is published on the operator's or kiosk's channel so every hub closes
the sockets opened under the old one at once (``server.edge.revocation``; the hubs also
check each socket's epoch every few seconds, so a lost message only delays it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from server.accounts import passwords
from server.accounts.audit import Actor, Audit
from server.accounts.kiosks import ID_PATTERN, KioskAccounts, check_id, revoke_message
from server.accounts.session_clock import SessionClock
from server.accounts.throttle import LoginThrottle
from server.clock import now_ms
from server.errors import BadRequest, NotFound, Unauthorized
from server.store import keys

Role = Literal["operator", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("operator", "supervisor", "admin")
SESSION_COOKIE = "yijian_session"  # the operator's session token, HttpOnly


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


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts(KioskAccounts):
    def __init__(
        self, redis: aioredis.Redis, session_ttl_s: int = 12 * 3600,
        throttle: LoginThrottle | None = None, session_idle_s: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(redis)
        self.session_ttl_s = session_ttl_s  # the absolute limit, from the login
        self.clock = SessionClock(session_idle_s or session_ttl_s, session_ttl_s)
        self.throttle = throttle
        self.audit = Audit(redis)

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
            await self.deliver_in(pipe, keys.operator_channel(username), revoke_message())
            await pipe.execute()

    async def town_operators(self, town_id: str) -> list[str]:
        return sorted(await self.redis.smembers(keys.town_operators(town_id)))

    async def operator(self, username: str) -> Operator:
        data = await self.redis.hgetall(keys.operator(username))
        if not data:
            raise NotFound(f"no operator {username!r}", code="operator_not_found")
        return Operator.from_hash(username, data)

    async def login(self, username: str, password: str, address: str = "") -> tuple[Operator, str]:
        """Check the password; return the operator and a new session token.

        Both outcomes go to the audit log; a failure only under a name that exists (an
        unknown one may be a password typed into the wrong field), and never a password.
        """
        if self.throttle is not None:
            await self.throttle.check(username, address)
        data = (
            await self.redis.hgetall(keys.operator(username)) if ID_PATTERN.match(username) else {}
        )
        ok = await passwords.verify(data.get("password_hash", passwords.DUMMY_HASH), password)
        if not ok or not data or data.get("disabled") == "1":
            if self.throttle is not None:
                await self.throttle.failed(username, address)
            if data:
                reason = "disabled" if ok else "wrong_password"
                who = Operator.from_hash(username, data)
                await self.audit.record(Actor(username, who.role, address), "login_failed",
                                        home_town(who), username, reason=reason)  # fmt: skip
            raise Unauthorized("wrong username or password", code="bad_credentials")
        if self.throttle is not None:
            await self.throttle.succeeded(username)
        operator = Operator.from_hash(username, data)
        await self.audit.record(Actor(username, operator.role, address), "login",
                                home_town(operator), username)  # fmt: skip
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

    async def logout(self, token: str | None) -> str | None:
        """End the session; returns whose it was (``None``: there was none)."""
        if not token or len(token) > 200:
            return None
        digest = session_hash(token)
        username: str | None = await self.redis.hget(keys.session(digest), "username")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.session(digest))
            if username is not None:
                pipe.srem(keys.operator_sessions(username), digest)
                await self.deliver_in(pipe, keys.operator_channel(username), revoke_message(digest))
            await pipe.execute()
        return username


def home_town(operator: Operator) -> str | None:
    """Whose audit stream an operator's own doings (logins) go to: their town's, or
    the admins' for an admin, who belongs to every town."""
    return None if operator.role == "admin" else operator.town_id


def check_role(role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}",
                         code="bad_role")  # fmt: skip


def check_password(password: str) -> None:
    if len(password) < 8:
        raise BadRequest("the password must have at least 8 characters", code="weak_password")
