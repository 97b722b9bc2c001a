"""One kiosk token, one socket: a second connection with the same token while the
first is alive is refused, and raises an alert.

The hard case is a kiosk whose old connection is half-open: its link died without a
goodbye, the kiosk noticed (its pings went unanswered, within ~9 s) and dials again,
while this hub still holds the old socket and renews its lease. Refusing on the lease
alone would lock that kiosk out until the dead socket times out. So a socket counts
as alive only if it spoke (opened, or sent any message) within ``LIVE_S``:

- another socket of the kiosk on this hub, alive by that rule: the new one is
  refused, 409 ``kiosk_already_connected``, and an alert is recorded (a log line and
  the town's security alert stream);
- sockets of the kiosk on this hub silent longer: presumed dead (half-open), closed
  with ``CLOSE_REPLACED``, and the new one is let in;
- a socket on another hub whose lease that hub still renews: this hub cannot see
  whether it spoke, and refusing would lock out every kiosk of a hub that just died
  (its leases live on for seconds); the new one is let in beside it, with an alert
  ``kiosk_connected_twice``. The old one is closed by its hub's WebSocket pings if dead.

A clone that copies a token thus meets a refusal whenever the real kiosk has just
connected or spoken on the same hub, and every round of the two taking turns raises
an alert: someone looks, and rotates the token (``POST /api/kiosks/ID/rotate``).
"""

from __future__ import annotations

import json
import logging
import time

import redis.asyncio as aioredis

from server.accounts.kiosks import Kiosk
from server.clock import now_ms
from server.edge.leases import RENEW_EVERY_S
from server.edge.sockets import Sockets
from server.errors import BadState
from server.queue.presence import LEASE_MS
from server.store import keys

log = logging.getLogger(__name__)
LIVE_S = 5.0  # a socket that spoke this recently is alive; longer silent, maybe half-open
CLOSE_REPLACED = 4009  # closed for a newer connection of the same kiosk
ALERTS_KEPT = 1000  # per town, the newest
# A lease renewed this recently has a live hub behind it (renewals come every 2 s).
FRESH_LEASE_MS = LEASE_MS - int(2 * RENEW_EVERY_S * 1000) - 1000


class KioskConnected(BadState):
    code = "kiosk_already_connected"


class OneSocket:
    def __init__(self, sockets: Sockets, redis: aioredis.Redis) -> None:
        self.sockets = sockets
        self.redis = redis

    async def admit(self, kiosk: Kiosk, address: str) -> None:
        """Before the handshake is accepted: refuse a second live socket (raises
        ``KioskConnected``), close this hub's silent ones."""
        now, mono = now_ms(), time.monotonic()
        here = [c for c in self.sockets.kiosks.get(kiosk.id, ()) if not c.closed]
        # last_seen starts at the socket's opening and moves with every message
        if any(mono - c.last_seen < LIVE_S for c in here):
            await self._refuse(kiosk, address)
        mine = {c.id for c in here}
        renewed = now + FRESH_LEASE_MS
        elsewhere = set(await self.redis.zrangebyscore(keys.kiosk_conns(kiosk.id), renewed,
                                                       "+inf")) - mine  # fmt: skip
        for conn in here:
            log.info("kiosk %s connects again; closing its silent socket %s (half-open)",
                     kiosk.id, conn.id)  # fmt: skip
            self.sockets.spawn(conn.close(CLOSE_REPLACED))
        if elsewhere:
            await self.alert(kiosk, address, "kiosk_connected_twice",
                             "let in beside a socket another hub still holds")  # fmt: skip

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
