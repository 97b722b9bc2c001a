"""Delivery repairs itself: a message pub/sub loses still reaches its socket, within the
bus's repair period, whether the hub's pub/sub connection was killed under it or the
publication alone went missing (docs/design.md, server/store/bus.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis

from server.accounts.accounts import Accounts
from server.clock import now_ms
from server.store import keys
from server.store.redis_conn import HUB_CLIENT_NAME
from tests.conftest import PASSWORD
from tests.support import TIMEOUT, HubProcess, WsClient, fake_sdp

REPAIR_S = 2.0  # server.store.bus.REPAIR_EVERY_S


@dataclass
class Stage:
    hub: HubProcess
    redis: aioredis.Redis
    kiosk: WsClient
    console: WsClient

    async def kill_pubsub(self) -> int:
        """Kill the hub's pub/sub connections (it holds one); how many were killed."""
        killed = 0
        for client in await self.redis.client_list():
            if client.get("name", "").startswith(HUB_CLIENT_NAME) and int(client["sub"]) > 0:
                with contextlib.suppress(aioredis.ResponseError):
                    killed += await self.redis.client_kill_filter(_id=client["id"])
        return killed

    def repairs_logged(self) -> int:
        return self.hub.log_path.read_text().count("repaired a missed message")


@pytest.fixture
async def stage(own_hub: Callable[..., HubProcess]) -> AsyncIterator[Stage]:
    hub = own_hub()
    redis = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    accounts = Accounts(redis)
    await accounts.add_town("bus", "总线镇")
    token = await accounts.add_kiosk("bus-k", "bus", "点", "村")
    await accounts.add_operator("bus-op", "bus", "operator", PASSWORD)
    await redis.hset(keys.town("bus"), mapping={"wrap_up_s": "0"})
    async with httpx.AsyncClient(base_url=hub.base, timeout=TIMEOUT) as http:
        login = await http.post("/api/auth/login",
                                json={"username": "bus-op", "password": PASSWORD})  # fmt: skip
        cookie = {"Cookie": f"yijian_session={login.cookies['yijian_session']}"}
    console = await WsClient.connect(hub.ws_base + "/ws/operator", cookie)
    await console.recv_type("welcome")
    await console.send({"type": "set_availability", "state": "available"})
    await console.recv_type("availability")
    kiosk = await WsClient.connect(hub.ws_base + "/ws/kiosk", {"Authorization": f"Bearer {token}"})
    await kiosk.recv_type("welcome")
    yield Stage(hub, redis, kiosk, console)
    await kiosk.close()
    await console.close()
    await redis.aclose()


async def keep_killing(stage: Stage, seconds: float) -> int:
    """Kill the hub's pub/sub connection again and again: most publications meanwhile
    reach no subscriber."""
    killed = 0
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        killed += await stage.kill_pubsub()
        await asyncio.sleep(0.05)
    return killed


async def test_a_ring_and_the_media_arrive_with_the_bus_connection_killed(stage: Stage):
    killer = asyncio.create_task(keep_killing(stage, 1.5))
    await stage.kiosk.send({"type": "call_request", "idempotency_key": "bus-killed-1"})
    call_id = (await stage.kiosk.recv_type("call_queued"))["call_id"]
    ring = await stage.console.recv_type("ring", timeout=REPAIR_S + TIMEOUT)
    killed_during_ring = await killer

    await stage.console.send({"type": "answer", "call_id": call_id})
    await stage.console.recv_type("answered")
    await stage.kiosk.recv_type("call_answered")
    killer = asyncio.create_task(keep_killing(stage, 1.5))
    offer = fake_sdp("offer", "offer while the bus is down")
    await stage.kiosk.send({"type": "sdp", "call_id": call_id, "description": offer})
    relayed = await stage.console.recv_type("sdp", timeout=REPAIR_S + TIMEOUT)
    await stage.console.send({"type": "sdp", "call_id": call_id,
                              "description": fake_sdp("answer", "answer")})  # fmt: skip
    answer = await stage.kiosk.recv_type("sdp", timeout=REPAIR_S + TIMEOUT)
    killed_during_sdp = await killer

    assert killed_during_ring > 0 and killed_during_sdp > 0
    assert ring["call"]["id"] == call_id
    assert relayed["description"] == offer and answer["description"]["type"] == "answer"
    assert stage.repairs_logged() > 0  # what pub/sub lost came from the streams


async def test_a_publication_that_never_came_is_read_from_the_stream(stage: Stage):
    """The message is in the kiosk's stream but was never published (as when pub/sub
    drops it): the hub's periodic repair hands it on."""
    lost = {"type": "queue_position", "call_id": "0" * 19, "position": 1}
    await stage.redis.xadd(keys.inbox(keys.kiosk_channel("bus-k")),
                           {"m": json.dumps(lost)})  # fmt: skip

    arrived = await stage.kiosk.recv_type("queue_position", timeout=REPAIR_S + TIMEOUT)

    assert arrived == lost


async def test_a_batch_on_the_towns_operators_channel_reaches_each_channel_in_order(
    stage: Stage,
):
    """What a dispatch tells the town's operators comes as one publication on their
    fan (``keys.town_operators_channel``): each part reaches its channel's sockets, a
    channel the hub does not follow is passed over, and a part whose ``prev`` is not
    the last one seen is preceded by what the stream holds before it."""
    mine = keys.operator_channel("bus-op")
    first, second, third = ({"type": "bus_test", "n": n} for n in (1, 2, 3))
    newest = await stage.redis.xrevrange(keys.inbox(mine), count=1)
    prev = newest[0][0] if newest else "0-0"
    first_id = f"{max(int(prev.split('-')[0]) + 1, now_ms())}-0"
    batch = {"batch": [
        {"ch": keys.operator_channel("nobody-here"), "id": "1-1", "prev": "0-0",
         "m": {"type": "bus_test", "n": 0}},
        {"ch": mine, "id": first_id, "prev": prev, "m": first},
    ]}  # fmt: skip
    repairs = stage.repairs_logged()
    async with stage.redis.pipeline(transaction=True) as pipe:  # as the script does: one step
        pipe.xadd(keys.inbox(mine), {"m": json.dumps(first)}, id=first_id)
        pipe.publish(keys.town_operators_channel("bus"), json.dumps(batch))
        await pipe.execute()
    got_first = await stage.console.recv_type("bus_test")
    repaired_first = stage.repairs_logged() - repairs

    async with stage.redis.pipeline(transaction=True) as pipe:  # the second never published
        pipe.xadd(keys.inbox(mine), {"m": json.dumps(second)})
        pipe.xadd(keys.inbox(mine), {"m": json.dumps(third)})
        second_id, third_id = await pipe.execute()
        batch = {"batch": [{"ch": mine, "id": third_id, "prev": second_id, "m": third}]}
        await stage.redis.publish(keys.town_operators_channel("bus"), json.dumps(batch))
    got = [await stage.console.recv_type("bus_test") for _ in range(2)]

    assert got_first == first and repaired_first == 0  # it came by the fan, not a repair
    assert got == [second, third]
