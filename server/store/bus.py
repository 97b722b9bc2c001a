"""Messages between hubs over Redis pub/sub.

Several hub processes share one Redis; a kiosk may be connected to one and the
operator answering it to another. Each hub subscribes to the channels of the
sockets it holds and hands what arrives to their handlers. Pub/sub carries only
signalling and nudges ("the town's queue changed"); the state itself is in Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._handlers: dict[str, set[Handler]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closed = False

    async def start(self) -> None:
        # A subscription the bus always holds, so the reader has a connection to read.
        await self._pubsub.subscribe("yj:ev:hub")
        self._reader = asyncio.create_task(self._read(), name="bus-reader")

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self.redis.publish(channel, json.dumps(message, ensure_ascii=False))

    async def subscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.setdefault(channel, set())
        handlers.add(handler)
        if len(handlers) == 1:
            await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers:
            return
        handlers.discard(handler)
        if not handlers:
            del self._handlers[channel]
            if not self._closed:
                try:
                    await self._pubsub.unsubscribe(channel)
                except (RedisConnectionError, OSError) as exc:
                    log.warning("unsubscribe from %s failed: %s", channel, exc)

    async def _read(self) -> None:
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisConnectionError, OSError) as exc:
                log.warning("pub/sub connection lost (%s); resubscribing", exc)
                await asyncio.sleep(0.5)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            try:
                payload = json.loads(message["data"])
            except (TypeError, ValueError):
                log.error("dropping a non-JSON message on %s", channel)
                continue
            for handler in list(self._handlers.get(channel, ())):
                try:
                    await handler(payload)
                except Exception:  # one broken socket must not stop the others' messages
                    log.exception("handler for %s failed", channel)

    async def _resubscribe(self) -> None:
        try:
            channels = ["yj:ev:hub", *self._handlers]
            await self._pubsub.subscribe(*channels)
        except (RedisConnectionError, OSError) as exc:
            log.warning("resubscribe failed: %s", exc)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._handlers.clear()
        await self._pubsub.aclose()
