"""One RTCPeerConnection of a call: offer, answer, the browser's candidates, teardown.

A call may go through several of these (a kiosk restart, a lost answer, later an
ICE failure): each is built from scratch, and its frames add to the call's counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from kiosk_client.media import LocalMedia
from kiosk_client.sink import FrameCounts, consume
from kiosk_client.speaker import Speaker
from yijian.protocol import IceCandidate, IceServer, SessionDescription

logger = logging.getLogger(__name__)


def rtc_configuration(ice_servers: list[IceServer]) -> RTCConfiguration:
    # Always explicit, even empty: left unset, aiortc asks Google's public STUN
    # server, which a closed network never answers, and every offer waits 5 s.
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in ice_servers
        ]
    )


class PeerSession:
    def __init__(
        self,
        call_id: str,
        ice_servers: list[IceServer],
        media: LocalMedia,
        counts: FrameCounts,
        speaker: Speaker | None,
        on_state: Callable[[PeerSession, str], None],
    ) -> None:
        self.call_id = call_id
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._media = media
        self._counts = counts
        self._speaker = speaker
        self._on_state = on_state
        self._receivers: set[asyncio.Task[None]] = set()
        self._early_candidates: list[IceCandidate | None] = []
        self._closed = False
        self.pc.addTrack(media.audio)
        if media.video is not None:
            self.pc.addTrack(media.video)
        else:  # no camera: still see the operator
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    @property
    def state(self) -> str:
        return "closed" if self._closed else self.pc.connectionState

    @property
    def closed(self) -> bool:
        """Closed by this kiosk (``close()``); the far end closing it does not count."""
        return self._closed

    @property
    def awaiting_answer(self) -> bool:
        return not self._closed and self.pc.signalingState == "have-local-offer"

    @property
    def usable(self) -> bool:
        """Worth keeping across a signalling reconnect: media flows, or is on its way."""
        return not self._closed and self.pc.connectionState in ("new", "connecting", "connected")

    async def create_offer(self, timeout_s: float | None = None) -> SessionDescription:
        """The complete offer: aiortc gathers every candidate in setLocalDescription
        and never trickles. TimeoutError past ``timeout_s`` (a STUN or TURN server that
        does not answer holds gathering for seconds)."""
        async with asyncio.timeout(timeout_s):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        return SessionDescription(type="offer", sdp=local.sdp)

    async def accept_answer(self, answer: SessionDescription) -> None:
        if not self.awaiting_answer:
            logger.warning(
                "call %s: ignoring an answer in signalling state %s",
                self.call_id,
                "closed" if self._closed else self.pc.signalingState,
            )
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await self.add_candidate(candidate)

    async def add_candidate(self, candidate: IceCandidate | None) -> None:
        """Add one of the browser's trickled candidates; None ends them."""
        if self._closed:
            return
        if self.pc.remoteDescription is None:
            self._early_candidates.append(candidate)
            return
        if candidate is None or not candidate.candidate:
            await self.pc.addIceCandidate(None)
            return
        try:
            rtc = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
        except (AssertionError, ValueError, IndexError):
            logger.warning("call %s: unreadable candidate %r", self.call_id, candidate.candidate)
            return
        rtc.sdpMid = candidate.sdpMid
        rtc.sdpMLineIndex = candidate.sdpMLineIndex
        if rtc.sdpMid is None and rtc.sdpMLineIndex is None:
            rtc.sdpMLineIndex = 0  # bundled: every m-line shares the first one's transport
        try:
            await self.pc.addIceCandidate(rtc)
        except ValueError as exc:
            logger.warning("call %s: candidate refused: %s", self.call_id, exc)

    async def close(self) -> None:
        """Stop media and the connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.pc.remove_all_listeners()
        await self.pc.close()
        self._media.close()  # the call's subscriptions; its Capture keeps the devices
        for task in self._receivers:
            task.cancel()
        await asyncio.gather(*self._receivers, return_exceptions=True)
        self._receivers.clear()

    def _on_track(self, track: MediaStreamTrack) -> None:
        task = asyncio.create_task(
            consume(track, self._counts, self._speaker, self._media.show_remote),
            name=f"receive-{track.kind}",
        )
        self._receivers.add(task)
        task.add_done_callback(self._receiver_done)

    def _receiver_done(self, task: asyncio.Task[None]) -> None:
        self._receivers.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("call %s: receiving media failed", self.call_id, exc_info=exc)

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.info("call %s: peer connection %s", self.call_id, state)
        if not self._closed:
            self._on_state(self, state)
