"""Telling waiting kiosks their place in the queue, and how long it may take.

Each hub follows the towns of its kiosks: when a town's queue changes (a nudge on
its channel, from any hub), it re-reads the places of its own queued kiosks and
tells those whose place improved — never a worse one. A lone change is told at
once; a burst (a busy morning, eight operators answering) at most every
``PLACES_EVERY_S``, so a thousand waiting kiosks cost the hub a thousand messages
once a second, not a thousand per answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from server.accounts.towns import TownSettings
from server.edge.sockets import Sockets
from server.queue.lifecycle import CallQueue
from server.queue.outcomes import wait_estimate
from server.store import keys, scripts
from server.store.bus import Bus
from yijian import protocol as p

log = logging.getLogger(__name__)
DEFAULT_MAX_WAIT_S = TownSettings.model_fields["max_wait_s"].default
PLACES_EVERY_S = 1.0
SEND_BATCH = 100  # places told before the loop takes a breath


class Positions:
    def __init__(self, queue: CallQueue, sockets: Sockets, bus: Bus) -> None:
        self.queue = queue
        self.sockets = sockets
        self.bus = bus
        self._town_handlers: dict[str, Any] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._refresh_again: set[str] = set()
        self._places = queue.redis.register_script(scripts.PLACES)

    async def close(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def watch_town(self, town_id: str) -> None:
        """Follow a town's queue for this hub's kiosks' positions (towns are few)."""
        if town_id in self._town_handlers:
            return

        async def handle(_message: dict[str, Any]) -> None:
            if town_id in self._refreshing and not self._refreshing[town_id].done():
                self._refresh_again.add(town_id)  # coalesce bursts into one more pass
            else:
                self._refreshing[town_id] = asyncio.create_task(self._refresh(town_id))

        self._town_handlers[town_id] = handle
        await self.bus.subscribe(keys.town_channel(town_id), handle)

    async def _refresh(self, town_id: str) -> None:
        while True:
            self._refresh_again.discard(town_id)
            started = time.monotonic()
            try:
                await self._refresh_positions(town_id)
            except Exception:
                log.exception("refreshing positions in %s failed", town_id)
            if town_id not in self._refresh_again:
                return
            await asyncio.sleep(max(0.0, started + PLACES_EVERY_S - time.monotonic()))

    async def _refresh_positions(self, town_id: str) -> None:
        """Tell this hub's queued kiosks of the town their place, when it improved: one
        script reads every place at once (``scripts.PLACES``)."""
        waiting = [c for c in self.sockets.waiting.get(town_id, ()) if not c.closed]
        if not waiting:
            return
        kiosk_ids = sorted({c.kiosk.id for c in waiting})
        answers, max_wait, call_ids, places = await self._places(
            keys=[keys.town_queue(town_id), keys.town_answers(town_id), keys.town(town_id)],
            args=[DEFAULT_MAX_WAIT_S, *kiosk_ids],
        )
        found = dict(zip(kiosk_ids, zip(call_ids, places, strict=True), strict=True))
        recent = [int(a) for a in answers]
        for told, conn in enumerate(waiting, 1):
            call_id, place = found[conn.kiosk.id]
            if call_id and 0 < place < (conn.position or 0):
                self.sockets.place(conn, place)
                wait = wait_estimate(recent, place, float(max_wait))
                conn.send(p.QueuePosition(call_id=call_id, position=place, estimated_wait_s=wait))
            if told % SEND_BATCH == 0:
                await asyncio.sleep(0)  # let a call's own steps in between
