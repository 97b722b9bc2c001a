"""值班情况, pushed: every operator of a town with their state, to the consoles of its
supervisors and admins.

Every change of an operator's presence is already announced on the operator's channel
(``{"kind": "sync"}``), from whichever hub made it, so that all their tabs re-read it.
A hub holding a console that watches a town subscribes to the channels of that town's
operators, and so hears the same nudges. Nothing new is published and no writer has to
know who watches.

Per town and per hub, one task turns nudges into ``team`` messages: it waits a moment
so a burst (a dispatch rings a whole town at once) becomes one snapshot, reads the
town's presence in one pipeline, and sends it to the watching consoles only when it
differs from the last one sent. It also looks every ``RECHECK_S`` without a nudge, for
what nobody announces: a console's lease that lapsed because its hub died, or a
missed-ring count that went up while the ring goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.exceptions import RedisError

from server.accounts import access
from server.accounts.accounts import Accounts, Operator
from server.clock import now_ms
from server.edge.connections import OperatorConn
from server.queue.presence import PresenceStore
from server.queue.views import team_view
from server.store import keys
from server.store.bus import Bus
from yijian import protocol as p

log = logging.getLogger(__name__)

WATCHERS = ("supervisor", "admin")
COALESCE_S = 0.15  # nudges within this long of the first make one snapshot
RECHECK_S = 5.0  # a look without a nudge, for changes nobody announces


def as_message(team: p.Team) -> dict[str, Any]:
    """As a dict, so the members' nulls stay (as in the REST answer); no ``ref``."""
    return team.model_dump(exclude={"ref"})


def check_may_watch(operator: Operator, town_id: str) -> None:
    """The hub's one access rule (``server.accounts.access``), for ``watch_team``."""
    access.own_town(operator, town_id, "supervisor", "watch the town's operators")


class _Town:
    """The consoles of one hub watching one town, and what they were last sent."""

    def __init__(self, town_id: str) -> None:
        self.id = town_id
        self.conns: set[OperatorConn] = set()
        self.members: set[str] = set()  # whose channels this town is subscribed to
        self.dirty = asyncio.Event()
        self.last: p.Team | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    async def nudged(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "sync":  # an operator's presence changed
            self.dirty.set()


class TeamWatch:
    """This hub's watched towns. Owned by the consoles; ``close()`` stops every task."""

    def __init__(self, accounts: Accounts, presence: PresenceStore, bus: Bus) -> None:
        self.accounts = accounts
        self.presence = presence
        self.bus = bus
        self._towns: dict[str, _Town] = {}
        self._watching: dict[OperatorConn, str] = {}

    async def watch(self, conn: OperatorConn, town_id: str, ref: str | None = None) -> None:
        """Send ``conn`` the town's team now, and again whenever it changes."""
        if self._watching.get(conn) != town_id:
            await self.unwatch(conn)
        town = self._towns.get(town_id)
        fresh = town is None
        if town is None:
            town = self._towns[town_id] = _Town(town_id)
            town.task = asyncio.create_task(self._run(town), name=f"team-{town_id}")
        town.conns.add(conn)
        self._watching[conn] = town_id
        team = await self._snapshot(town)
        if fresh:  # nobody else watches: what this console gets is what was sent
            town.last = team
        message = as_message(team)
        if ref is not None:
            message["ref"] = ref  # the reply to watch_team
        conn.send(message)

    async def unwatch(self, conn: OperatorConn) -> None:
        town_id = self._watching.pop(conn, None)
        town = self._towns.get(town_id or "")
        if town is None:
            return
        town.conns.discard(conn)
        if not town.conns:
            del self._towns[town.id]
            await self._stop(town)

    async def close(self) -> None:
        """Stop watching every town. Safe to call twice."""
        towns, self._towns = list(self._towns.values()), {}
        self._watching.clear()
        for town in towns:
            await self._stop(town)

    async def _stop(self, town: _Town) -> None:
        town.stopped = True
        if town.task is not None:
            town.task.cancel()
            await asyncio.gather(town.task, return_exceptions=True)
            town.task = None
        members, town.members = town.members, set()
        for username in members:
            await self.bus.unsubscribe(keys.operator_channel(username), town.nudged)

    async def _run(self, town: _Town) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECHECK_S):
                    await town.dirty.wait()
            await asyncio.sleep(COALESCE_S)
            town.dirty.clear()  # a nudge from here on makes another round
            try:
                team = await self._snapshot(town)
            except (RedisError, OSError) as exc:
                log.warning("reading town %s's team failed (%s); trying again", town.id, exc)
                continue
            except Exception:  # a bug must not silence the panel for good
                log.exception("reading town %s's team failed", town.id)
                continue
            if team != town.last:
                town.last = team
                message = as_message(team)
                for conn in list(town.conns):
                    conn.send(message)

    async def _snapshot(self, town: _Town) -> p.Team:
        usernames = await self.accounts.town_operators(town.id)
        await self._follow(town, set(usernames))  # before reading: no change falls between
        return team_view(town.id, await self.presence.many(usernames), now_ms())

    async def _follow(self, town: _Town, usernames: set[str]) -> None:
        """Listen to exactly the town's operators (the admin CLI may add one any time)."""
        joined, left = usernames - town.members, town.members - usernames
        town.members = usernames
        for username in joined:
            if town.stopped:  # the last watcher left meanwhile: subscribe to nothing more
                return
            await self.bus.subscribe(
                keys.operator_channel(username),
                town.nudged,
                fan=keys.town_operators_channel(town.id),
            )
        for username in left:
            await self.bus.unsubscribe(keys.operator_channel(username), town.nudged)
