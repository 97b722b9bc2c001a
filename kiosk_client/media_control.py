"""The media side of a call: its peer connection offered, answered and rebuilt.

``MediaControl`` belongs to the controller and runs only from its event handlers,
so it too sees one event at a time. It offers a fresh peer connection when the
call needs one, hands the operator's answer to it, and when the connection fails
rebuilds it under the same call id: at once the first time, then with a
jittered, growing pause (a ``Rebuild`` event posted to the queue).
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


class MediaControl:
    def __init__(
        self,
        send: Callable[[BaseModel], Awaitable[bool]],
        post: Callable[[PeerState | Rebuild], None],
        source: MediaSource,
        speaker_device: str | None,
    ) -> None:
        self._send = send
        self._post = post
        self._source = source
        self._speaker_device = speaker_device  # None: headless, nothing is played
        self.ice_servers: list[IceServer] = []  # the hub's, from its latest welcome

    async def ensure(self, call: Call, *, offer_lost: bool, force: bool = False) -> None:
        """Offer a fresh peer connection unless (``force`` aside) the current one serves."""
        if not force and call.media_serves(offer_lost=offer_lost):
            return
        assert call.id is not None
        if call.peer is not None:
            logger.info("call %s: replacing the peer connection", call.id)
        call.phase = Phase.ANSWERED
        try:
            local = self._source.open()
        except MediaUnavailable as exc:
            logger.error("call %s: %s", call.id, exc)
            return await self._report(call, "failed")
        offer = await call.new_peer(
            self.ice_servers, local, self._speaker_device,
            lambda peer, state: self._post(PeerState(peer, state)),
        )  # fmt: skip
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

    async def _report(self, call: Call, state: Literal["connected", "failed"]) -> None:
        assert call.id is not None
        await self._send(MediaState(type="media_state", call_id=call.id, state=state, ref=call.id))
