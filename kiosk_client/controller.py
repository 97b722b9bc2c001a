"""The kiosk's state machine: one call at a time, driven by one queue of events.

Every event (the hub's messages, the socket coming and going, a press, the peer
connection's state) is handled to the end before the next, so no two handlers
ever race over the call. The call lives on across signalling outages: a queued
call is resumed from the hub's ``welcome``, a connected one keeps its media (it
flows peer to peer) or, when the kiosk lost its peer connection, offers anew
under the same call id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiortc.exceptions import InvalidAccessError, InvalidStateError
from pydantic import BaseModel

from kiosk_client.call import Call, Phase
from kiosk_client.connection import ConnectionEvent, Inbound, Offline, Online
from kiosk_client.media import MediaSource, MediaUnavailable
from kiosk_client.messages import HubMessage
from kiosk_client.peer import PeerSession
from kiosk_client.status import Status
from yijian.protocol import (
    CallAnswered,
    CallbackAnswer,
    CallEnded,
    CallQueued,
    CallRequest,
    ErrorMsg,
    Hangup,
    Ice,
    IceServer,
    IncomingCall,
    KioskWelcome,
    MediaState,
    OperatorBack,
    OperatorLost,
    Pong,
    QueuePosition,
    Rated,
    Rating,
    RestartMedia,
    Sdp,
    SessionDescription,
)

logger = logging.getLogger(__name__)

CALL_GONE_CODES = frozenset({"call_ended", "call_not_found"})
# The hub could not handle the message just now (its Redis restarting, a defect):
# a call request or hang-up is sent again after a jittered, growing pause.
RESEND_CODES = frozenset({"unavailable", "internal"})
RESEND_FIRST_S, RESEND_MAX_S = 1.0, 16.0
# A peer connection that fails again and again (the path is blocked) is rebuilt at
# once the first time, then after a jittered pause that doubles up to the maximum.
REBUILD_FIRST_S, REBUILD_MAX_S = 0.5, 8.0
# What a villager may say (a stdin line) to rate the call just ended.
RATINGS: dict[str, Literal["satisfied", "unsatisfied"]] = {
    "满意": "satisfied", "satisfied": "satisfied",
    "不满意": "unsatisfied", "unsatisfied": "unsatisfied",
}  # fmt: skip


@dataclass(frozen=True)
class Press:
    text: str = ""  # the stdin line; 满意/不满意 rate the call just ended


@dataclass(frozen=True)
class StopRequested:
    pass


@dataclass(frozen=True)
class AutoAnswer:
    call_id: str


@dataclass(frozen=True)
class Resend:
    ref: str  # the call request's key, or the call id of a hang-up


@dataclass(frozen=True)
class Rebuild:
    peer: PeerSession  # the failed connection; nothing is done if it was replaced since


@dataclass(frozen=True)
class PeerState:
    peer: PeerSession
    state: str


Event = ConnectionEvent | Press | StopRequested | PeerState | AutoAnswer | Resend | Rebuild


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
        self._send = send
        self._post = post
        self._publish_to = publish
        self._media = media
        self._speaker_device = speaker_device  # None: headless, nothing is played
        self._rating_window_s = rating_window_s
        self._rateable: tuple[str, float] | None = None  # (call id, until loop time)
        self._ice_servers: list[IceServer] = []
        self._last: tuple[str, str | None, int | None, str | None, bool | None] | None = None
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
                await self._on_peer_state(peer, state)
            case AutoAnswer(call_id=call_id):
                call = self.call
                if call is not None and call.id == call_id and call.phase is Phase.INCOMING:
                    logger.info("call %s: answering the town's callback", call_id)
                    call.phase = Phase.ANSWERED
                    await self._send(CallbackAnswer(type="callback_answer", call_id=call_id,
                                                    accept=True, ref=call_id))  # fmt: skip
            case Resend(ref=ref):
                await self._resend(ref)
            case Rebuild(peer=peer):
                call = self.call
                if call is not None and call.peer is peer and not call.hanging_up:
                    logger.info("call %s: offering a new connection", call.id)
                    await self._ensure_media(call, offer_lost=True, force=True)
            case _:
                logger.warning("unhandled kiosk event %r", event)

    async def close(self) -> None:
        """Release the call's media without telling anyone. Safe to call twice."""
        if self.call is not None:
            await self.call.release()

    # --- the hub -------------------------------------------------------------------

    async def _on_welcome(self, welcome: KioskWelcome) -> None:
        self.online = True
        self._ice_servers = list(welcome.ice_servers)
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
                await self._request(call)
                return self._publish()
        assert live is not None
        if call.hanging_up:
            await self._hang_up(call)
        elif live.status == "queued":
            call.phase, call.position = Phase.QUEUED, live.position
        elif live.status == "connected":
            await self._ensure_media(call, offer_lost=True)
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
                    await self._send(CallbackAnswer(type="callback_answer", call_id=call_id,
                                                    accept=False, ref=call_id))  # fmt: skip
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
                    await self._ensure_media(call, offer_lost=False)
            case Sdp(call_id=call_id, description=description):
                if call is None or call.id != call_id or call.peer is None:
                    logger.warning("ignoring an sdp %s for call %s", description.type, call_id)
                elif description.type != "answer":
                    logger.warning("call %s: expected an answer, got an offer", call_id)
                else:
                    await self._accept_answer(call, call.peer, description)
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
                    logger.info("call %s: the operator's console dropped; waiting up to "
                                "%.0f s for them", call_id, grace_s)  # fmt: skip
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
                    await self._rebuild_soon(call, "the operator's side has no connection")
                    self._publish()
            case ErrorMsg(code=code, message=text, ref=ref):
                logger.warning("hub error %s: %s (ref %s)", code, text, ref)
                if call is not None and code in RESEND_CODES and ref in (call.key, call.id):
                    assert ref is not None
                    call.resends += 1
                    pause = min(RESEND_MAX_S, RESEND_FIRST_S * 2 ** (call.resends - 1))
                    pause *= random.uniform(0.5, 1.0)
                    asyncio.get_running_loop().call_later(pause, self._post, Resend(ref))
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
        value = RATINGS.get(text.strip().lower())
        rateable, self._rateable = self._rateable, None
        now = asyncio.get_running_loop().time()
        if value and self.call is None and rateable is not None and now < rateable[1]:
            logger.info("call %s rated %s", rateable[0], value)
            await self._send(
                Rating(type="rating", call_id=rateable[0], value=value, ref=rateable[0])
            )
            return
        call = self.call
        if call is None:
            call = self._new_call(key=uuid.uuid4().hex)
            logger.info("button pressed: calling the town")
            await self._request(call)
        elif call.phase is Phase.INCOMING and call.id is not None:
            logger.info("button pressed: declining the town's callback")
            if call.auto_answer is not None:
                call.auto_answer.cancel()
            call.hanging_up = True
            await self._send(CallbackAnswer(type="callback_answer", call_id=call.id,
                                            accept=False, ref=call.id))  # fmt: skip
        elif call.hanging_up or (call.phase is Phase.REQUESTING and call.id is None):
            # mashing: the press before is still on its way; one ticket, one hang-up
            logger.info("button pressed again while the last press is in flight: ignored")
        else:
            logger.info("button pressed: hanging up")
            await self._hang_up(call)

    async def _request(self, call: Call) -> None:
        assert call.key is not None
        # Resent with the same key after a reconnect: the hub answers with the same call.
        await self._send(CallRequest(type="call_request", idempotency_key=call.key, ref=call.key))

    async def _resend(self, ref: str) -> None:
        """Send again what the hub could not handle, if it still matters. Offline, the
        welcome after the reconnect does it instead."""
        call = self.call
        if call is None or not self.online:
            return
        if call.id is None and ref == call.key:
            logger.info("sending the call request again")
            await self._request(call)
        elif call.hanging_up and ref == call.id:
            logger.info("call %s: sending the hang-up again", call.id)
            await self._send(Hangup(type="hangup", call_id=call.id, ref=call.id))

    async def _hang_up(self, call: Call) -> None:
        call.hanging_up = True
        await call.stop_media()  # stop sending at once; the hub's call_ended follows
        if call.id is not None:  # else: sent when call_queued names the call
            await self._send(Hangup(type="hangup", call_id=call.id, ref=call.id))

    # --- media ----------------------------------------------------------------------

    async def _ensure_media(self, call: Call, *, offer_lost: bool, force: bool = False) -> None:
        """Offer a fresh peer connection unless (``force`` aside) the current one serves."""
        if not force and call.media_serves(offer_lost=offer_lost):
            return
        assert call.id is not None
        if call.peer is not None:
            logger.info("call %s: replacing the peer connection", call.id)
        call.phase = Phase.ANSWERED
        try:
            local = self._media.open()
        except MediaUnavailable as exc:
            logger.error("call %s: %s", call.id, exc)
            return await self._report_media(call, "failed")
        offer = await call.new_peer(
            self._ice_servers, local, self._speaker_device,
            lambda peer, state: self._post(PeerState(peer, state)),
        )  # fmt: skip
        # If the socket is down this is lost; the next welcome makes a new offer.
        await self._send(Sdp(type="sdp", call_id=call.id, description=offer, ref=call.id))

    async def _accept_answer(
        self, call: Call, peer: PeerSession, answer: SessionDescription
    ) -> None:
        try:
            await peer.accept_answer(answer)
        except (ValueError, InvalidStateError, InvalidAccessError) as exc:
            logger.error("call %s: the operator's answer was refused: %s", call.id, exc)
            await self._report_media(call, "failed")

    async def _on_peer_state(self, peer: PeerSession, state: str) -> None:
        call = self.call
        if call is None or call.peer is not peer or peer.closed or call.hanging_up:
            return  # a connection already replaced or being torn down
        if state == "connected":
            call.phase = Phase.CONNECTED
            call.rebuilds = 0
            await self._report_media(call, "connected")
            self._publish()
        elif state in ("failed", "closed"):
            # "failed": ICE lost the path (aioice gives up after ~30 s of failed consent
            # checks). "closed": the far end closed its side (the browser's DTLS
            # close_notify) and aiortc closed ours; our own close() is never heard here.
            # aiortc has no ICE restart: recover with a new connection and a fresh offer
            # under the same call. The hub ends the call if media stays down for the
            # town's media_grace_s.
            call.phase = Phase.ANSWERED
            await self._report_media(call, "failed")
            await self._rebuild_soon(call, "media failed")

    async def _rebuild_soon(self, call: Call, why: str) -> None:
        """A new peer connection and offer: at once the first time, then after a
        jittered pause doubling with each failure in a row (a blocked path, or a far
        side that keeps failing, must not make the two sides spin)."""
        assert call.peer is not None
        call.rebuilds += 1
        if call.rebuilds == 1:
            logger.info("call %s: %s; offering a new connection", call.id, why)
            return await self._ensure_media(call, offer_lost=True, force=True)
        pause = min(REBUILD_MAX_S, REBUILD_FIRST_S * 2 ** (call.rebuilds - 2))
        pause *= random.uniform(0.5, 1.0)
        logger.info("call %s: %s again; a new connection in %.1f s", call.id, why, pause)
        asyncio.get_running_loop().call_later(pause, self._post, Rebuild(call.peer))

    async def _report_media(self, call: Call, state: Literal["connected", "failed"]) -> None:
        assert call.id is not None
        await self._send(MediaState(type="media_state", call_id=call.id, state=state, ref=call.id))

    # --- the call's life ---------------------------------------------------------------

    def _new_call(self, key: str | None) -> Call:
        self.call = Call(key=key)
        self.no_call.clear()
        return self.call

    async def _finish(self, call: Call, *, reason: str, call_status: str | None) -> None:
        await call.release()
        logger.info("call %s ended (%s); frames received: %s", call.id, reason, call.counts)
        if call.id is not None and call_status in ("completed", "failed"):
            until = asyncio.get_running_loop().time() + self._rating_window_s
            self._rateable = (call.id, until)  # 满意/不满意 now rates it (idle all the same)
        self._emit(call.ended(reason, call_status))
        self._drop(call)

    def _drop(self, call: Call) -> None:
        if self.call is call:
            self.call = None
            self.no_call.set()
        self._publish()

    def _publish(self) -> None:
        call = self.call
        if not self.online:
            self._emit(Status("offline", call.id if call else None))
        elif call is None:
            self._emit(Status("idle"))
        elif (status := call.status()) is not None:
            self._emit(status)

    def _emit(self, status: Status) -> None:
        """Say a state when it differs from the last thing said (``ended`` always)."""
        extra = status.extra
        key = (status.state, status.call_id, status.position, extra.get("incoming_call"),
               extra.get("operator_lost"))  # fmt: skip
        if key != self._last or status.state == "ended":
            self._last = key
            self._publish_to(status)
