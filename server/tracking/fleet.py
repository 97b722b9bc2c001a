"""The fleet: each kiosk's health as the hub last heard it, and the town's alerts.

A kiosk says how it is in a ``heartbeat`` (every ``heartbeat_interval_s``, and after
each self-test): its software version, its button (stuck, or failing to read) and
its last self-test. Any other message, its connecting and its leaving count as
seen too. The kiosk edge (``server.edge.kiosks``) hands all of it here.

Two alerts, for the town's supervisors (``GET /api/kiosks``, the console's 设备 view):

- ``offline``: silent (no heartbeat, no message, no connection) longer than the
  town's ``offline_alert_s``. Raised by ``Fleet.check_once``, which every hub runs
  every ``YIJIAN_FLEET_CHECK_INTERVAL_S``; per town it reads only the kiosks whose
  last-seen time crossed the threshold since the last run (``keys.FLEET_CHECKED``),
  so it costs in proportion to what changed, never to the size of the fleet. Any
  hub may run it at once: raising is idempotent. Cleared the moment the kiosk is
  seen again.
- ``self_test_failed``: the last self-test the kiosk reported failed a device; said
  at once, from the heartbeat that carries it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import redis.asyncio as aioredis

from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns
from server.clock import now_ms
from server.errors import NotFound
from server.store import keys
from yijian import protocol as p

log = logging.getLogger(__name__)
SEEN_EVERY_S = 10.0  # a chatty kiosk's messages mark it seen at most this often
SAME_TEST_MS = 5_000  # a self-test dated this close to the stored one is the same test

# KEYS[1] fleet_seen, KEYS[2] fleet_offline; ARGV[1] kiosk id, ARGV[2] cutoff (ms).
# The offline alert, unless the kiosk was seen after the cutoff meanwhile. 1 if raised.
_RAISE = """
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not seen or tonumber(seen) > tonumber(ARGV[2]) then return 0 end
return redis.call('ZADD', KEYS[2], 'NX', seen, ARGV[1])
"""


class Fleet:
    def __init__(self, redis: aioredis.Redis, towns: Towns, check_interval_s: float) -> None:
        self.redis = redis
        self.towns = towns
        self.check_interval_s = check_interval_s
        self._raise = redis.register_script(_RAISE)
        self._marked: dict[str, float] = {}  # kiosk id -> when this hub last marked it seen
        self._task: asyncio.Task[None] | None = None

    # --- what the kiosk edge reports ------------------------------------------------

    async def seen(self, kiosk: Kiosk, *, force: bool = True) -> None:
        """The kiosk is there now. ``force=False`` (any message) writes at most every
        ``SEEN_EVERY_S``; connecting, leaving and heartbeats always write."""
        clock = time.monotonic()
        if not force and clock - self._marked.get(kiosk.id, -SEEN_EVERY_S) < SEEN_EVERY_S:
            return
        self._marked[kiosk.id] = clock
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.fleet_seen(kiosk.town_id), {kiosk.id: now_ms()})
            pipe.zrem(keys.fleet_offline(kiosk.town_id), kiosk.id)
            _, back = await pipe.execute()
        if back:
            log.info("kiosk %s is back: its offline alert is cleared", kiosk.id)

    def forget(self, kiosk_id: str) -> None:
        """This hub holds no socket of the kiosk any more."""
        self._marked.pop(kiosk_id, None)

    async def heartbeat(self, kiosk: Kiosk, beat: p.Heartbeat) -> None:
        now = now_ms()
        health: dict[str, str] = {
            "version": beat.version, "button_stuck": "1" if beat.button_stuck else "",
            "button_fault": beat.button_fault or "", "heartbeat_at": str(now),
        }  # fmt: skip
        test = beat.self_test
        if test is not None:
            health["self_test"] = json.dumps([c.model_dump() for c in test.devices])
            health["self_test_at"] = str(now - int(test.ran_s_ago * 1000))
            health["self_test_passed"] = "1" if test.passed else "0"
        self._marked[kiosk.id] = time.monotonic()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.kiosk_health(kiosk.id), "self_test_at")  # before it is rewritten
            pipe.hset(keys.kiosk_health(kiosk.id), mapping=health)
            pipe.zadd(keys.fleet_seen(kiosk.town_id), {kiosk.id: now})
            pipe.zrem(keys.fleet_offline(kiosk.town_id), kiosk.id)
            before, _, _, back = await pipe.execute()
        if back:
            log.info("kiosk %s is back: its offline alert is cleared", kiosk.id)
        new_test = test is not None and abs(int(health["self_test_at"]) - int(before or 0)) > (
            SAME_TEST_MS
        )
        if new_test and test is not None and not test.passed:
            failed = [f"{c.device}: {c.detail}" for c in test.devices if c.result == "failed"]
            log.warning("kiosk %s failed its self-test: %s", kiosk.id, "; ".join(failed))

    # --- the offline alert ----------------------------------------------------------

    async def start(self) -> None:
        await self._backfill()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fleet-alerts")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:  # Redis away for a moment: the next round catches up
                log.exception("checking the fleet for silent kiosks failed; trying again")
            await asyncio.sleep(self.check_interval_s)

    async def check_once(self) -> int:
        """Raise the offline alert of every kiosk that fell silent past its town's
        threshold since the last round; return how many were raised."""
        now, raised = now_ms(), 0
        for town_id in sorted(await self.redis.smembers(keys.TOWNS)):
            try:
                settings = await self.towns.settings(town_id)
            except NotFound:
                continue
            cutoff = now - int(settings.offline_alert_s * 1000)
            start = await self.redis.hget(keys.FLEET_CHECKED, town_id)
            silent = await self.redis.zrangebyscore(
                keys.fleet_seen(town_id), f"({start}" if start else "-inf", cutoff
            )
            for kiosk_id in silent:
                raised += await self._silent(town_id, kiosk_id, cutoff)
            await self.redis.hset(keys.FLEET_CHECKED, town_id, cutoff)
        return raised

    async def _silent(self, town_id: str, kiosk_id: str, cutoff: int) -> int:
        if await self.redis.hget(keys.kiosk(kiosk_id), "town") != town_id:
            await self.redis.zrem(keys.fleet_seen(town_id), kiosk_id)  # moved or gone
            return 0
        if await self.redis.zcount(keys.kiosk_conns(kiosk_id), now_ms(), "+inf"):
            # Connected, but it sends no heartbeats (an older kiosk): still there.
            await self.redis.zadd(keys.fleet_seen(town_id), {kiosk_id: now_ms()})
            return 0
        keys_ = [keys.fleet_seen(town_id), keys.fleet_offline(town_id)]
        if not await self._raise(keys=keys_, args=[kiosk_id, cutoff]):
            return 0
        log.warning("kiosk %s of town %s is silent past the town's threshold: offline alert",
                    kiosk_id, town_id)  # fmt: skip
        return 1

    async def _backfill(self) -> None:
        """Kiosks made before the fleet existed join their town's set, once."""
        if await self.redis.exists(keys.FLEET_BACKFILLED):
            return
        for kiosk_id in await self.redis.smembers(keys.KIOSKS):
            town_id = await self.redis.hget(keys.kiosk(kiosk_id), "town")
            if town_id is not None:
                await self.redis.sadd(keys.town_kiosks(town_id), kiosk_id)
        await self.redis.set(keys.FLEET_BACKFILLED, "1")
