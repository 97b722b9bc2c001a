"""The queue's clock: runs the deadlines in ``server.queue.timers``, and the reaper.

Every hub runs one. It knows only the timers and a table of handlers, one per kind of
timer (``kind|arg|arg...`` calls ``handlers[kind](*args)``); each due timer is
handled by exactly one hub (``Timers.claim_due``). Every few seconds it also runs
``reap`` (``server.queue.reaper``), which repairs what no deadline covers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from server.errors import NotFound
from server.queue.timers import Timers
from server.store.redis_conn import REDIS_UNAVAILABLE

log = logging.getLogger(__name__)
REAP_EVERY_S = 2.0
Handler = Callable[..., Awaitable[None]]


class Sweeper:
    def __init__(
        self, timers: Timers, handlers: Mapping[str, Handler],
        reap: Callable[[], Awaitable[None]], interval_s: float,
    ) -> None:  # fmt: skip
        self.timers = timers
        self.handlers = handlers
        self.reap = reap
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-sweeper")

    async def _run(self) -> None:
        last_reap = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.sweep_once()
                if loop.time() - last_reap >= REAP_EVERY_S:
                    last_reap = loop.time()
                    await self.reap()
            except Exception:
                log.exception("queue sweep failed; trying again")
            await asyncio.sleep(self.interval_s)

    async def sweep_once(self) -> int:
        handled = 0
        for timer in await self.timers.claim_due():
            kind, *args = timer.parts
            handler = self.handlers.get(kind)
            try:
                if handler is None:
                    log.error("no handler for timer %s", timer.name)
                else:
                    await handler(*args)
                    handled += 1
            except NotFound:
                pass
            except REDIS_UNAVAILABLE as exc:  # left claimed: it runs again after the lease
                log.warning("timer %s: Redis unavailable (%s); retried later", timer.name, exc)
                continue
            except Exception:
                log.exception("timer %s failed", timer.name)
            await self.timers.done(timer)
        return handled

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
