"""One kiosk token, one socket: a second connection with the same token while the
first is alive is refused, and raises an alert.

The hard case is a kiosk whose old connection is half-open: its link died without a
goodbye, the kiosk noticed (its pings went unanswered, within ~9 s) and dials again,
while a hub still holds the old socket and renews its lease. Refusing on the lease
alone would lock that kiosk out until the dead socket times out. So a socket counts
as alive only if it spoke (opened, or sent any message) within ``LIVE_S``:

- another socket of the kiosk, alive by that rule: the new one is refused, 409
  ``kiosk_already_connected``, and an alert is recorded (a log line and the town's
  security alert stream). On this hub the hub knows when each of its sockets spoke;
  for a socket on another hub, that hub records it (``keys.kiosk_spoke``, at the
  opening and then every ``RENEW_EVERY_S``), so there the window is ``LIVE_S`` plus
  one round, and the other hub must still be running (``keys.hub_alive``, which
  lapses a few seconds after a hub is killed);
- sockets of the kiosk silent longer: presumed dead (half-open), closed with
  ``CLOSE_REPLACED`` (another hub's by a ``replaced`` message on the kiosk's
  channel), and the new one is let in. So does a socket on a hub that died: the
  kiosk that dials another hub is let in once that hub's mark lapses, within
  ``HUB_ALIVE_MS`` of its death (a kiosk retries a 409 with its backoff).

A clone that copies a token thus meets a refusal whenever the real kiosk has just
connected or spoken, and every round of the two taking turns raises an alert:
someone looks, and rotates the token (``POST /api/kiosks/ID/rotate``).
"""

from __future__ import annotations

import json
import logging
import time

import redis.asyncio as aioredis

from server.accounts.kiosks import Kiosk
from server.clock import now_ms
from server.edge.connections import CLOSE_REPLACED
from server.edge.leases import HUB_ALIVE_MS, RENEW_EVERY_S
from server.edge.sockets import Sockets
from server.errors import BadState
from server.store import keys
from server.store.bus import Bus

log = logging.getLogger(__name__)
__all__ = ["CLOSE_REPLACED", "HUB_ALIVE_MS", "LIVE_S", "KioskConnected", "OneSocket"]
LIVE_S = 5.0  # a socket that spoke this recently is alive; longer silent, maybe half-open
ALERTS_KEPT = 1000  # per town, the newest
# Another hub's socket spoke this recently: its hub records it at the next renewal.
REMOTE_LIVE_MS = int((LIVE_S + RENEW_EVERY_S) * 1000)


class KioskConnected(BadState):
    code = "kiosk_already_connected"


class OneSocket:
    def __init__(self, sockets: Sockets, redis: aioredis.Redis, bus: Bus) -> None:
        self.sockets = sockets
        self.redis = redis
        self.bus = bus

    async def admit(self, kiosk: Kiosk, address: str) -> None:
        """Before the handshake is accepted: refuse a second live socket (raises
        ``KioskConnected``), close the silent ones, here or on another hub."""
        now, mono = now_ms(), time.monotonic()
        here = [c for c in self.sockets.kiosks.get(kiosk.id, ()) if not c.closed]
        # last_seen starts at the socket's opening and moves with every message
        if any(mono - c.last_seen < LIVE_S for c in here):
            await self._refuse(kiosk, address)
        mine = {c.id for c in here}
        elsewhere = sorted(set(await self.redis.zrangebyscore(
            keys.kiosk_conns(kiosk.id), now, "+inf")) - mine)  # fmt: skip
        if elsewhere and await self._alive_elsewhere(kiosk, elsewhere, now):
            await self._refuse(kiosk, address)
        for conn in here:
            log.info("kiosk %s connects again; closing its silent socket %s (half-open)",
                     kiosk.id, conn.id)  # fmt: skip
            self.sockets.spawn(conn.close(CLOSE_REPLACED))
        for conn_id in elsewhere:
            log.info("kiosk %s connects again; its silent socket %s on another hub is "
                     "closed there (half-open)", kiosk.id, conn_id)  # fmt: skip
            await self.bus.publish(keys.kiosk_channel(kiosk.id),
                                   {"kind": "replaced", "conn": conn_id})  # fmt: skip

    async def _alive_elsewhere(self, kiosk: Kiosk, conn_ids: list[str], now: int) -> bool:
        """Whether one of these sockets, on other hubs, spoke within REMOTE_LIVE_MS on
        a hub that still runs (a hub just killed holds no one out)."""
        recent = []
        for record in await self.redis.hmget(keys.kiosk_spoke(kiosk.id), conn_ids):
            at, _, hub = (record or "").partition(" ")
            if at and hub and now - int(at) < REMOTE_LIVE_MS:
                recent.append(hub)
        return bool(recent) and bool(await self.redis.exists(*map(keys.hub_alive, recent)))

    async def _refuse(self, kiosk: Kiosk, address: str) -> None:
        await self.alert(kiosk, address, "kiosk_already_connected",
                         "a second connection refused; the first is alive")  # fmt: skip
        raise KioskConnected(
            f"kiosk {kiosk.id} is connected already (its socket spoke within {LIVE_S:g} s); "
            "one token, one kiosk: if this is the kiosk, try again shortly",
        )

    async def alert(self, kiosk: Kiosk, address: str, kind: str, detail: str) -> None:
        """A log line and an entry in the town's security alerts (no token in either)."""
        log.warning("security alert %s: kiosk %s (town %s) from %s: %s",
                    kind, kiosk.id, kiosk.town_id, address or "?", detail)  # fmt: skip
        entry = {"kind": kind, "kiosk_id": kiosk.id, "address": address, "detail": detail}
        await self.redis.xadd(keys.security_alerts(kiosk.town_id),
                              {"at": now_ms(), "alert": json.dumps(entry, ensure_ascii=False)},
                              maxlen=ALERTS_KEPT, approximate=True)  # fmt: skip
