"""One WebSocket connection of a kiosk or an operator's console.

Outgoing messages go through a bounded queue drained by the connection's own writer
task, so a slow or stuck client never holds up the hub or the other clients: when
its queue is full it is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from typing import Any

from pydantic import BaseModel
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.accounts.accounts import Operator
from server.accounts.kiosks import Kiosk

log = logging.getLogger(__name__)

OUTBOX_SIZE = 256
CLOSE_POLICY_VIOLATION = 1008  # too many bad messages
CLOSE_TRY_AGAIN = 1013  # not reading its messages
CLOSE_REVOKED = 4001  # the session ended or the kiosk's token was rotated or revoked
CLOSE_RATE_LIMITED = 4029  # more messages than the rate limit allows
CLOSE_REPLACED = 4009  # a kiosk's silent socket, closed for its newer one (edge.one_socket)


class Connection:
    """One socket. Its writer task runs only while it has messages to send, so an idle
    kiosk holds no task and no queue (both made when first needed, and slots, not a
    dict, for the rest): thousands of idle sockets cost little memory."""

    __slots__ = (
        "_close_code",
        "_errors",
        "_max_errors",
        "_outbox",
        "_started",
        "_writer",
        "closed",
        "handler",
        "id",
        "last_seen",
        "websocket",
    )  # fmt: skip

    def __init__(self, websocket: WebSocket, max_errors_per_10s: int) -> None:
        self.id = secrets.token_hex(8)
        self.websocket = websocket
        self._outbox: deque[str | None] | None = None  # None in it: close the socket
        self._writer: asyncio.Task[None] | None = None
        self._errors: list[float] = []
        self._max_errors = max_errors_per_10s
        self._close_code = 1000
        self._started = False
        self.closed = False
        self.last_seen = time.monotonic()  # the last message from the client
        self.handler: Any = None  # this socket's bus handler, set by the hub

    def start(self) -> None:
        self._started = True

    def send(self, message: BaseModel | dict[str, Any]) -> None:
        """Queue a message; never blocks."""
        if self.closed:
            return
        if isinstance(message, BaseModel):
            self.send_text(message.model_dump_json(exclude_none=True))
        else:
            self.send_text(json.dumps(message, ensure_ascii=False))

    def send_text(self, text: str) -> None:
        """Queue a message already in JSON (one made once for many sockets)."""
        if self.closed:
            return
        outbox = self._queue()
        if len(outbox) >= OUTBOX_SIZE:
            log.warning("connection %s is not reading its messages; closing it", self.id)
            self.closed = True
            self._close_code = CLOSE_TRY_AGAIN
            outbox.clear()
            outbox.append(None)
        else:
            outbox.append(text)
        self._wake_writer()

    def _queue(self) -> deque[str | None]:
        if self._outbox is None:
            self._outbox = deque()
        return self._outbox

    def _wake_writer(self) -> None:
        if self._started and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.id}")

    def count_error(self) -> bool:
        """Record a bad message; True when the client has misbehaved too often."""
        now = time.monotonic()
        self._errors = [t for t in self._errors if t >= now - 10] + [now]
        return len(self._errors) > self._max_errors

    async def _write(self) -> None:
        """Send what is queued, then end (the next ``send`` starts another)."""
        try:
            while self._outbox:
                text = self._outbox.popleft()
                if text is None:
                    break
                await self.websocket.send_text(text)
            else:
                return
        except Exception as exc:  # the socket is gone; the reader side will clean up
            log.debug("writer of %s stopped: %s", self.id, exc)
        self.closed = True
        await self._close_socket()

    async def _close_socket(self) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            # the client may have left first
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(self._close_code)

    async def close(self, code: int = 1000) -> None:
        """Flush what is queued, then close the socket. Safe to call twice."""
        if not self._started:
            return
        self._started = False
        if not self.closed:
            self.closed, self._close_code = True, code
        if not self._outbox or self._outbox[-1] is not None:
            self._queue().append(None)
        writer = self._writer
        if writer is None or writer.done():
            writer = self._writer = asyncio.create_task(self._write(), name=f"ws-close-{self.id}")
        try:
            await asyncio.wait_for(writer, timeout=2)
        except TimeoutError:
            writer.cancel()
        await self._close_socket()


class TokenBucket:
    """At most ``burst`` messages at once, refilled at ``per_s`` a second."""

    __slots__ = ("at", "burst", "per_s", "tokens")

    def __init__(self, per_s: float, burst: int) -> None:
        self.per_s, self.burst = per_s, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class KioskConn(Connection):
    __slots__ = ("kiosk", "position")

    def __init__(self, websocket: WebSocket, kiosk: Kiosk, max_errors_per_10s: int) -> None:
        super().__init__(websocket, max_errors_per_10s)
        self.kiosk = kiosk
        self.position: int | None = None  # last position told, to announce only gains


class OperatorConn(Connection):
    __slots__ = ("address", "announcing", "availability", "call_id", "operator", "ringing",
                 "session", "state")  # fmt: skip

    def __init__(self, websocket: WebSocket, operator: Operator, max_errors_per_10s: int) -> None:
        super().__init__(websocket, max_errors_per_10s)
        self.operator = operator
        self.session = ""  # the hash of the session it was opened with
        self.address = ""  # the client's, as the audit log records it
        self.availability: str | None = None  # as last told to this console
        self.state: str | None = None
        self.call_id: str | None = None
        self.ringing: str | None = None  # the call this console is ringing for
        # its answer being told to everyone else (the kiosk, the town's other rings)
        self.announcing: asyncio.Task[None] | None = None
