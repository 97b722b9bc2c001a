"""The sweep: ends calls whose side stayed away past its grace period.

A kiosk that drops while queued keeps its place for ``grace_s``; an operator who
drops during a call has ``grace_s`` to come back. The deadlines are in Redis
(``keys.GRACE``), so whichever hub sweeps first acts, and one that restarts carries on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server import keys
from server.clock import now_ms
from server.errors import NotFound
from server.settings import HubSettings

if TYPE_CHECKING:
    from server.signalling import SignallingHub

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, hub: SignallingHub, settings: HubSettings) -> None:
        self.hub = hub
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A hub that was down gave nobody a chance to come back: restart the clocks.
        redis = self.hub.calls.redis
        fresh = now_ms() + int(self.settings.grace_s * 1000)
        members = await redis.zrangebyscore(keys.GRACE, "-inf", fresh)
        if members:
            await redis.zadd(keys.GRACE, dict.fromkeys(members, fresh), xx=True)
        self._task = asyncio.create_task(self._run(), name="grace-sweeper")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("grace sweep failed; trying again")
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def sweep_once(self) -> int:
        ended = 0
        for call_id, side in await self.hub.calls.grace_expired(now_ms()):
            await self.hub.calls.grace_cancel(call_id, side)
            try:
                call = await self.hub.calls.get(call_id)
            except NotFound:
                continue
            if side == "kiosk":
                result = await self.hub.end_call(
                    call, reason="kiosk_disconnected", by="hub", if_connected=""
                )
            else:
                result = await self.hub.end_call(
                    call, reason="operator_disconnected", by="hub", if_queued="",
                    if_connected="failed",
                )  # fmt: skip
            ended += result is not None
        return ended

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
