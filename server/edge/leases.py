"""Leases: proof in Redis that a console or kiosk is really still there.

Each connection holds a lease in its owner's ``conns`` sorted set. This hub renews
the leases of its sockets: its consoles' every ``RENEW_EVERY_S``, its kiosks' once
they are ``KIOSK_RENEW_AFTER_S`` old (so ten thousand kiosks are spread over the
rounds, a third or so each time, and never all renewed at once); a console silent for
``SILENT_S`` (a closed laptop, a frozen tab) is disconnected, and a hub that dies
stops renewing, so its sockets' leases lapse and the other hubs' reaper sees who is
really gone.

Each round also records when each kiosk socket last spoke, if it did since the last
round, and renews the hub's own ``keys.hub_alive``: so another hub can tell a live
socket of a kiosk from a half-open one, or one on a hub that died (``edge.one_socket``).
"""

from __future__ import annotations

import asyncio
import logging
import math
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
from server.store.lease_scripts import BATCH, RENEW_KIOSK_LEASES, SPOKE_TTL_S

log = logging.getLogger(__name__)
RENEW_EVERY_S = 2.0
KIOSK_RENEW_AFTER_S = 4.0  # so each kiosk lease is renewed every 4-6 s, within LEASE_MS
HUB_ALIVE_MS = 5_000  # the hub's own mark outlives two missed rounds
# Kiosks' credentials are re-checked a slice per revalidation, every one within this
# many (a revoke is a bus message, closed at once; this repairs its loss, ~20 s).
KIOSK_CHECK_ROUNDS = 5
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
        self.hub_id = secrets.token_hex(6)  # for this process's life
        self._due: deque[KioskConn] = deque()  # kiosk sockets, longest since renewed first
        self._spoke: set[KioskConn] = set()  # kiosk sockets that spoke since the last round
        self._to_check: deque[KioskConn] = deque()  # this cycle's revalidation, left
        self._cycle = 0  # kiosk sockets in this cycle
        self._renew_kiosks = redis.register_script(RENEW_KIOSK_LEASES)
        self._check_kiosks = kiosk_check(redis)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lease-keeper")

    def spoke(self, conn: KioskConn) -> None:
        """A kiosk socket spoke: its hub records when, next round (edge.one_socket)."""
        self._spoke.add(conn)

    async def kiosk_connected(self, conn: KioskConn) -> None:
        now = now_ms()
        conn.leased_at = time.monotonic()
        self._due.append(conn)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.hub_alive(self.hub_id), 1, px=HUB_ALIVE_MS)
            pipe.zadd(keys.kiosk_conns(conn.kiosk.id), {conn.id: now + LEASE_MS})
            pipe.zadd(keys.LEASES, {keys.lease("k", conn.kiosk.id, conn.id): now + LEASE_MS})
            # opening is speaking
            pipe.hset(keys.kiosk_spoke(conn.kiosk.id), conn.id, f"{now} {self.hub_id}")
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
        await self.redis.set(keys.hub_alive(self.hub_id), 1, px=HUB_ALIVE_MS)
        await self.presence.renew(consoles)
        until = now_ms() + LEASE_MS
        if consoles:
            await self.redis.zadd(keys.LEASES, {keys.lease("o", username, c): until
                                                for username, ids in consoles.items()
                                                for c in ids})  # fmt: skip
        await self._renew_kiosk_leases(until, now)
        self._renewals += 1
        if self._renewals % REVALIDATE_EVERY == 0:
            await self.revalidate()

    async def _renew_kiosk_leases(self, until: int, now: float) -> None:
        """The kiosk sockets whose lease is due (``KIOSK_RENEW_AFTER_S`` old) and those
        that spoke since the last round, a script per ``BATCH`` of them (the loop
        breathes between them): the work is in proportion to those, not to all."""
        wall, spoke = now_ms(), self._spoke
        self._spoke = set()

        def line(c: KioskConn, renew: int) -> str:
            at = wall - int((now - c.last_seen) * 1000) if c in spoke else "-"
            return f"{c.kiosk.id} {c.id} {at} {renew}"

        def due() -> bool:
            return bool(self._due) and now - self._due[0].leased_at >= KIOSK_RENEW_AFTER_S

        while due():
            lines: list[str] = []
            while len(lines) < BATCH and due():
                c = self._due.popleft()
                if self._held(c):  # else it left: its lease went with it
                    c.leased_at = now
                    self._due.append(c)
                    lines.append(line(c, 1))
                    spoke.discard(c)
            if lines:
                await self._renew_kiosks(args=[until, self.hub_id, "\n".join(lines)])
        rest = [c for c in spoke if self._held(c)]
        for start in range(0, len(rest), BATCH):
            lines = [line(c, 0) for c in rest[start : start + BATCH]]
            await self._renew_kiosks(args=[until, self.hub_id, "\n".join(lines)])

    def _held(self, conn: KioskConn) -> bool:
        return not conn.closed and conn in self.sockets.kiosks.get(conn.kiosk.id, ())

    async def revalidate(self) -> None:
        """Close the sockets whose session or token has ended (a lost revoke message):
        every console each time, the kiosks a slice at a time (``KIOSK_CHECK_ROUNDS``)."""
        if not self._to_check:
            self._to_check.extend(self.sockets.all_kiosks())
            self._cycle = len(self._to_check)
        share = max(BATCH, math.ceil(self._cycle / KIOSK_CHECK_ROUNDS))
        kiosks = [self._to_check.popleft() for _ in range(min(share, len(self._to_check)))]
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
