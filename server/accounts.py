"""Towns, kiosks, operators and their sessions. Secrets are stored as argon2id hashes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server import keys
from server.clock import now_ms
from server.errors import BadRequest, NotFound, Unauthorized

Role = Literal["operator", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("operator", "supervisor", "admin")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified against when a username is unknown, so a wrong name costs as long as a
# wrong password and the response time does not tell which one was wrong.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


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


@dataclass(frozen=True)
class Operator:
    username: str
    town_id: str
    role: Role


def check_id(kind: str, value: str) -> str:
    if not ID_PATTERN.match(value):
        raise BadRequest(
            f"{kind} id must be 1-64 letters, digits, '-' or '_'; got {value!r}",
            code="invalid_id",
        )
    return value


# argon2 takes ~0.1-0.2 s of CPU and 64 MiB per check: it runs on these threads (the
# library releases the GIL), never on the event loop, and at most one per core at once.
_argon2_threads = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                     thread_name_prefix="argon2")  # fmt: skip


def _verify_now(hash_: str, secret: str) -> bool:
    try:
        return _hasher.verify(hash_, secret)
    except (VerificationError, InvalidHashError):
        return False


async def _verify(hash_: str, secret: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _argon2_threads, _verify_now, hash_, secret
    )


async def _hash(secret: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_argon2_threads, _hasher.hash, secret)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Accounts:
    def __init__(self, redis: aioredis.Redis, session_ttl_s: int = 12 * 3600) -> None:
        self.redis = redis
        self.session_ttl_s = session_ttl_s

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

    async def add_kiosk(self, kiosk_id: str, town_id: str, name: str, village: str = "") -> str:
        """Register a kiosk (or replace its token) and return its new secret token.

        The token starts with the kiosk's id ("ID.SECRET"), so the Bearer header alone
        names the kiosk; only its argon2id hash is stored.
        """
        check_id("kiosk", kiosk_id)
        await self.town(town_id)
        token = f"{kiosk_id}.{secrets.token_urlsafe(32)}"
        await self.redis.hset(
            keys.kiosk(kiosk_id),
            mapping={
                "town": town_id,
                "name": name,
                "village": village,
                "token_hash": await _hash(token),
            },
        )
        await self.redis.sadd(keys.KIOSKS, kiosk_id)
        return token

    async def kiosk(self, kiosk_id: str) -> Kiosk:
        data = await self.redis.hgetall(keys.kiosk(kiosk_id))
        if not data:
            raise NotFound(f"no kiosk {kiosk_id!r}", code="kiosk_not_found")
        return Kiosk(kiosk_id, data["town"], data["name"], data.get("village", ""))

    async def authenticate_kiosk(self, kiosk_id: str, token: str) -> Kiosk:
        data = await self.redis.hgetall(keys.kiosk(kiosk_id)) if ID_PATTERN.match(kiosk_id) else {}
        if not await _verify(data.get("token_hash", _DUMMY_HASH), token) or not data:
            raise Unauthorized("unknown kiosk or wrong token", code="bad_token")
        return Kiosk(kiosk_id, data["town"], data["name"], data.get("village", ""))

    # --- operators ---------------------------------------------------------------

    async def add_operator(self, username: str, town_id: str, role: Role, password: str) -> None:
        check_id("operator", username)
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        if len(password) < 8:
            raise BadRequest("the password must have at least 8 characters", code="weak_password")
        await self.town(town_id)
        await self.redis.hset(
            keys.operator(username),
            mapping={"town": town_id, "role": role, "password_hash": await _hash(password)},
        )
        await self.redis.sadd(keys.OPERATORS, username)
        await self.redis.sadd(keys.town_operators(town_id), username)

    async def town_operators(self, town_id: str) -> list[str]:
        return sorted(await self.redis.smembers(keys.town_operators(town_id)))

    async def operator(self, username: str) -> Operator:
        data = await self.redis.hgetall(keys.operator(username))
        if not data:
            raise NotFound(f"no operator {username!r}", code="operator_not_found")
        return Operator(username, data["town"], data["role"])  # type: ignore[arg-type]

    async def login(self, username: str, password: str) -> tuple[Operator, str]:
        """Check the password; return the operator and a new session token."""
        data = (
            await self.redis.hgetall(keys.operator(username)) if ID_PATTERN.match(username) else {}
        )
        if not await _verify(data.get("password_hash", _DUMMY_HASH), password) or not data:
            raise Unauthorized("wrong username or password", code="bad_credentials")
        token = secrets.token_urlsafe(32)
        await self.redis.hset(
            keys.session(_sha256(token)), mapping={"username": username, "created": now_ms()}
        )
        await self.redis.expire(keys.session(_sha256(token)), self.session_ttl_s)
        return Operator(username, data["town"], data["role"]), token  # type: ignore[arg-type]

    async def session_operator(self, token: str | None) -> Operator:
        if not token or len(token) > 200:
            raise Unauthorized("not logged in", code="not_logged_in")
        username = await self.redis.hget(keys.session(_sha256(token)), "username")
        if username is None:
            raise Unauthorized("the session has expired; log in again", code="not_logged_in")
        try:
            return await self.operator(username)
        except NotFound:
            raise Unauthorized("the operator no longer exists", code="not_logged_in") from None

    async def logout(self, token: str | None) -> None:
        if token and len(token) <= 200:
            await self.redis.delete(keys.session(_sha256(token)))
