"""Calling a kiosk back: the town rings the village.

An operator asks for a callback (from a callback request, or from any past call).
The call is made at once, reserved for that operator (who is busy with it), and the
kiosk rings with a chime and a 镇里回电 screen; it answers by itself after the town's
``auto_answer_s`` unless someone presses to decline. Answered, it is an ordinary
call: the kiosk sends its offer to the operator. The call is linked to the request,
which must be of the kiosk's own town.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from server.accounts.access import of_town, see
from server.accounts.accounts import Operator
from server.accounts.kiosks import Kiosk
from server.clock import now_ms
from server.errors import BadState, Forbidden
from server.queue.lifecycle import CallQueue
from server.queue.records import CallRecord
from server.queue.views import call_view
from server.store import keys
from yijian import protocol as p

# Past auto-answer, how long the hub waits for the kiosk's word before giving up.
ANSWER_MARGIN_S = 15.0


class RequestLinks(Protocol):
    """What call-backs need of request tracking (``server.tracking``, a layer above)."""

    async def town_of(self, request_id: str) -> str | None: ...

    async def link_call(self, request_id: str, call_id: str, by: str) -> object: ...


class CallBacks:
    def __init__(self, queue: CallQueue, requests: RequestLinks) -> None:
        self.queue = queue
        self.requests = requests

    async def start(
        self, operator: Operator, conn_id: str, kiosk_id: str,
        request_id: str | None = None, call_id: str | None = None,
    ) -> CallRecord:  # fmt: skip
        """Ring the kiosk for this operator (whose console ``conn_id`` holds the call)."""
        q = self.queue
        kiosk = await self._kiosk(operator, kiosk_id)
        if not await q.redis.zcount(keys.kiosk_conns(kiosk.id), now_ms(), "+inf"):
            raise BadState(f"kiosk {kiosk.id} is offline; try again later", code="kiosk_offline")
        linked = await self._request(request_id, kiosk.town_id) or await self._request_of(
            call_id, kiosk.town_id
        )
        settings = await q.towns.settings(kiosk.town_id)
        call, created = await q.calls.create(
            kiosk, "cb" + secrets.token_hex(8), kind="callback", operator=operator.username,
            callback_after_s=settings.auto_answer_s + ANSWER_MARGIN_S,
        )  # fmt: skip
        if not created:
            raise BadState(f"kiosk {kiosk.id} is in another call", code="kiosk_busy")
        await q.calls.set_operator_conn(call.id, conn_id)
        if linked:
            await q.redis.hset(keys.call(call.id), "request_id", linked)
            await self.requests.link_call(linked, call.id, by=operator.username)
        town = await q.accounts.town(kiosk.town_id)
        await q.deliver.sync_operator(operator.username)
        await q.deliver.to_kiosk(kiosk.id, p.IncomingCall(
            call_id=call.id, operator=operator.username, town_name=town.name,
            auto_answer_s=settings.auto_answer_s))  # fmt: skip
        return call

    async def _kiosk(self, operator: Operator, kiosk_id: str) -> Kiosk:
        kiosk = await self.queue.accounts.kiosk(kiosk_id)  # kiosk_not_found
        see(operator, kiosk.town_id, "kiosk", kiosk_id)  # the hub's one access rule
        return kiosk

    async def _request(self, request_id: str | None, town_id: str) -> str | None:
        """The request to link, which must be of the kiosk's town (so, by the access
        rule the kiosk passed, one the operator may see): another town's request does
        not exist as far as this operator can tell."""
        if request_id is None:
            return None
        of_town(town_id, await self.requests.town_of(request_id), "request", request_id)
        return request_id

    async def _request_of(self, call_id: str | None, town_id: str) -> str | None:
        if call_id is None:
            return None
        past = await self.queue.calls.get(call_id)
        of_town(town_id, past.town_id, "call", call_id)
        found = await self.queue.redis.hget(keys.call(call_id), "request_id")
        return found or None

    async def kiosk_answers(self, kiosk: Kiosk, call_id: str, accept: bool) -> None:
        q = self.queue
        call = await q.calls.get(call_id)
        if call.kiosk_id != kiosk.id or call.kind != "callback":
            raise Forbidden(f"call {call_id} is not this kiosk's callback", code="not_your_call")
        if call.status != "queued" or not call.operator:
            raise BadState(f"call {call.id} is {call.status}", code="call_ended")
        if not accept:
            await q.end(call, reason="kiosk_declined", by=f"kiosk:{kiosk.id}",
                        if_queued="unanswered")  # fmt: skip
            return
        operator = await q.accounts.operator(call.operator)
        claimed = await q.calls.claim(call.id, operator, call.operator_conn or "")
        await q.deliver.to_console(claimed.operator_conn, p.Answered(call=call_view(claimed)))
        answered = p.CallAnswered(call_id=call.id, operator=operator.username)
        await q.deliver.to_kiosk(call.kiosk_id, answered)
