"""Which of a hub's sockets were opened under credentials that have since ended.

A change to an operator or kiosk (``server.accounts.accounts``) is delivered on the bus
in the same step, so every hub closes the affected sockets at once (a lost publication
is repaired from the channel's stream, ``server.store.bus``; a kiosk revoked while its
socket was opening is caught as it starts listening, ``edge.kiosks``). This check
covers what no message tells: every few seconds a hub reads the current epoch of every
operator it holds a console for and whether that console's session still lives (its
idle limit; one pipeline), and of a slice of its kiosks (``BATCH`` a round, one script,
``STALE_KIOSKS``) whether one was changed by hand. An open
console is a use of its session: its idle limit starts again (``SessionClock``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from server.accounts.session_clock import SessionClock
from server.edge.connections import KioskConn, OperatorConn
from server.store import keys
from server.store.lease_scripts import BATCH, STALE_KIOSKS


def kiosk_check(redis: aioredis.Redis) -> AsyncScript:
    """The kiosks' part of the check (``STALE_KIOSKS``), registered once by its caller."""
    return redis.register_script(STALE_KIOSKS)


async def stale_sockets(
    redis: aioredis.Redis,
    consoles: Iterable[OperatorConn],
    kiosks: Iterable[KioskConn],
    check_kiosks: AsyncScript,
    clock: SessionClock | None = None,
) -> list[OperatorConn | KioskConn]:
    consoles, kiosks = list(consoles), list(kiosks)
    if not consoles and not kiosks:
        return []
    found: list[Any] = []
    if consoles:
        async with redis.pipeline(transaction=False) as pipe:
            for console in consoles:
                pipe.hmget(keys.operator(console.operator.username), ["epoch", "disabled"])
                pipe.hget(keys.session(console.session), "created")
            found = await pipe.execute()
    stale: list[OperatorConn | KioskConn] = []
    renew: dict[str, int] = {}
    for i, console in enumerate(consoles):
        (epoch, disabled), created = found[2 * i], found[2 * i + 1]
        ttl_s = clock.ttl_s(created) if clock is not None else (1 if created else 0)
        if ttl_s <= 0 or disabled == "1" or int(epoch or 0) != console.operator.epoch:
            stale.append(console)
        elif clock is not None:
            renew[console.session] = ttl_s
    if renew:
        async with redis.pipeline(transaction=False) as pipe:
            for session, ttl_s in renew.items():
                pipe.expire(keys.session(session), ttl_s)
            await pipe.execute()
    for start in range(0, len(kiosks), BATCH):
        batch = kiosks[start : start + BATCH]
        lines = "\n".join(f"{k.kiosk.id} {k.kiosk.epoch}" for k in batch)
        stale += [batch[n - 1] for n in await check_kiosks(keys=[], args=[lines])]
    return stale
