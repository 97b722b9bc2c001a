"""A hub's one lease holds all of its kiosk sockets (server.edge.leases): no lease per
kiosk to renew; a hub whose lease lapsed while it still runs has its sockets removed
by the reaper, then registers them all again by itself."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.store import keys
from server.store.lease_scripts import HELD
from tests.support import TIMEOUT, HubProcess, WsClient


async def held_by(redis: aioredis.Redis, kiosk_id: str) -> list[tuple[str, float]]:
    return await redis.zrange(keys.kiosk_conns(kiosk_id), 0, -1, withscores=True)


async def hub_leases(redis: aioredis.Redis) -> dict[str, float]:
    leases = await redis.zrange(keys.LEASES, 0, -1, withscores=True)
    return {member: score for member, score in leases if member.startswith("h|")}


async def until(check, what: str) -> None:
    deadline = time.monotonic() + 3 * TIMEOUT
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


async def test_one_lease_holds_a_hubs_kiosks_and_comes_back_after_it_lapsed(own_hub):
    hub: HubProcess = own_hub()
    redis = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    accounts = Accounts(redis)
    await accounts.add_town("hl", "租约镇")
    tokens = [await accounts.add_kiosk(f"hl-k{i}", "hl", f"点{i}", "村") for i in range(3)]
    sockets = []
    try:
        for token in tokens:
            client = await WsClient.connect(
                hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"}
            )
            await client.recv_type("welcome")
            sockets.append(client)
        shape = await redis.zrange(keys.LEASES, 0, -1)
        [(hub_lease, _score)] = (await hub_leases(redis)).items()
        hub_id = hub_lease.split("|")[1]
        listed = await redis.smembers(keys.hub_kiosks(hub_id))
        held = [await held_by(redis, f"hl-k{i}") for i in range(3)]

        # the hub's loop stalled past its lease (as far as Redis can tell)
        await redis.zadd(keys.LEASES, {hub_lease: 1})
        await until(lambda: _none_held(redis), "the reaper removed the lapsed hub's sockets")
        await until(lambda: _all_held(redis), "the hub registered its sockets again")
        again = await hub_leases(redis)
    finally:
        for client in sockets:
            await client.close()
        await redis.aclose()

    assert shape == [hub_lease]  # one lease for the hub, none per kiosk
    assert len(listed) == 3 and all(len(h) == 1 and h[0][1] == HELD for h in held)
    assert list(again) == [hub_lease] and again[hub_lease] > time.time() * 1000
    assert "registering its 3 kiosk sockets again" in hub.log_path.read_text()


async def _none_held(redis: aioredis.Redis) -> bool:
    return not any([await redis.zcard(keys.kiosk_conns(f"hl-k{i}")) for i in range(3)])


async def _all_held(redis: aioredis.Redis) -> bool:
    return all([await redis.zcard(keys.kiosk_conns(f"hl-k{i}")) == 1 for i in range(3)])
