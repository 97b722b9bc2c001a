"""The kiosk's state machine: one call at a time, driven by one queue of events.

Every event (the hub's messages, the socket coming and going, a press, the peer
connection's state) is handled to the end before the next, so no two handlers ever
race over the call. The call lives on across signalling outages: a queued call is
resumed from the hub's ``welcome``, a connected one keeps its media (it flows peer
to peer) or, when the kiosk lost its peer connection, offers anew under the same id.

Its events are in ``events``. It owns a ``media_control.MediaControl`` (the peer
connection and its rebuilds), an ``outbox.Outbox`` (messages to the hub, sent again
after a passing hub error), a ``rating.RatingWindow`` and a ``status.Announcer``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from kiosk_client.call import Call, Phase
from kiosk_client.connection import Inbound, Offline, Online
from kiosk_client.events import AutoAnswer, Event, PeerState, Press, Rebuild, Resend, StopRequested
from kiosk_client.media import MediaSource
from kiosk_client.media_control import MediaControl
from kiosk_client.messages import HubMessage
from kiosk_client.outbox import Outbox
from kiosk_client.rating import RatingWindow
from kiosk_client.status import Announcer, Status
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

logger = logging.getLogger(__name__)

# A call the hub will never make or keep (too_many_calls: the kiosk's press limit).
CALL_GONE_CODES = frozenset({"call_ended", "call_not_found", "too_many_calls"})


class Controller:
    def __init__(
        self,
        send: Callable[[BaseModel], Awaitable[bool]],
        post: Callable[[Event], None],
        publish: Callable[[Status], None],
        media: MediaSource,
        speaker_device: str | None,
        rating_window_s: float = 15.0,
    ) -> None:
        self._post = post
        self._publish_to = publish  # as is; the call's states go through the announcer
        self._announcer = Announcer(publish)
        self._outbox = Outbox(send, post)
        self._media = MediaControl(send, post, media, speaker_device)
        self._rating = RatingWindow(rating_window_s)
        self.online = False
        self.stopping = False
        self.call: Call | None = None
        self.no_call = asyncio.Event()
        self.no_call.set()

    async def handle(self, event: Event) -> None:
        match event:
            case Online(welcome=welcome):
                await self._on_welcome(welcome)
            case Inbound(message=message):
                await self._on_message(message)
            case Offline(reason=reason):
                logger.info("offline: %s", reason)
                self.online = False
                self._publish()
            case Press(text=text):
                await self._on_press(text)
            case StopRequested():
                self.stopping = True
                if self.call is not None:
                    await self._hang_up(self.call)
            case PeerState(peer=peer, state=state):
                if await self._media.on_peer_state(self.call, peer, state):
                    self._publish()
            case AutoAnswer(call_id=call_id):
                call = self.call
                if call is not None and call.id == call_id and call.phase is Phase.INCOMING:
                    logger.info("call %s: answering the town's callback", call_id)
                    call.phase = Phase.ANSWERED
                    await self._outbox.answer_callback(call_id, accept=True)
            case Resend(ref=ref):
                # Offline, the welcome after the reconnect sends it again instead.
                if self.call is not None and self.online:
                    await self._outbox.resend(self.call, ref)
            case Rebuild(peer=peer):
                await self._media.on_rebuild(self.call, peer)
            case _:
                logger.warning("unhandled kiosk event %r", event)

    async def close(self) -> None:
        """Release the call's media without telling anyone. Safe to call twice."""
        if self.call is not None:
            await self.call.release()

    # --- the hub -------------------------------------------------------------------

    async def _on_welcome(self, welcome: KioskWelcome) -> None:
        self.online = True
        self._media.ice_servers = list(welcome.ice_servers)
        live, call = welcome.call, self.call
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
        elif live.status == "connected":
            await self._media.ensure(call, offer_lost=True)
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
                    await call.stop_media()
                call.id, call.phase, call.position = call_id, Phase.QUEUED, position
                call.estimated_wait_s = wait
                if call.hanging_up:
                    await self._hang_up(call)
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
                call.id = call_id
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

    # --- the villager ---------------------------------------------------------------

    async def _on_press(self, text: str = "") -> None:
        if self.stopping:
            return
        rated = self._rating.take(text)  # any press closes the rating window
        if rated is not None and self.call is None:
            logger.info("call %s rated %s", *rated)
            await self._outbox.rate(*rated)
            return
        call = self.call
        if call is None:
            call = self._new_call(key=uuid.uuid4().hex)
            logger.info("button pressed: calling the town")
            self._publish()  # "calling" at once, before the hub answers
            await self._outbox.request(call)
        elif call.phase is Phase.INCOMING and call.id is not None:
            logger.info("button pressed: declining the town's callback")
            if call.auto_answer is not None:
                call.auto_answer.cancel()
            call.hanging_up = True
            await self._outbox.answer_callback(call.id, accept=False)
        elif call.hanging_up or (call.phase is Phase.REQUESTING and call.id is None):
            # mashing: the press before is still on its way; one ticket, one hang-up
            logger.info("button pressed again while the last press is in flight: ignored")
        else:
            logger.info("button pressed: hanging up")
            await self._hang_up(call)

    async def _hang_up(self, call: Call) -> None:
        call.hanging_up = True
        await call.stop_media()  # stop sending at once; the hub's call_ended follows
        if call.id is not None:  # else: sent when call_queued names the call
            await self._outbox.hang_up(call.id)

    # --- the call's life ---------------------------------------------------------------

    def _new_call(self, key: str | None) -> Call:
        self.call = Call(key=key)
        self.no_call.clear()
        return self.call

    async def _finish(self, call: Call, *, reason: str, call_status: str | None) -> None:
        await call.release()
        logger.info("call %s ended (%s); frames received: %s", call.id, reason, call.counts)
        if call.id is not None and call_status in ("completed", "failed"):
            self._rating.open(call.id)  # 满意/不满意 now rates it (idle all the same)
        self._announcer.say(call.ended(reason, call_status))
        self._drop(call)

    def _drop(self, call: Call) -> None:
        if self.call is call:
            self.call = None
            self.no_call.set()
        self._publish()

    def _publish(self) -> None:
        call = self.call
        if not self.online:
            self._announcer.say(call.offline() if call else Status("offline"))
        elif call is None:
            self._announcer.say(Status("idle"))
        elif (status := call.status()) is not None:
            self._announcer.say(status)
