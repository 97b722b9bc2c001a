"""The kiosk's self-test: does the camera give frames, does the microphone hear, does
the speaker take a prompt?

It opens the same media source a call does (the generated picture and tone under
``--media test``), so it proves what a call would get: ``CAMERA_FRAMES`` frames
within ``DEVICE_TIMEOUT_S``, and ``LISTEN_S`` of sound louder than ``SILENCE_DBFS``
(a dead or unplugged microphone gives digital silence, about -inf; a quiet room
gives -60 dBFS or more). The speaker check plays the ready prompt through the
device the operator's voice uses (ffmpeg's null output under ``--media test``);
it proves the device takes sound, not that anyone heard it. A headless kiosk has
no speaker: ``skipped``.

The devices are held for about two seconds. A press, or the town calling, wins: the
call's media stops a running self-test first (``SelfTester.stop``), and the test
is tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from kiosk_client.capture import open_in_thread
from kiosk_client.media import LocalMedia, MediaSource, MediaUnavailable
from yijian.protocol import DeviceCheck, SelfTest

logger = logging.getLogger(__name__)

CAMERA_FRAMES = 3
LISTEN_S = 1.0
SILENCE_DBFS = -70.0
DEVICE_TIMEOUT_S = 10.0
Device = Literal["camera", "microphone", "speaker"]


@dataclass(frozen=True)
class SpeakerCheck:
    """Where the speaker check plays: ``device`` in ffmpeg's ``fmt`` (``alsa``, or
    ``null`` for the test source), the prompt file ``prompt``."""

    device: str
    fmt: str
    prompt: Path | None


@dataclass(frozen=True)
class Result:
    devices: tuple[DeviceCheck, ...]
    finished: float  # time.monotonic()

    @property
    def passed(self) -> bool:
        return all(check.result != "failed" for check in self.devices)

    def report(self) -> SelfTest:
        ago = max(0.0, time.monotonic() - self.finished)
        return SelfTest(ran_s_ago=round(ago, 1), devices=list(self.devices))


async def run_self_test(source: MediaSource, speaker: SpeakerCheck | None) -> Result:
    """Test every device; never raises for a device's fault (that is the result)."""
    try:
        local = await open_in_thread(source)
    except MediaUnavailable as exc:
        checks = [
            DeviceCheck(device="camera", result="skipped",
                        detail="not tested: the microphone did not open"),
            DeviceCheck(device="microphone", result="failed", detail=_short(str(exc))),
        ]  # fmt: skip
    else:
        try:
            checks = list(await asyncio.gather(_camera(local), _microphone(local.audio)))
        finally:
            await asyncio.to_thread(local.close)
    checks.append(await _speaker(speaker))
    result = Result(tuple(checks), time.monotonic())
    said = ", ".join(f"{c.device} {c.result}" + (f" ({c.detail})" if c.detail else "")
                     for c in checks)  # fmt: skip
    logger.log(logging.INFO if result.passed else logging.WARNING, "self-test: %s", said)
    return result


async def _camera(local: LocalMedia) -> DeviceCheck:
    if local.video is None:
        return _failed("camera", local.video_error or "no camera")
    size = ""
    try:
        async with asyncio.timeout(DEVICE_TIMEOUT_S):
            for _ in range(CAMERA_FRAMES):
                frame = await local.video.recv()
                if isinstance(frame, av.VideoFrame):
                    size = f"{frame.width}x{frame.height}"
    except TimeoutError:
        return _failed("camera", f"fewer than {CAMERA_FRAMES} frames in {DEVICE_TIMEOUT_S:g} s")
    except MediaStreamError:
        return _failed("camera", "the camera stopped giving frames")
    return DeviceCheck(device="camera", result="ok", detail=size)


async def _microphone(track: MediaStreamTrack) -> DeviceCheck:
    samples: list[np.ndarray] = []
    heard = 0.0
    try:
        async with asyncio.timeout(DEVICE_TIMEOUT_S):
            while heard < LISTEN_S:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    samples.append(_normalised(frame.to_ndarray()))
                    heard += frame.samples / (frame.sample_rate or 48_000)
    except TimeoutError:
        return _failed("microphone", f"under {LISTEN_S:g} s of sound in {DEVICE_TIMEOUT_S:g} s")
    except MediaStreamError:
        return _failed("microphone", "the microphone stopped giving sound")
    level = level_dbfs(np.concatenate(samples) if samples else np.zeros(1))
    said = f"{level:.0f} dBFS" if math.isfinite(level) else "digital silence"
    if level <= SILENCE_DBFS:
        return _failed("microphone", f"hears nothing: {said}, at most {SILENCE_DBFS:g}")
    return DeviceCheck(device="microphone", result="ok", detail=said)


async def _speaker(speaker: SpeakerCheck | None) -> DeviceCheck:
    if speaker is None:
        return DeviceCheck(device="speaker", result="skipped", detail="headless: no speaker")
    if speaker.prompt is None:
        return DeviceCheck(device="speaker", result="skipped", detail="no prompt file to play")
    try:
        took = await asyncio.to_thread(_play, speaker)
    except (OSError, ValueError, av.FFmpegError) as exc:
        return _failed("speaker", f"{speaker.device} ({speaker.fmt}): {exc}")
    return DeviceCheck(device="speaker", result="ok", detail=f"played {took:.1f} s")


def _play(speaker: SpeakerCheck) -> float:
    """The prompt into the device; blocks while it plays. Returns its length (s)."""
    assert speaker.prompt is not None
    target = os.devnull if speaker.fmt == "null" else speaker.device
    played = 0.0
    with av.open(str(speaker.prompt)) as source, av.open(target, format=speaker.fmt,
                                                          mode="w") as out:  # fmt: skip
        first = source.streams.audio[0]
        stream = out.add_stream("pcm_s16le", rate=first.rate, layout=first.layout.name)
        for frame in source.decode(first):
            frame.pts = None
            played += frame.samples / frame.sample_rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return played


def level_dbfs(samples: np.ndarray) -> float:
    """The RMS level of samples in [-1, 1], in dB below full scale (-inf: silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def _normalised(pcm: np.ndarray) -> np.ndarray:
    if np.issubdtype(pcm.dtype, np.integer):
        return pcm.astype(np.float64).ravel() / np.iinfo(pcm.dtype).max
    return pcm.astype(np.float64).ravel()


def _failed(device: Device, detail: str) -> DeviceCheck:
    return DeviceCheck(device=device, result="failed", detail=_short(detail))


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
