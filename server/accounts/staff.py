"""Managing operators: list, disable, re-enable, reset a password, change a role, move
to another town. Used by the admin CLI and by supervisors and admins over the API.

Every change ends all of the operator's sessions and closes their open consoles at
once (``Accounts.end_sessions``): they log in again and get what the change allows.
"""

from __future__ import annotations

from typing import Any

from server.accounts import passwords
from server.accounts.accounts import (
    Accounts,
    Operator,
    Role,
    check_id,
    check_password,
    check_role,
)
from server.errors import BadState
from server.store import keys


class Staff:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.redis = accounts.redis

    async def list(self, town_id: str | None = None) -> list[dict[str, Any]]:
        """The operators of a town (or of every town), without any secret."""
        names = (
            await self.accounts.town_operators(town_id)
            if town_id is not None
            else sorted(await self.redis.smembers(keys.OPERATORS))
        )
        found = [await self.accounts.operator(name) for name in names]
        return [_public(op) for op in found]

    async def add(self, username: str, town_id: str, role: Role, password: str) -> Operator:
        """A new operator; never over an existing one (that is a reset, a move or a
        role change, each its own verb)."""
        check_id("operator", username)
        if await self.redis.exists(keys.operator(username)):
            raise BadState(f"operator {username!r} exists already", code="operator_exists")
        await self.accounts.add_operator(username, town_id, role, password)
        return await self.accounts.operator(username)

    async def set_disabled(self, username: str, disabled: bool) -> Operator:
        await self.accounts.operator(username)
        await self.redis.hset(keys.operator(username), "disabled", "1" if disabled else "")
        await self.accounts.end_sessions(username)
        return await self.accounts.operator(username)

    async def reset_password(self, username: str, password: str) -> Operator:
        await self.accounts.operator(username)
        check_password(password)
        digest = await passwords.hash_password(password)
        await self.redis.hset(keys.operator(username), "password_hash", digest)
        await self.accounts.end_sessions(username)
        return await self.accounts.operator(username)

    async def set_role(self, username: str, role: Role) -> Operator:
        await self.accounts.operator(username)
        check_role(role)
        await self.redis.hset(keys.operator(username), "role", role)
        await self.accounts.end_sessions(username)
        return await self.accounts.operator(username)

    async def move(self, username: str, town_id: str) -> Operator:
        """To another town: off the old town's list (no more of its rings) and onto the
        new one's."""
        old = await self.accounts.operator(username)
        await self.accounts.town(town_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.operator(username), "town", town_id)
            pipe.srem(keys.town_operators(old.town_id), username)
            pipe.sadd(keys.town_operators(town_id), username)
            await pipe.execute()
        await self.accounts.end_sessions(username)
        return await self.accounts.operator(username)


def _public(op: Operator) -> dict[str, Any]:
    return {"username": op.username, "town_id": op.town_id, "role": op.role,
            "disabled": op.disabled}  # fmt: skip
