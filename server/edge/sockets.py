"""This hub's sockets: the kiosks and consoles connected to this process, and the
work that must not hold up a socket's reader. The only state a hub keeps in memory;
everything about calls is in Redis."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any

from server.edge.connections import CLOSE_REVOKED, KioskConn, OperatorConn
from yijian import protocol as p

log = logging.getLogger(__name__)


class Sockets:
    def __init__(self) -> None:
        self.kiosks: dict[str, set[KioskConn]] = defaultdict(set)
        # town id -> this hub's kiosk sockets waiting in its queue (told a place)
        self.waiting: dict[str, set[KioskConn]] = defaultdict(set)
        self.consoles: dict[str, set[OperatorConn]] = defaultdict(set)
        self._tasks: set[asyncio.Task[None]] = set()

    def place(self, conn: KioskConn, position: int | None) -> None:
        """The place a kiosk socket was last told (None: not waiting), kept indexed by
        town so telling a town's places walks only its waiting kiosks."""
        conn.position = position
        town = conn.kiosk.town_id
        if position is None:
            self.waiting[town].discard(conn)
            if not self.waiting[town]:
                del self.waiting[town]
        else:
            self.waiting[town].add(conn)

    def all_kiosks(self) -> list[KioskConn]:
        return [c for conns in self.kiosks.values() for c in conns if not c.closed]

    def all_consoles(self) -> list[OperatorConn]:
        return [c for conns in self.consoles.values() for c in conns if not c.closed]

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run work that must not hold up a socket's reader; owned and cancelled on
        close, its failure logged."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    def revoke(self, conn: KioskConn | OperatorConn) -> None:
        """Close a socket whose credentials ended; its client must authenticate anew."""
        log.info("closing %s: its credentials were revoked", conn.id)
        conn.send(p.ErrorMsg(code="revoked", message="your credentials have ended; sign in again"))
        self.spawn(conn.close(CLOSE_REVOKED))

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
