"""Leases: proof in Redis that a console or kiosk is really still there.

Each connection holds a lease in its owner's ``conns`` sorted set. This hub renews
the leases of its sockets, and records when each kiosk socket last spoke (so another
hub can tell a live one from a half-open one, ``edge.one_socket``); a console silent
for ``SILENT_S`` (a closed laptop, a frozen tab) is disconnected, and a hub that dies
stops renewing, so its sockets' leases lapse and the other hubs' reaper sees who is
really gone.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from server.accounts.session_clock import SessionClock
from server.clock import now_ms
from server.edge.connections import KioskConn
from server.edge.revocation import stale_sockets
from server.edge.sockets import Sockets
from server.queue.presence import LEASE_MS, PresenceStore
from server.store import keys
from server.store.lease_scripts import BATCH, RENEW_KIOSK_LEASES, SPOKE_TTL_S

log = logging.getLogger(__name__)
RENEW_EVERY_S = 2.0
REVALIDATE_EVERY = 2  # renewals: sockets whose credentials ended close within ~4 s
SILENT_S = 9.0  # consoles ping every 3 s; three missed pings and the tab is gone


class LeaseKeeper:
    def __init__(
        self, sockets: Sockets, presence: PresenceStore, redis: aioredis.Redis,
        clock: SessionClock | None = None,
    ) -> None:  # fmt: skip
        self.clock = clock  # an open console keeps its session from going idle
        self.sockets = sockets
        self.presence = presence
        self.redis = redis
        self._task: asyncio.Task[None] | None = None
        self._renewals = 0
        self._renewed_at = 0.0  # monotonic
        self._renew_kiosks = redis.register_script(RENEW_KIOSK_LEASES)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lease-keeper")

    async def kiosk_connected(self, conn: KioskConn) -> None:
        now = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.kiosk_conns(conn.kiosk.id), {conn.id: now + LEASE_MS})
            pipe.zadd(keys.LEASES, {keys.lease("k", conn.kiosk.id, conn.id): now + LEASE_MS})
            pipe.hset(keys.kiosk_spoke(conn.kiosk.id), conn.id, now)  # opening is speaking
            pipe.expire(keys.kiosk_spoke(conn.kiosk.id), SPOKE_TTL_S)
            await pipe.execute()

    async def kiosk_disconnected(self, conn: KioskConn) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.kiosk_conns(conn.kiosk.id), conn.id)
            pipe.zrem(keys.LEASES, keys.lease("k", conn.kiosk.id, conn.id))
            pipe.hdel(keys.kiosk_spoke(conn.kiosk.id), conn.id)
            await pipe.execute()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.renew_once()
            except Exception:
                log.exception("renewing leases failed; trying again")

    async def renew_once(self) -> None:
        sockets, now = self.sockets, time.monotonic()
        consoles: dict[str, list[str]] = {}
        for conns in sockets.consoles.values():
            for conn in list(conns):
                if now - conn.last_seen > SILENT_S:
                    log.info("console %s of %s went silent; closing it", conn.id,
                             conn.operator.username)  # fmt: skip
                    sockets.spawn(conn.close(1001))
                else:
                    consoles.setdefault(conn.operator.username, []).append(conn.id)
        await self.presence.renew(consoles)
        until = now_ms() + LEASE_MS
        if consoles:
            await self.redis.zadd(keys.LEASES, {keys.lease("o", username, c): until
                                                for username, ids in consoles.items()
                                                for c in ids})  # fmt: skip
        wall, since = now_ms(), self._renewed_at  # when each socket spoke, if it did since
        self._renewed_at = now
        triples = [v for kiosk_id, conns in list(sockets.kiosks.items()) for c in conns
                   for v in (kiosk_id, c.id, wall - int((now - c.last_seen) * 1000)
                             if c.last_seen >= since else "")]  # fmt: skip
        for start in range(0, len(triples), 3 * BATCH):  # the loop breathes between batches
            await self._renew_kiosks(args=[until, *triples[start : start + 3 * BATCH]])
        self._renewals += 1
        if self._renewals % REVALIDATE_EVERY == 0:
            await self.revalidate()

    async def revalidate(self) -> None:
        """Close the sockets whose session or token has ended (a lost revoke message)."""
        consoles, kiosks = self.sockets.all_consoles(), self.sockets.all_kiosks()
        for conn in await stale_sockets(self.redis, consoles, kiosks, self.clock):
            self.sockets.revoke(conn)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
