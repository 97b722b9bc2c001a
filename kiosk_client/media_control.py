"""The media side of a call: its devices opened, its offer prepared, answered and
rebuilt.

``MediaControl`` belongs to the controller and runs only from its event handlers,
so it too sees one event at a time. The camera and microphone open at the press
(``open_soon``); while the call waits in the queue a peer connection is built and
its offer gathered (``prepare_soon``), so the operator's answer starts media at
once (``ensure``). When the connection fails it is rebuilt under the same call id on
the same devices: at once the first time, then with a jittered, growing pause (a
``Rebuild`` event posted to the queue).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Literal

from aiortc.exceptions import InvalidAccessError, InvalidStateError
from pydantic import BaseModel

from kiosk_client.call import Call, Phase
from kiosk_client.capture import Capture, VideoCaps
from kiosk_client.events import PeerState, Rebuild
from kiosk_client.media import MediaSource, MediaUnavailable
from kiosk_client.peer import PeerSession
from yijian.protocol import IceServer, MediaState, Sdp, SessionDescription

# The state machine's logger: the kiosk's log reads as it did before media had a
# module of its own.
logger = logging.getLogger("kiosk_client.controller")

# A peer connection that fails again and again (the path is blocked) is rebuilt at
# once the first time, then after a jittered pause that doubles up to the maximum.
REBUILD_FIRST_S, REBUILD_MAX_S = 0.5, 8.0

Made = tuple[PeerSession, SessionDescription]


class MediaControl:
    def __init__(
        self,
        send: Callable[[BaseModel], Awaitable[bool]],
        post: Callable[[PeerState | Rebuild], None],
        source: MediaSource,
        speaker_device: str | None,
        caps: VideoCaps | None = None,
        gather_timeout_s: float = 8.0,
        before_open: Callable[[], Awaitable[None]] | None = None,
        prepare_offer: bool = True,
    ) -> None:
        self._send = send
        # Frees the devices before a call opens them (a running self-test stops).
        self._before_open = before_open
        self._post = post
        self._source = source
        self._speaker_device = speaker_device  # None: headless, nothing is played
        self._caps = caps
        self._gather_timeout_s = gather_timeout_s
        # Off, the offer is made only once an operator answers (as before the kiosk
        # gathered ahead): the bench measures what gathering ahead saves.
        self._prepare_offer = prepare_offer
        self.ice_servers: list[IceServer] = []  # the hub's, from its latest welcome

    def open_soon(self, call: Call) -> None:
        """The villager chose to call: the camera and microphone open now, in a thread,
        while the request goes to the hub."""
        if call.capture is None:
            call.capture = Capture(self._source, self._caps)
        if call.opening is None:
            call.opening = asyncio.create_task(self._open(call.capture), name="capture-open")

    def prepare_soon(self, call: Call) -> None:
        """Queued: build the peer connection and gather its offer while the villager waits
        (unless ``prepare_offer`` is off: then only the devices open)."""
        if call.prepared is None and call.peer is None and not call.hanging_up:
            self.open_soon(call)
            if not self._prepare_offer:
                return
            call.prepared = asyncio.create_task(self._prepare(call), name="offer-prepare")

    async def ensure(self, call: Call, *, offer_lost: bool, force: bool = False) -> None:
        """Offer a peer connection unless (``force`` aside) the current one serves: the
        one prepared while queued if there is one, else a fresh one."""
        if not force and call.media_serves(offer_lost=offer_lost):
            return
        assert call.id is not None
        call.phase = Phase.ANSWERED
        prepared = None if force else call.prepared
        if prepared is not None:
            call.prepared = None
        try:
            made = await prepared if prepared is not None else None
            if made is None:
                if call.peer is not None:
                    logger.info("call %s: replacing the peer connection", call.id)
                await call.close_peer()
                made = await self._prepare(call)
        except MediaUnavailable as exc:
            logger.error("call %s: %s", call.id, exc)
            return await self._report(call, "failed")
        call.peer, offer = made
        # If the socket is down this is lost; the next welcome makes a new offer.
        await self._send(Sdp(type="sdp", call_id=call.id, description=offer, ref=call.id))

    async def accept_answer(
        self, call: Call, peer: PeerSession, answer: SessionDescription
    ) -> None:
        try:
            await peer.accept_answer(answer)
        except (ValueError, InvalidStateError, InvalidAccessError) as exc:
            logger.error("call %s: the operator's answer was refused: %s", call.id, exc)
            await self._report(call, "failed")

    async def on_peer_state(self, call: Call | None, peer: PeerSession, state: str) -> bool:
        """Follow the call's peer connection; True when media has just connected."""
        if call is None or call.peer is not peer or peer.closed or call.hanging_up:
            return False  # a connection already replaced or being torn down
        if state == "connected":
            call.phase = Phase.CONNECTED
            call.rebuilds = 0
            await self._report(call, "connected")
            return True
        if state in ("failed", "closed"):
            # "failed": ICE lost the path (aioice gives up after ~30 s of failed consent
            # checks). "closed": the far end closed its side (the browser's DTLS
            # close_notify) and aiortc closed ours; our own close() is never heard here.
            # aiortc has no ICE restart: recover with a new connection and a fresh offer
            # under the same call. The hub ends the call if media stays down for the
            # town's media_grace_s.
            call.phase = Phase.ANSWERED
            await self._report(call, "failed")
            await self.rebuild_soon(call, "media failed")
        return False

    async def on_rebuild(self, call: Call | None, peer: PeerSession) -> None:
        """A rebuild's pause is over: offer anew, unless the call moved on meanwhile."""
        if call is not None and call.peer is peer and not call.hanging_up:
            logger.info("call %s: offering a new connection", call.id)
            await self.ensure(call, offer_lost=True, force=True)

    async def rebuild_soon(self, call: Call, why: str) -> None:
        """A new peer connection and offer: at once the first time, then after a
        jittered pause doubling with each failure in a row (a blocked path, or a far
        side that keeps failing, must not make the two sides spin)."""
        assert call.peer is not None
        call.rebuilds += 1
        if call.rebuilds == 1:
            logger.info("call %s: %s; offering a new connection", call.id, why)
            return await self.ensure(call, offer_lost=True, force=True)
        pause = min(REBUILD_MAX_S, REBUILD_FIRST_S * 2 ** (call.rebuilds - 2))
        pause *= random.uniform(0.5, 1.0)
        logger.info("call %s: %s again; a new connection in %.1f s", call.id, why, pause)
        asyncio.get_running_loop().call_later(pause, self._post, Rebuild(call.peer))

    async def _open(self, capture: Capture) -> None:
        try:
            if self._before_open is not None:
                await self._before_open()
            await capture.open()
        except MediaUnavailable as exc:  # said again, and reported, when the call needs it
            logger.error("the camera and microphone did not open: %s", exc)

    async def _prepare(self, call: Call) -> Made:
        """Open the devices (again only if one ended, the old ones closed first), then
        a peer connection and its complete offer. Past ``gather_timeout_s`` the hub's
        STUN/TURN servers are not answering: offer host candidates only."""
        if call.capture is None:
            call.capture = Capture(self._source, self._caps)
        if self._before_open is not None:
            await self._before_open()
        await call.capture.open()

        def on_state(peer: PeerSession, state: str) -> None:
            self._post(PeerState(peer, state))

        peer = call.new_peer(self.ice_servers, self._speaker_device, on_state)
        started = asyncio.get_running_loop().time()
        try:
            offer = await peer.create_offer(self._gather_timeout_s)
            took = (asyncio.get_running_loop().time() - started) * 1000
            logger.info("call %s: offer gathered in %.0f ms", call.id, took)
            return peer, offer
        except TimeoutError:
            logger.warning(
                "call %s: ICE gathering took over %.1f s (the STUN/TURN servers do not "
                "answer); offering host candidates only", call.id, self._gather_timeout_s,
            )  # fmt: skip
        except BaseException:
            await peer.close()
            raise
        await peer.close()
        peer = call.new_peer([], self._speaker_device, on_state)
        try:
            return peer, await peer.create_offer()
        except BaseException:
            await peer.close()
            raise

    async def _report(self, call: Call, state: Literal["connected", "failed"]) -> None:
        assert call.id is not None
        await self._send(MediaState(type="media_state", call_id=call.id, state=state, ref=call.id))
