"""The call's pictures on the kiosk's screen, without the call knowing of a screen.

``ScreenMedia`` wraps the kiosk's media source: every camera frame on its way to the
operator is also handed to the screen (the villager's own picture, small in a
corner), and every connection it opens sends the operator's frames to the screen.
The camera opens and closes exactly as before; the screen only looks.
"""

from __future__ import annotations

from collections.abc import Callable

import av
from aiortc import MediaStreamTrack
from av.frame import Frame
from av.packet import Packet

from kiosk_client.media import LocalMedia, MediaSource


class TappedTrack(MediaStreamTrack):
    """``inner``'s frames, each also handed to ``tap``."""

    def __init__(self, inner: MediaStreamTrack, tap: Callable[[av.VideoFrame], None]) -> None:
        super().__init__()
        self.kind = inner.kind
        self._inner = inner
        self._tap = tap

    async def recv(self) -> Frame | Packet:
        frame = await self._inner.recv()
        if isinstance(frame, av.VideoFrame):
            self._tap(frame)
        return frame

    def stop(self) -> None:
        super().stop()
        self._inner.stop()  # a camera is released with the track that holds it


class ScreenMedia:
    def __init__(
        self,
        source: MediaSource,
        show_own: Callable[[av.VideoFrame], None],
        show_remote: Callable[[av.VideoFrame], None],
    ) -> None:
        self._source = source
        self._show_own = show_own
        self._show_remote = show_remote

    def probe(self) -> None:
        self._source.probe()

    def open(self) -> LocalMedia:
        local = self._source.open()
        video = None if local.video is None else TappedTrack(local.video, self._show_own)
        return LocalMedia(audio=local.audio, video=video, show_remote=self._show_remote)
