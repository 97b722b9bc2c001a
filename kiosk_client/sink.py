"""What the kiosk does with the operator's media: count every frame, play the voice,
show the picture."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from kiosk_client.speaker import Speaker

logger = logging.getLogger(__name__)


@dataclass
class FrameCounts:
    """Frames received over one call, across every peer connection it had."""

    video: int = 0
    audio: int = 0


async def consume(
    track: MediaStreamTrack,
    counts: FrameCounts,
    speaker: Speaker | None,
    screen: Callable[[av.VideoFrame], None] | None = None,
) -> None:
    """Read ``track`` until it ends, counting each frame by kind."""
    logger.debug("receiving %s track %s", track.kind, track.id)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if track.kind == "video":
            counts.video += 1
            if screen is not None and isinstance(frame, av.VideoFrame):
                screen(frame)
        elif track.kind == "audio":
            counts.audio += 1
            if speaker is not None and isinstance(frame, av.AudioFrame):
                speaker.play(frame)
