"""Leases: proof in Redis that a console or kiosk is really still there.

Every ``RENEW_EVERY_S`` this hub renews its consoles' leases (each in its operator's
``conns`` set) and its own, which covers every kiosk socket it holds (each listed in
``keys.hub_kiosks``, and in its kiosk's ``conns`` set as held): ten thousand kiosks
cost one command, not ten thousand. A console silent for ``SILENT_S`` (a closed
laptop, a frozen tab) is disconnected; a kiosk's socket gone silently is closed by
its WebSocket ping. A hub that dies stops renewing, so its leases lapse and the other
hubs' reaper removes its sockets and sees who is really gone. A hub that finds its
own lease lapsed (its loop stalled past it) leaves it to the reaper and then
registers all its sockets again.

Each round also records when each kiosk socket last spoke, if it did since the last
round, and renews the hub's own ``keys.hub_alive``: so another hub can tell a live
socket of a kiosk from a half-open one, or one on a hub that died (``edge.one_socket``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque

import redis.asyncio as aioredis

from server.accounts.session_clock import SessionClock
from server.clock import now_ms
from server.edge.connections import KioskConn
from server.edge.revocation import kiosk_check, stale_sockets
from server.edge.sockets import Sockets
from server.queue.presence import LEASE_MS, PresenceStore
from server.store import keys
from server.store.lease_scripts import BATCH, HELD, RECORD_SPOKE, RENEW_HUB, SPOKE_TTL_S

log = logging.getLogger(__name__)
RENEW_EVERY_S = 2.0
HUB_ALIVE_MS = 5_000  # the hub's own mark outlives two missed rounds
REVALIDATE_EVERY = 2  # renewals: sockets whose credentials ended close within ~4 s
SILENT_S = 9.0  # consoles ping every 3 s; three missed pings and the tab is gone
SILENCE_CHECK_S = 0.5  # how often silent consoles are looked for (in memory)


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
        self.hub_id = secrets.token_hex(6)  # for this process's life
        self._spoke: set[KioskConn] = set()  # kiosk sockets that spoke since the last round
        self._to_check: deque[KioskConn] = deque()  # this cycle's revalidation, left
        self._renew_hub = redis.register_script(RENEW_HUB)
        self._record_spoke = redis.register_script(RECORD_SPOKE)
        self._check_kiosks = kiosk_check(redis)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lease-keeper")

    def spoke(self, conn: KioskConn) -> None:
        """A kiosk socket spoke: its hub records when, next round (edge.one_socket)."""
        self._spoke.add(conn)

    async def kiosk_connected(self, conn: KioskConn) -> None:
        now = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.hub_alive(self.hub_id), 1, px=HUB_ALIVE_MS)
            # the hub's lease, if it has none yet (one lapsed is the reaper's)
            pipe.zadd(keys.LEASES, {keys.lease("h", self.hub_id): now + LEASE_MS}, nx=True)
            pipe.sadd(keys.hub_kiosks(self.hub_id), f"{conn.kiosk.id} {conn.id}")
            pipe.zadd(keys.kiosk_conns(conn.kiosk.id), {conn.id: HELD})
            # opening is speaking
            pipe.hset(keys.kiosk_spoke(conn.kiosk.id), conn.id, f"{now} {self.hub_id}")
            pipe.expire(keys.kiosk_spoke(conn.kiosk.id), SPOKE_TTL_S)
            await pipe.execute()

    async def kiosk_disconnected(self, conn: KioskConn) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.kiosk_conns(conn.kiosk.id), conn.id)
            pipe.srem(keys.hub_kiosks(self.hub_id), f"{conn.kiosk.id} {conn.id}")
            pipe.hdel(keys.kiosk_spoke(conn.kiosk.id), conn.id)
            await pipe.execute()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SILENCE_CHECK_S)
            try:
                self.close_silent()
                if time.monotonic() - self._renewed_at >= RENEW_EVERY_S:
                    self._renewed_at = time.monotonic()
                    await self.renew_once()
            except Exception:
                log.exception("renewing leases failed; trying again")

    def close_silent(self) -> None:
        """Close the consoles silent for ``SILENT_S``: looked for in memory every
        ``SILENCE_CHECK_S``, so such a console is offline within ten seconds."""
        now = time.monotonic()
        for conns in self.sockets.consoles.values():
            for conn in list(conns):
                if not conn.closed and now - conn.last_seen > SILENT_S:
                    log.info("console %s of %s went silent; closing it", conn.id,
                             conn.operator.username)  # fmt: skip
                    self.sockets.spawn(conn.close(1001))

    async def renew_once(self) -> None:
        now = time.monotonic()
        consoles: dict[str, list[str]] = {}
        for conns in self.sockets.consoles.values():
            for conn in conns:
                if not conn.closed and now - conn.last_seen <= SILENT_S:
                    consoles.setdefault(conn.operator.username, []).append(conn.id)
        await self.presence.renew(consoles)
        until = now_ms() + LEASE_MS
        if consoles:
            await self.redis.zadd(keys.LEASES, {keys.lease("o", username, c): until
                                                for username, ids in consoles.items()
                                                for c in ids})  # fmt: skip
        renewed = await self._renew_hub(args=[self.hub_id, now_ms(), until, HUB_ALIVE_MS])
        if renewed == "gone":
            await self._register(until)
        await self._record_spoken()
        self._renewals += 1
        if self._renewals % REVALIDATE_EVERY == 0:
            await self.revalidate()

    async def _register(self, until: int) -> None:
        """The hub's lease anew, with every kiosk socket it holds (at its start, or
        after a reaper took its lapsed lease and sockets)."""
        held = [c for c in self.sockets.all_kiosks() if self._held(c)]
        if held:
            log.warning("this hub's lease had lapsed; registering its %d kiosk sockets again",
                        len(held))  # fmt: skip
        for start in range(0, len(held), BATCH):
            batch = held[start : start + BATCH]
            async with self.redis.pipeline(transaction=False) as pipe:
                for c in batch:
                    pipe.zadd(keys.kiosk_conns(c.kiosk.id), {c.id: HELD})
                pipe.sadd(keys.hub_kiosks(self.hub_id), *(f"{c.kiosk.id} {c.id}" for c in batch))
                await pipe.execute()
        await self.redis.zadd(keys.LEASES, {keys.lease("h", self.hub_id): until})

    async def _record_spoken(self) -> None:
        """When each kiosk socket that spoke since the last round last spoke, a script
        per ``BATCH`` of them: in proportion to those, not to all."""
        wall, now, spoke = now_ms(), time.monotonic(), self._spoke
        self._spoke = set()
        lines = [f"{c.kiosk.id} {c.id} {wall - int((now - c.last_seen) * 1000)}"
                 for c in spoke if self._held(c)]  # fmt: skip
        for start in range(0, len(lines), BATCH):
            await self._record_spoke(args=[self.hub_id, "\n".join(lines[start : start + BATCH])])

    def _held(self, conn: KioskConn) -> bool:
        return not conn.closed and conn in self.sockets.kiosks.get(conn.kiosk.id, ())

    async def revalidate(self) -> None:
        """Close the sockets whose session or token has ended: every console each time
        (a session also ends by its idle limit, which no message tells), the kiosks
        ``BATCH`` at a time (a revoke reaches them on the bus, repaired if lost; this
        catches credentials changed by hand in Redis)."""
        if not self._to_check:
            self._to_check.extend(self.sockets.all_kiosks())
        kiosks = [self._to_check.popleft() for _ in range(min(BATCH, len(self._to_check)))]
        consoles = self.sockets.all_consoles()
        for conn in await stale_sockets(self.redis, consoles,
                                        [k for k in kiosks if self._held(k)],
                                        self._check_kiosks, self.clock):  # fmt: skip
            self.sockets.revoke(conn)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            try:  # this hub's sockets are closing: none of them holds a kiosk out now
                await self.redis.delete(keys.hub_alive(self.hub_id))
            except Exception as exc:
                log.warning("could not clear this hub's alive mark: %s", exc)
