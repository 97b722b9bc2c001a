"""One call as the kiosk knows it: its phase, its frame counts and its media."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kiosk_client.capture import Capture
from kiosk_client.peer import PeerSession
from kiosk_client.sink import FrameCounts
from kiosk_client.speaker import Speaker
from kiosk_client.status import Status
from yijian.protocol import IceServer, SessionDescription


class Phase(Enum):
    INCOMING = "incoming"  # the town calls back: chime, 镇里回电, answer by itself
    REQUESTING = "requesting"  # call_request sent, no call_queued yet
    QUEUED = "queued"
    ANSWERED = "answered"  # an operator took it; media is being set up
    CONNECTED = "connected"  # media flows


@dataclass
class Call:
    key: str | None  # the press's idempotency key; None for a call resumed from welcome
    id: str | None = None
    phase: Phase = Phase.REQUESTING
    position: int | None = None
    estimated_wait_s: int | None = None
    auto_answer: asyncio.TimerHandle | None = None  # an incoming callback's own answer
    hanging_up: bool = False
    resends: int = 0  # messages the hub could not handle just now and that we sent again
    rebuilds: int = 0  # peer connections failed in a row since media last connected
    operator_lost: bool = False  # the operator's console dropped; they may come back
    counts: FrameCounts = field(default_factory=FrameCounts)
    capture: Capture | None = None  # camera and microphone, from the press to the end
    opening: asyncio.Task[None] | None = None  # the capture opening, from the press
    # While queued: the peer connection and its gathered offer, ready for the answer.
    prepared: asyncio.Task[tuple[PeerSession, SessionDescription]] | None = None
    peer: PeerSession | None = None
    speaker: Speaker | None = None
    kept: asyncio.TimerHandle | None = None  # a press kept while offline, until it expires

    def is_reply(self, call_id: str, ref: str | None) -> bool:
        """Is a message about this call: the one we know, or the one we asked for?"""
        if self.id is not None:
            return self.id == call_id
        return ref is None or ref == self.key

    def status(self) -> Status | None:
        """What the kiosk shows while online; None while media is still being set up."""
        match self.phase:
            case Phase.INCOMING:
                # the five states stay as they are: a ringing callback shows as idle
                return Status("idle", None, extra={"incoming_call": self.id})
            case Phase.REQUESTING:  # pressed; the screen says so before the hub answers
                return Status("idle", view="calling")
            case Phase.QUEUED:
                wait = {"estimated_wait_s": self.estimated_wait_s}
                return Status("queued", self.id, self.position, extra=wait)
            case Phase.CONNECTED:
                lost = {"operator_lost": True} if self.operator_lost else {}
                return Status("connected", self.id, extra=lost)
            case Phase.ANSWERED:
                return None

    def offline(self) -> Status:
        """What the kiosk shows while the hub is unreachable during this call: media
        that flows peer to peer keeps the call's screen (only signalling is down)."""
        pressed = self.phase is Phase.REQUESTING and not self.hanging_up
        talking = self.phase is Phase.CONNECTED and self.peer is not None and not self.hanging_up
        view = "calling" if pressed else "in_call" if talking else None
        return Status("offline", self.id, view=view)

    def media_serves(self, *, offer_lost: bool) -> bool:
        """Keep the peer connection we have? Not when it failed, nor (``offer_lost``,
        after a reconnect) when its offer is still unanswered: that went with the socket."""
        peer = self.peer
        return peer is not None and peer.usable and not (offer_lost and peer.awaiting_answer)

    def new_peer(
        self,
        ice_servers: list[IceServer],
        speaker_device: str | None,
        on_state: Callable[[PeerSession, str], None],
    ) -> PeerSession:
        """A fresh peer connection on the call's capture (open it first)."""
        assert self.id is not None and self.capture is not None
        if self.speaker is None and speaker_device is not None:
            self.speaker = Speaker(speaker_device)
        local = self.capture.tracks()
        return PeerSession(self.id, ice_servers, local, self.counts, self.speaker, on_state)

    async def close_peer(self) -> None:
        """Close the peer connection, and an offer prepared but never sent."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None:
            prepared.cancel()
            results = await asyncio.gather(prepared, return_exceptions=True)
            if isinstance(made := results[0], tuple):
                await made[0].close()
        if self.peer is not None:
            await self.peer.close()

    async def stop_media(self) -> None:
        """Stop sending at once: the connection, then the camera and microphone."""
        await self.close_peer()
        if self.opening is not None:
            self.opening.cancel()
            await asyncio.gather(self.opening, return_exceptions=True)
        if self.capture is not None:
            await self.capture.close()

    async def release(self) -> None:
        """Close everything the call holds. Safe to call twice."""
        for timer in (self.auto_answer, self.kept):
            if timer is not None:
                timer.cancel()
        await self.stop_media()
        if self.speaker is not None:
            await self.speaker.close()

    def ended(self, reason: str, call_status: str | None) -> Status:
        extra: dict[str, Any] = {
            "end_reason": reason,
            "video_frames_received": self.counts.video,
            "audio_frames_received": self.counts.audio,
        }
        if call_status is not None:
            extra["call_status"] = call_status
        return Status("ended", self.id, extra=extra)
