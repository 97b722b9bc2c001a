"""Telling waiting kiosks their place in the queue, and how long it may take.

Each hub follows the towns of its kiosks: when a town's queue changes (a nudge on
its channel, from any hub), it re-reads the places of its own queued kiosks and
tells those whose place improved — never a worse one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.edge.sockets import Sockets
from server.queue.lifecycle import CallQueue
from server.store import keys
from server.store.bus import Bus
from yijian import protocol as p

log = logging.getLogger(__name__)


class Positions:
    def __init__(self, queue: CallQueue, sockets: Sockets, bus: Bus) -> None:
        self.queue = queue
        self.sockets = sockets
        self.bus = bus
        self._town_handlers: dict[str, Any] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._refresh_again: set[str] = set()

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
            try:
                await self._refresh_positions(town_id)
            except Exception:
                log.exception("refreshing positions in %s failed", town_id)
            if town_id not in self._refresh_again:
                return

    async def _refresh_positions(self, town_id: str) -> None:
        """Tell this hub's queued kiosks of the town their place, when it improved."""
        calls = self.queue.calls
        for kiosk_id, conns in list(self.sockets.kiosks.items()):
            waiting = [c for c in conns if c.position is not None and c.kiosk.town_id == town_id]
            if not waiting:
                continue
            call = await calls.live_call_of_kiosk(kiosk_id)
            position = await calls.position(call) if call and call.status == "queued" else None
            for conn in waiting:
                if call is not None and position is not None and position < (conn.position or 0):
                    conn.position = position
                    wait = await self.queue.estimate(call, position)
                    conn.send(
                        p.QueuePosition(call_id=call.id, position=position, estimated_wait_s=wait)
                    )
