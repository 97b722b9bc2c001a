"""Plays the operator's voice on an ALSA device, from a thread of its own.

Writing to ALSA blocks for as long as the sound takes to play, so it must not
happen on the event loop. A kiosk without a working speaker still takes calls: a
device that will not open is one logged warning, and the frames are then dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading

import av

logger = logging.getLogger(__name__)

_QUEUE_FRAMES = 25  # half a second of 20 ms frames; beyond that, late audio is useless


class Speaker:
    def __init__(self, device: str = "default", fmt: str = "alsa") -> None:
        self.device = device
        self.fmt = fmt
        self._frames: queue.Queue[av.AudioFrame | None] = queue.Queue(_QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._failed = False
        self._closed = False

    def play(self, frame: av.AudioFrame) -> None:
        """Queue one frame; never blocks. Drops it when the device is behind or broken."""
        if self._failed or self._closed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-speaker", daemon=True)
            self._thread.start()
        try:
            self._frames.put_nowait(frame)
        except queue.Full:
            logger.debug("speaker is behind; dropping a frame")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._put_stop()
            await asyncio.to_thread(self._thread.join)

    def _put_stop(self) -> None:
        while True:
            try:
                self._frames.put_nowait(None)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._frames.get_nowait()

    def _run(self) -> None:
        first = self._frames.get()
        if first is None:
            return
        try:
            container = av.open(self.device, format=self.fmt, mode="w")
        except (OSError, ValueError, av.FFmpegError) as exc:
            logger.warning("cannot open the speaker %s (%s): %s", self.device, self.fmt, exc)
            self._failed = True
            self._drain()
            return
        try:
            stream = container.add_stream(
                "pcm_s16le", rate=first.sample_rate, layout=first.layout.name
            )
            frame: av.AudioFrame | None = first
            while frame is not None:
                frame.pts = None  # let the muxer follow the device's own clock
                for packet in stream.encode(frame):
                    container.mux(packet)
                frame = self._frames.get()
        except (OSError, ValueError, av.FFmpegError) as exc:
            logger.warning("speaker %s failed, the operator is not heard: %s", self.device, exc)
            self._failed = True
            self._drain()
        finally:
            with contextlib.suppress(OSError, ValueError, av.FFmpegError):
                container.close()  # a broken device may fail its trailer too

    def _drain(self) -> None:
        while self._frames.get() is not None:
            pass
