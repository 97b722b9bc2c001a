"""What the kiosk sends: a generated picture and tone, or its camera and microphone.

A ``MediaSource`` opens them; ``capture.Capture`` holds them for one call, from the
press to its end, so the camera (and its light) is off while the kiosk is idle.
Audio comes first: a microphone that will not open makes the call fail, a camera
that will not open leaves a call that sends sound only.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 640, 480
TONE_HZ = 880.0
SAMPLE_RATE = 48_000
AUDIO_PTIME = 0.020
_BAR_COLOURS = np.array(
    [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
     [255, 0, 255], [255, 0, 0], [0, 0, 255], [16, 16, 16]],
    dtype=np.uint8,
)  # fmt: skip


class MediaUnavailable(Exception):
    """A camera or microphone could not be opened."""


class MovingPictureTrack(VideoStreamTrack):
    """640x480 colour bars sliding sideways with a bouncing box, at 30 fps.

    Motion matters: the browser test proves video flows by seeing pixels change.
    """

    def __init__(self) -> None:
        super().__init__()
        bar_width = WIDTH // len(_BAR_COLOURS)
        row = np.repeat(_BAR_COLOURS, bar_width, axis=0)
        self._bars = np.ascontiguousarray(np.broadcast_to(row, (HEIGHT, WIDTH, 3)))
        self._index = 0

    def draw(self, index: int) -> np.ndarray:
        """The picture of frame ``index``, as an RGB array."""
        image = np.roll(self._bars, 8 * index, axis=1)
        box, span_x, span_y = 80, WIDTH - 80, HEIGHT - 80
        x = abs((7 * index) % (2 * span_x) - span_x)
        y = abs((5 * index) % (2 * span_y) - span_y)
        image[y : y + box, x : x + box] = (0, 0, 0)
        return image

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.draw(self._index), format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        self._index += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A continuous 880 Hz sine: 48 kHz, s16 mono, 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = TONE_HZ) -> None:
        super().__init__()
        self.frequency = frequency
        self._samples = int(SAMPLE_RATE * AUDIO_PTIME)
        self._sent = 0  # samples so far: both the pts and the sine's phase
        self._start: float | None = None

    def samples(self, first: int, count: int) -> np.ndarray:
        t = np.arange(first, first + count) / SAMPLE_RATE
        return (0.3 * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(self._start + self._sent / SAMPLE_RATE - time.monotonic())
        pcm = self.samples(self._sent, self._samples)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._sent += self._samples
        return frame


@dataclass
class LocalMedia:
    """The kiosk's side of one peer connection: its outgoing tracks, and where the
    operator's picture goes (the kiosk's screen; nowhere when headless)."""

    audio: MediaStreamTrack
    video: MediaStreamTrack | None  # None: no camera; the call is sound only
    show_remote: Callable[[av.VideoFrame], None] | None = None
    video_error: str = ""  # why there is no camera, for the self-test's report

    def close(self) -> None:
        """Release the devices. Blocks (aiortc joins a MediaPlayer's thread): call it
        from a thread. stop() is idempotent in aiortc."""
        self.audio.stop()
        if self.video is not None:
            self.video.stop()


class MediaSource(Protocol):
    def probe(self) -> None:
        """Raise MediaUnavailable now, at start-up, rather than at the first call."""

    def open(self) -> LocalMedia:
        """Open the devices; blocks, so the kiosk calls it from a thread."""
        ...


class GeneratedMedia:
    def probe(self) -> None:
        return None

    def open(self) -> LocalMedia:
        return LocalMedia(audio=ToneTrack(), video=MovingPictureTrack())


class DeviceMedia:
    """A V4L2 camera and an ALSA microphone, through ffmpeg. The camera is asked for
    ``size`` at ``fps``; a camera that gives more is scaled down by the capture."""

    def __init__(
        self, video_device: str, audio_device: str, size: str = f"{WIDTH}x{HEIGHT}",
        fps: int = 15,
    ) -> None:  # fmt: skip
        self.video_device = video_device
        self.audio_device = audio_device
        self.size = size
        self.fps = fps

    def probe(self) -> None:
        local = self.open()
        local.close()
        if local.video is None:
            logger.warning("no camera: calls will carry sound only until one is attached")

    def open(self) -> LocalMedia:
        mic = self._player("microphone", self.audio_device, "alsa", None)
        if mic.audio is None:
            raise MediaUnavailable(f"microphone {self.audio_device} gives no audio stream")
        options = {"video_size": self.size, "framerate": str(self.fps)}
        try:
            camera = self._player("camera", self.video_device, "v4l2", options)
            if camera.video is None:
                raise MediaUnavailable(f"camera {self.video_device} gives no video stream")
        except MediaUnavailable as exc:
            logger.error("%s; the call carries sound only", exc)
            return LocalMedia(audio=mic.audio, video=None, video_error=str(exc))
        return LocalMedia(audio=mic.audio, video=camera.video)

    @staticmethod
    def _player(what: str, device: str, fmt: str, options: dict[str, str] | None) -> MediaPlayer:
        try:
            return MediaPlayer(device, format=fmt, options=options)
        except (OSError, ValueError, av.FFmpegError) as exc:
            raise MediaUnavailable(f"cannot open the {what} {device} ({fmt}): {exc}") from exc


def media_source(
    kind: str, video_device: str, audio_device: str, size: str = f"{WIDTH}x{HEIGHT}",
    fps: int = 15,
) -> MediaSource:  # fmt: skip
    if kind == "test":
        return GeneratedMedia()
    return DeviceMedia(video_device, audio_device, size, fps)
