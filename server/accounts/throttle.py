"""Login throttling, per account and per address, checked before any password hash.

Failed logins are counted in Redis (so every hub sees them) in a fixed window that
starts at the first failure. Past the limit a login is answered 429 with
``Retry-After`` until the window ends, whether or not the account exists and whether
or not the password would have been right: the answer tells an attacker nothing,
and costs the hub one Redis round trip instead of an argon2 check.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from server.errors import TooManyRequests
from server.store import keys

# KEYS: counters; ARGV: window_s. Each counter's window starts at its first failure.
COUNT_FAILURE = """
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
"""


class LoginThrottle:
    def __init__(
        self, redis: aioredis.Redis, *, per_account: int, per_address: int, window_s: int
    ) -> None:
        self.redis = redis
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self._count = redis.register_script(COUNT_FAILURE)

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return keys.login_failures("user", username), keys.login_failures("addr", address)

    async def check(self, username: str, address: str) -> None:
        user_key, addr_key = self._keys(username, address)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(user_key).pttl(user_key).get(addr_key).pttl(addr_key)
            user_n, user_ttl, addr_n, addr_ttl = await pipe.execute()
        waits = []
        if int(user_n or 0) >= self.per_account:
            waits.append(user_ttl)
        if int(addr_n or 0) >= self.per_address:
            waits.append(addr_ttl)
        if waits:
            seconds = -(-max(max(waits), 1000) // 1000)
            raise TooManyRequests(
                f"too many failed logins; try again in {seconds} s",
                retry_after_s=seconds, code="too_many_logins",
            )  # fmt: skip

    async def failed(self, username: str, address: str) -> None:
        await self._count(keys=self._keys(username, address), args=[self.window_s])

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(keys.login_failures("user", username))
