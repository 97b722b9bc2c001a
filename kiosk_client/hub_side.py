"""The hub's half of the kiosk's state machine: its welcome and its messages.

The call lives on across signalling outages: a queued call is resumed from the
hub's ``welcome``, a connected one keeps its media (it flows peer to peer) or, when
the kiosk lost its peer connection, offers anew under the same id.
"""

from __future__ import annotations

import asyncio
import logging

from kiosk_client.call import Phase
from kiosk_client.events import AutoAnswer
from kiosk_client.machine import CallMachine
from kiosk_client.messages import HubMessage
from kiosk_client.status import Status
from yijian.protocol import (
    CallAnswered,
    CallEnded,
    CallQueued,
    ErrorMsg,
    Ice,
    IncomingCall,
    KioskWelcome,
    OperatorBack,
    OperatorLost,
    Pong,
    QueuePosition,
    Rated,
    RestartMedia,
    Sdp,
)

logger = logging.getLogger("kiosk_client.controller")

# A call the hub will never make or keep (too_many_calls: the kiosk's press limit).
CALL_GONE_CODES = frozenset({"call_ended", "call_not_found", "too_many_calls"})


class HubSide(CallMachine):
    async def _on_welcome(self, welcome: KioskWelcome) -> None:
        self.online, self.revoked, self.hours = True, False, welcome.hours
        self._media.ice_servers = list(welcome.ice_servers)
        live, call = welcome.call, self.call
        if call is not None and call.kept is not None:
            call.kept.cancel()  # the link is back in time; the press goes out now
            call.kept = None
        if call is not None and call.id is not None and (live is None or live.id != call.id):
            logger.info("call %s ended while the kiosk was offline", call.id)
            await self._finish(call, reason="ended_while_offline", call_status=None)
            call = None
        if call is None and live is not None:
            logger.info("resuming call %s (%s)", live.id, live.status)
            call = self._new_call(key=None)
            call.id = live.id
        if call is None:
            return self._publish()
        if call.id is None:  # pressed, but never heard back
            if live is not None:
                call.id = live.id
            elif call.hanging_up:
                return self._drop(call)
            else:
                await self._outbox.request(call)
                return self._publish()
        assert live is not None
        if call.hanging_up:
            await self._hang_up(call)
        elif live.status == "queued":
            call.phase, call.position = Phase.QUEUED, live.position
            self._media.prepare_soon(call)
        elif live.status == "connected":
            await self._media.ensure(call, offer_lost=True)
        self._publish()

    def _on_offline(self, reason: str, revoked: bool = False) -> None:
        logger.info("offline: %s", reason)
        self.online, self.revoked = False, revoked
        call = self.call
        if call is not None and call.id is None and not call.hanging_up:
            self._keep(call)  # pressed, but the hub may never have heard it
        self._publish()

    async def _on_message(self, message: HubMessage) -> None:
        call = self.call
        match message:
            case CallQueued(call_id=call_id, position=position, ref=ref, estimated_wait_s=wait):
                if call is None or not call.is_reply(call_id, ref):
                    logger.warning("ignoring call_queued for call %s", call_id)
                    return
                if call.peer is not None:  # back in the queue: the operator was lost
                    logger.info("call %s is back in the queue", call_id)
                    await call.close_peer()  # the camera stays on: they still wait
                    call.peer = None
                call.id, call.phase, call.position = call_id, Phase.QUEUED, position
                call.estimated_wait_s, call.operator_lost = wait, False
                if call.hanging_up:
                    await self._hang_up(call)
                else:
                    self._media.prepare_soon(call)
                self._publish()
            case QueuePosition(call_id=call_id, position=position, estimated_wait_s=wait):
                if call is not None and call.id == call_id and call.phase is Phase.QUEUED:
                    call.position, call.estimated_wait_s = position, wait
                    self._publish()
            case IncomingCall(call_id=call_id, auto_answer_s=delay):
                if call is not None:  # busy with a call of its own
                    await self._outbox.answer_callback(call_id, accept=False)
                    return
                call = self._new_call(key=None)
                call.id, call.phase = call_id, Phase.INCOMING
                loop = asyncio.get_running_loop()
                call.auto_answer = loop.call_later(delay, self._post, AutoAnswer(call_id))
                logger.info("the town calls back (call %s); answering in %.0f s", call_id, delay)
                self._publish()
            case CallAnswered(call_id=call_id, operator=operator):
                if call is None or not call.is_reply(call_id, None):
                    logger.warning("ignoring call_answered for call %s", call_id)
                    return
                call.id, call.operator_lost = call_id, False
                logger.info("call %s answered by %s", call_id, operator)
                if call.hanging_up:
                    await self._hang_up(call)
                else:
                    await self._media.ensure(call, offer_lost=False)
            case Sdp(call_id=call_id, description=description):
                if call is None or call.id != call_id or call.peer is None:
                    logger.warning("ignoring an sdp %s for call %s", description.type, call_id)
                elif description.type != "answer":
                    logger.warning("call %s: expected an answer, got an offer", call_id)
                else:
                    await self._media.accept_answer(call, call.peer, description)
            case Ice(call_id=call_id, candidate=candidate):
                if call is not None and call.id == call_id and call.peer is not None:
                    await call.peer.add_candidate(candidate)
            case CallEnded(call_id=call_id, status=status, reason=reason):
                if call is not None and call.id == call_id:
                    await self._finish(call, reason=reason, call_status=status)
                else:
                    logger.info("call %s ended (%s), not ours any more", call_id, reason)
            case OperatorLost(call_id=call_id, grace_s=grace_s):
                if call is not None and call.id == call_id:
                    logger.info("call %s: the operator dropped; waiting %.0f s", call_id, grace_s)
                    call.operator_lost = True
                    self._publish()
            case OperatorBack(call_id=call_id):
                if call is not None and call.id == call_id and call.operator_lost:
                    logger.info("call %s: the operator is back", call_id)
                    call.operator_lost = False
                    self._publish()
            case RestartMedia(call_id=call_id):
                if call is not None and call.id == call_id and call.peer is not None:
                    call.operator_lost = False
                    await self._media.rebuild_soon(call, "the operator's side has no connection")
                    self._publish()
            case ErrorMsg(code=code, message=text, ref=ref):
                logger.warning("hub error %s: %s (ref %s)", code, text, ref)
                if call is not None:
                    self._outbox.resend_later(call, code, ref)
                if call is not None and code in CALL_GONE_CODES and ref in (call.key, call.id):
                    if call.id is None:
                        await call.release()
                        self._drop(call)
                    else:
                        await self._finish(call, reason=code, call_status=None)
            case Rated(call_id=call_id, value=value):
                if self.online and self.call is None:
                    self._publish_to(
                        Status("idle", extra={"rated": value, "rated_call_id": call_id})
                    )
            case Pong():
                pass
            case _:
                logger.warning("unhandled message type %r from the hub", message.type)
