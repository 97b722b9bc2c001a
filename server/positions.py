"""Telling waiting kiosks their place in the queue, and how long it may take.

Each hub follows the towns of its kiosks: when a town's queue changes (a nudge on
its channel, from any hub), it re-reads the places of its own queued kiosks and
tells those whose place improved — never a worse one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from server import keys
from server.calls import CallRecord
from yijian import protocol as p

if TYPE_CHECKING:
    from server.signalling import SignallingHub

log = logging.getLogger(__name__)


class Positions:
    def __init__(self, hub: SignallingHub) -> None:
        self.hub = hub
        self._town_handlers: dict[str, Any] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._refresh_again: set[str] = set()

    async def close(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def estimate(self, call: CallRecord, position: int) -> int | None:
        """Seconds to wait: position x the recent interval between answers in the town."""
        answers = [
            int(a) for a in await self.hub.calls.redis.lrange(keys.town_answers(call.town_id), 0, 9)
        ]
        if len(answers) < 2:
            return None
        interval = (answers[0] - answers[-1]) / (len(answers) - 1) / 1000
        settings = await self.hub.towns.settings(call.town_id)
        return int(min(interval * position, settings.max_wait_s))

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
        await self.hub.bus.subscribe(keys.town_channel(town_id), handle)

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
        for kiosk_id, conns in list(self.hub.kiosks.items()):
            waiting = [c for c in conns if c.position is not None and c.kiosk.town_id == town_id]
            if not waiting:
                continue
            call = await self.hub.calls.live_call_of_kiosk(kiosk_id)
            position = (
                await self.hub.calls.position(call) if call and call.status == "queued" else None
            )
            for conn in waiting:
                if call is not None and position is not None and position < (conn.position or 0):
                    conn.position = position
                    wait = await self.estimate(call, position)
                    conn.send(
                        p.QueuePosition(call_id=call.id, position=position, estimated_wait_s=wait)
                    )
