"""The hub's parts, built once and wired together: the one place that knows them all.

Each part is handed the few collaborators it uses (never this object), so the layers
stay as ``docs/design.md`` draws them: storage, accounts, the queue and request
tracking below; the two socket edges and the REST routes above. ``open_services``
opens Redis, starts the background work, and closes everything in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.accounts.throttle import LoginThrottle
from server.accounts.towns import Towns
from server.edge.consoles import ConsoleEdge
from server.edge.kiosks import KioskEdge
from server.edge.leases import LeaseKeeper
from server.edge.positions import Positions
from server.edge.sockets import Sockets
from server.edge.team import TeamWatch
from server.queue.callbacks import CallBacks
from server.queue.calls import CallStore
from server.queue.deadlines import deadline_handlers, restart_clocks
from server.queue.deliver import Deliver
from server.queue.dispatch import Dispatcher
from server.queue.lifecycle import CallQueue
from server.queue.presence import PresenceStore
from server.queue.reaper import Reaper
from server.queue.sweeper import Sweeper
from server.queue.timers import Timers
from server.settings import HubSettings
from server.store.bus import Bus
from server.store.redis_conn import HUB_CLIENT_NAME, connect
from server.tracking import hooks
from server.tracking.calllog import CallLog
from server.tracking.fleet import Fleet
from server.tracking.request_query import RequestQuery
from server.tracking.retention import Retention

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Services:
    settings: HubSettings
    redis: aioredis.Redis
    accounts: Accounts
    towns: Towns
    presence: PresenceStore
    calls: CallStore
    queue: CallQueue
    tracking: hooks.Tracking
    call_log: CallLog
    request_query: RequestQuery
    kiosks: KioskEdge
    consoles: ConsoleEdge


@asynccontextmanager
async def open_services(settings: HubSettings, redis_url: str) -> AsyncIterator[Services]:
    redis = await connect(redis_url, client_name=HUB_CLIENT_NAME)
    bus = Bus(redis)
    await bus.start()
    throttle = LoginThrottle(redis, per_account=settings.login_failures_per_account,
                             per_address=settings.login_failures_per_address,
                             window_s=settings.login_window_s)  # fmt: skip
    accounts = Accounts(redis, settings.session_ttl_s, throttle, settings.session_idle_s)
    towns = Towns(redis, {"grace_s": settings.grace_s})
    calls = CallStore(redis, towns)
    tracking = hooks.wire(redis, calls, towns)  # requests and the numbers (docs/requests.md)
    presence, timers = PresenceStore(redis), Timers(redis)
    deliver = Deliver(bus)
    dispatcher = Dispatcher(redis, accounts, calls, presence, towns, timers, deliver)
    queue = CallQueue(calls, accounts, towns, presence, timers, dispatcher, deliver)
    callbacks = CallBacks(queue, tracking.requests)
    sweeper = Sweeper(timers, deadline_handlers(queue), Reaper(queue).reap,
                      settings.sweep_interval_s)  # fmt: skip

    sockets = Sockets()
    team = TeamWatch(accounts, presence, bus)
    leases = LeaseKeeper(sockets, presence, redis, accounts.clock)
    positions = Positions(queue, sockets, bus)
    fleet = Fleet(redis, towns, settings.fleet_check_interval_s)
    kiosks = KioskEdge(queue, callbacks, accounts, bus, sockets, positions, leases,
                       settings.ice_servers, tracking.rate, fleet)  # fmt: skip
    consoles = ConsoleEdge(queue, callbacks, accounts, bus, sockets, team, settings.ice_servers)
    retention = Retention(redis, settings.retention_days, settings.retention_interval_s,
                          catch_up=tracking.catch_up)  # fmt: skip

    await restart_clocks(timers, settings.grace_s)
    sweeper.start()
    leases.start()
    await retention.start()
    await fleet.start()
    try:
        yield Services(settings, redis, accounts, towns, presence, calls, queue, tracking,
                       CallLog(redis), RequestQuery(redis), kiosks, consoles)  # fmt: skip
    finally:
        for name, close in (
            ("fleet alerts", fleet.close), ("retention", retention.close),
            ("team watch", team.close),
            ("leases", leases.close), ("sweeper", sweeper.close),
            ("positions", positions.close),
            ("socket tasks", sockets.close), ("bus", bus.close), ("redis", redis.aclose),
        ):  # fmt: skip
            await _bounded_close(name, close)


async def _bounded_close(name: str, close: Callable[[], Awaitable[None]]) -> None:
    """Close one part; a stuck close is logged with what is still running, and
    shutdown goes on rather than hang."""
    try:
        await asyncio.wait_for(close(), CLOSE_TIMEOUT_S)
    except TimeoutError:
        stuck = [
            f"{task.get_name()}: {task.get_stack(limit=3)}"
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task()
        ]
        log.error("closing the %s took over %.0f s; running: %s", name, CLOSE_TIMEOUT_S, stuck)
