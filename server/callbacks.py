"""Calling a kiosk back: the town rings the village.

An operator asks for a callback (from a callback request, or from any past call).
The call is made at once, reserved for that operator (who is busy with it), and the
kiosk rings with a chime and a 镇里回电 screen; it answers by itself after the town's
``auto_answer_s`` unless someone presses to decline. Answered, it is an ordinary
call: the kiosk sends its offer to the operator. The call is linked to the request.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from server import keys
from server.clock import now_ms
from server.connections import KioskConn, OperatorConn
from server.consoles import call_view
from server.errors import BadState, Forbidden, NotFound
from yijian import protocol as p

if TYPE_CHECKING:
    from server.signalling import SignallingHub

# Past auto-answer, how long the hub waits for the kiosk's word before giving up.
ANSWER_MARGIN_S = 15.0


class Callbacks:
    def __init__(self, hub: SignallingHub) -> None:
        self.hub = hub

    async def start(self, conn: OperatorConn, msg: p.Callback) -> None:
        hub, op = self.hub, conn.operator
        try:
            kiosk = await hub.accounts.kiosk(msg.kiosk_id)
        except NotFound:
            raise NotFound(f"no kiosk {msg.kiosk_id!r}", code="kiosk_not_found") from None
        if kiosk.town_id != op.town_id and op.role != "admin":
            raise NotFound(f"no kiosk {msg.kiosk_id!r}", code="kiosk_not_found")
        if not await hub.calls.redis.zcount(keys.kiosk_conns(kiosk.id), now_ms(), "+inf"):
            raise BadState(f"kiosk {kiosk.id} is offline; try again later", code="kiosk_offline")
        request_id = await self._request(msg.request_id, kiosk.town_id) or await self._request_of(
            msg.call_id, kiosk.town_id
        )
        call, created = await hub.calls.create(
            kiosk, "cb" + secrets.token_hex(8), kind="callback", operator=op.username
        )
        if not created:
            raise BadState(f"kiosk {kiosk.id} is in another call", code="kiosk_busy")
        await hub.calls.set_operator_conn(call.id, conn.id)
        conn.call_id = call.id
        if request_id and hub.tracking is not None:
            await hub.calls.redis.hset(keys.call(call.id), "request_id", request_id)
            await hub.tracking.requests.link_call(request_id, call.id, by=op.username)
        settings = await hub.towns.settings(kiosk.town_id)
        await hub.timers.set_in(settings.auto_answer_s + ANSWER_MARGIN_S, "callback", call.id)
        town = await hub.accounts.town(kiosk.town_id)
        conn.send(p.CallbackRinging(call=call_view(call), ref=msg.ref))
        await hub.bus.publish(keys.operator_channel(op.username), {"kind": "sync"})
        await hub.bus.publish(keys.kiosk_channel(kiosk.id), p.IncomingCall(
            call_id=call.id, operator=op.username, town_name=town.name,
            auto_answer_s=settings.auto_answer_s).model_dump())  # fmt: skip

    async def _request(self, request_id: str | None, town_id: str) -> str | None:
        """The request to link, which must be of the kiosk's town: another town's
        request does not exist as far as this operator can tell."""
        if request_id is None:
            return None
        try:
            found = await self.hub.tracking.requests.get(request_id)
        except NotFound:
            found = None
        if found is None or found.town_id != town_id:
            raise NotFound(f"no request {request_id!r}", code="request_not_found")
        return request_id

    async def _request_of(self, call_id: str | None, town_id: str) -> str | None:
        if call_id is None:
            return None
        past = await self.hub.calls.get(call_id)
        if past.town_id != town_id:
            raise NotFound(f"no call {call_id!r}", code="call_not_found")
        found = await self.hub.calls.redis.hget(keys.call(call_id), "request_id")
        return found or None

    async def kiosk_answers(self, conn: KioskConn, msg: p.CallbackAnswer) -> None:
        hub = self.hub
        call = await hub.calls.get(msg.call_id)
        if call.kiosk_id != conn.kiosk.id or call.kind != "callback":
            raise Forbidden(
                f"call {msg.call_id} is not this kiosk's callback", code="not_your_call"
            )
        if call.status != "queued" or not call.operator:
            raise BadState(f"call {call.id} is {call.status}", code="call_ended")
        if not msg.accept:
            await hub.end_call(call, reason="kiosk_declined", by=f"kiosk:{conn.kiosk.id}",
                               if_queued="unanswered")  # fmt: skip
            return
        operator = await hub.accounts.operator(call.operator)
        claimed = await hub.calls.claim(call.id, operator, call.operator_conn or "")
        settings = await hub.towns.settings(call.town_id)
        await hub.timers.set_in(settings.media_grace_s, "assign", call.id)
        await hub.bus.publish(keys.conn_channel(claimed.operator_conn or "-"),
                              p.Answered(call=call_view(claimed)).model_dump())  # fmt: skip
        answered = p.CallAnswered(call_id=call.id, operator=operator.username)
        await hub.bus.publish(keys.kiosk_channel(call.kiosk_id), answered.model_dump())
