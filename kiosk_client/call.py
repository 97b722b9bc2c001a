"""One call as the kiosk knows it: its phase, its frame counts and its media."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kiosk_client.media import LocalMedia
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
    peer: PeerSession | None = None
    speaker: Speaker | None = None

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
        """What the kiosk shows while the hub is unreachable during this call."""
        pressed = self.phase is Phase.REQUESTING and not self.hanging_up
        return Status("offline", self.id, view="calling" if pressed else None)

    def media_serves(self, *, offer_lost: bool) -> bool:
        """Keep the peer connection we have? Not when it failed, nor (``offer_lost``,
        after a reconnect) when its offer is still unanswered: that went with the socket."""
        peer = self.peer
        return peer is not None and peer.usable and not (offer_lost and peer.awaiting_answer)

    async def new_peer(
        self,
        ice_servers: list[IceServer],
        local: LocalMedia,
        speaker_device: str | None,
        on_state: Callable[[PeerSession, str], None],
    ) -> SessionDescription:
        """Replace any peer connection with a fresh one; returns its offer."""
        assert self.id is not None
        await self.stop_media()
        if self.speaker is None and speaker_device is not None:
            self.speaker = Speaker(speaker_device)
        self.peer = PeerSession(self.id, ice_servers, local, self.counts, self.speaker, on_state)
        return await self.peer.create_offer()

    async def stop_media(self) -> None:
        if self.peer is not None:
            await self.peer.close()

    async def release(self) -> None:
        """Close everything the call holds. Safe to call twice."""
        if self.auto_answer is not None:
            self.auto_answer.cancel()
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
