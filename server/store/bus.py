"""Messages between hubs: pub/sub for speed, a Redis Stream per channel so that none
is lost.

Several hub processes share one Redis; a kiosk may be connected to one and the
operator answering it to another. Each hub subscribes to the channels of the parties
it holds (a kiosk, an operator, a console, a town) and hands what arrives to their
handlers.

Publishing is one script (``scripts.DELIVER``): the message is appended to the
channel's stream (``keys.inbox``, capped, expiring) and published with its stream id
and the id before it. A hub remembers, per channel, the last id it handed on, and so
repairs whatever pub/sub dropped:

- a message whose ``prev`` is not the last id seen means one went missing: the hub
  reads the stream from its last id (in order) before handing on the new one;
- every ``REPAIR_EVERY_S``, and at once when the pub/sub connection comes back
  (``CLIENT KILL``, a Redis restart, a network cut), one script per ``READ_BATCH``
  channels the hub follows (``scripts.MISSED``: an ``XRANGE`` past the last id of
  each) brings whatever it missed.

A script that tells several channels at once (a dispatch, the town's operators)
publishes them as one ``{"batch": [...]}`` on a fan channel (``deliver_all`` in
``lua_keys``); a hub following such a channel subscribes to its fan too
(``subscribe(..., fan=)``) and takes each part as if it came on its own channel.

So a message reaches its handler once, in order, within ``REPAIR_EVERY_S`` of a
lost publication. A message published without an id (by ``redis-cli``, or an older
hub) is handed on as it comes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from server.store import keys, scripts

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
REPAIR_EVERY_S = 2.0
READ_BATCH = 200  # channels per MISSED script: a Redis step well under a millisecond


class Bus:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._handlers: dict[str, set[Handler]] = {}
        self._last: dict[str, str] = {}  # channel -> last stream id handed on
        self._fan_of: dict[str, str] = {}  # channel -> the fan that also carries it
        self._fans: dict[str, int] = {}  # fan -> how many followed channels it carries
        self._deliver = redis.register_script(scripts.DELIVER)
        self._missed = redis.register_script(scripts.MISSED)
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._repaired_at = 0.0
        self.repaired = 0  # messages brought by repair, not by pub/sub (for tests and logs)

    async def start(self) -> None:
        # A subscription the bus always holds, so the reader has a connection to read.
        await self._pubsub.subscribe(keys.HUB_CHANNEL)
        self._reader = asyncio.create_task(self._read(), name="bus-reader")

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False)
        await self._deliver(keys=[keys.inbox(channel)], args=[channel, text])

    async def subscribe(self, channel: str, handler: Handler, fan: str | None = None) -> None:
        """Hand what the channel carries to ``handler``; ``fan``: a channel that also
        carries this one's messages, in batches (the town's operators' channel)."""
        handlers = self._handlers.setdefault(channel, set())
        handlers.add(handler)
        if len(handlers) == 1:
            # from the stream's current end: what came before, the joining party reads
            # from Redis itself (a kiosk's welcome carries its call)
            newest = await self.redis.xrevrange(keys.inbox(channel), count=1)
            self._last[channel] = newest[0][0] if newest else "0-0"
            also = []
            if fan is not None:
                self._fan_of[channel] = fan
                self._fans[fan] = self._fans.get(fan, 0) + 1
                also = [fan] if self._fans[fan] == 1 else []
            await self._pubsub.subscribe(channel, *also)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers:
            return
        handlers.discard(handler)
        if not handlers:
            del self._handlers[channel]
            self._last.pop(channel, None)
            also = []
            fan = self._fan_of.pop(channel, None)
            if fan is not None:
                self._fans[fan] -= 1
                if not self._fans[fan]:
                    del self._fans[fan]
                    also = [fan]
            if not self._closed:
                try:
                    await self._pubsub.unsubscribe(channel, *also)
                except (RedisConnectionError, OSError) as exc:
                    log.warning("unsubscribe from %s failed: %s", channel, exc)

    async def _read(self) -> None:
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=0.5)
            except (RedisConnectionError, OSError) as exc:
                log.warning("pub/sub connection lost (%s); resubscribing", exc)
                await asyncio.sleep(0.2)
                if await self._resubscribe():
                    await self._repair_all()
                continue
            if message is not None and message.get("type") == "message":
                await self._on_message(message["channel"], message["data"])
            if time.monotonic() - self._repaired_at >= REPAIR_EVERY_S:
                await self._repair_all()

    async def _on_message(self, channel: str, data: str) -> None:
        try:
            envelope = json.loads(data)
        except (TypeError, ValueError):
            log.error("dropping a non-JSON message on %s", channel)
            return
        if not isinstance(envelope, dict) or "id" not in envelope:
            if isinstance(envelope, dict) and isinstance(envelope.get("batch"), list):
                for part in envelope["batch"]:  # from a fan: each part as on its channel
                    if isinstance(part, dict) and {"ch", "id", "m"} <= part.keys():
                        await self._on_envelope(part["ch"], part)
                return
            await self._hand_on(channel, envelope)  # published by hand: as it comes
            return
        await self._on_envelope(channel, envelope)

    async def _on_envelope(self, channel: str, envelope: dict[str, Any]) -> None:
        last = self._last.get(channel)
        if last is None or _newer(last, envelope["id"]) is False:
            return  # not followed any more, or already handed on by a repair
        if envelope.get("prev") != last:  # one went missing in between: read it first
            await self._repair([channel])
            if not _newer(self._last.get(channel) or envelope["id"], envelope["id"]):
                return
        self._last[channel] = envelope["id"]
        await self._hand_on(channel, envelope["m"])

    async def _repair_all(self) -> None:
        self._repaired_at = time.monotonic()
        channels = list(self._last)
        for start in range(0, len(channels), READ_BATCH):
            await self._repair(channels[start : start + READ_BATCH])

    async def _repair(self, channels: list[str]) -> None:
        """Hand on what the streams hold past the last id seen, in order."""
        wanted = "\n".join(f"{c} {self._last[c]}" for c in channels if c in self._last)
        if not wanted:
            return
        try:
            found = await self._missed(args=[wanted])
        except (RedisError, OSError) as exc:
            log.warning("reading missed messages failed (%s); trying again", exc)
            return
        for channel, entries in zip(found[::2], found[1::2], strict=True):
            for entry_id, flat in entries:
                fields = dict(zip(flat[::2], flat[1::2], strict=False))
                if channel not in self._last or not _newer(self._last[channel], entry_id):
                    continue
                self._last[channel] = entry_id
                self.repaired += 1
                log.info("%s: repaired a missed message (%s)", channel, entry_id)
                try:
                    message = json.loads(fields["m"])
                except (KeyError, TypeError, ValueError):
                    continue
                await self._hand_on(channel, message)

    async def _hand_on(self, channel: str, message: Any) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await handler(message)
            except Exception:  # one broken socket must not stop the others' messages
                log.exception("handler for %s failed", channel)

    async def _resubscribe(self) -> bool:
        try:
            await self._pubsub.subscribe(keys.HUB_CHANNEL, *self._handlers, *self._fans)
        except (RedisConnectionError, OSError) as exc:
            log.warning("resubscribe failed: %s", exc)
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._handlers.clear()
        self._last.clear()
        self._fan_of.clear()
        self._fans.clear()
        await self._pubsub.aclose()


def _newer(last: str, entry_id: str) -> bool:
    """Whether stream id ``entry_id`` comes after ``last``."""
    a_ms, _, a_seq = last.partition("-")
    b_ms, _, b_seq = entry_id.partition("-")
    return (int(b_ms), int(b_seq or 0)) > (int(a_ms), int(a_seq or 0))
