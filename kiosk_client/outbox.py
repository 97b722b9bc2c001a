"""What the kiosk sends the hub about its call, and sending it again when the hub
could not handle it just now.

Every message carries a ``ref``: the press's idempotency key or the call id. An
``error`` naming that ref with a code in ``RESEND_CODES`` (the hub's Redis
restarting, a defect) has a call request or hang-up sent again after a jittered,
growing pause, through a ``Resend`` event on the controller's queue, if it still
matters by then.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from kiosk_client.call import Call
from kiosk_client.events import Resend
from kiosk_client.rating import Value
from yijian.protocol import CallbackAnswer, CallRequest, Hangup, Rating

# The state machine's logger: the kiosk's log reads as it did before sending had a
# module of its own.
logger = logging.getLogger("kiosk_client.controller")

RESEND_CODES = frozenset({"unavailable", "internal"})
RESEND_FIRST_S, RESEND_MAX_S = 1.0, 16.0


class Outbox:
    def __init__(
        self, send: Callable[[BaseModel], Awaitable[bool]], post: Callable[[Resend], None]
    ) -> None:
        self._send = send
        self._post = post

    async def request(self, call: Call) -> None:
        assert call.key is not None
        # Resent with the same key after a reconnect: the hub answers with the same call.
        await self._send(CallRequest(type="call_request", idempotency_key=call.key, ref=call.key))

    async def hang_up(self, call_id: str) -> None:
        await self._send(Hangup(type="hangup", call_id=call_id, ref=call_id))

    async def answer_callback(self, call_id: str, *, accept: bool) -> None:
        await self._send(CallbackAnswer(type="callback_answer", call_id=call_id,
                                        accept=accept, ref=call_id))  # fmt: skip

    async def rate(self, call_id: str, value: Value) -> None:
        await self._send(Rating(type="rating", call_id=call_id, value=value, ref=call_id))

    def resend_later(self, call: Call, code: str, ref: str | None) -> None:
        """After a hub error: send the call's message again later, if it may succeed."""
        if code in RESEND_CODES and ref in (call.key, call.id):
            assert ref is not None
            call.resends += 1
            pause = min(RESEND_MAX_S, RESEND_FIRST_S * 2 ** (call.resends - 1))
            pause *= random.uniform(0.5, 1.0)
            asyncio.get_running_loop().call_later(pause, self._post, Resend(ref))

    async def resend(self, call: Call, ref: str) -> None:
        """Send again what the hub could not handle, if it still matters."""
        if call.id is None and ref == call.key:
            logger.info("sending the call request again")
            await self.request(call)
        elif call.hanging_up and ref == call.id:
            logger.info("call %s: sending the hang-up again", call.id)
            await self.hang_up(ref)
