"""The kiosk's media pieces, with real aiortc: test tracks, frame counting, a real call.

Two aiortc peers in one process stand in for the kiosk and the operator's browser.
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection

from kiosk_client.media import (
    HEIGHT,
    SAMPLE_RATE,
    TONE_HZ,
    WIDTH,
    GeneratedMedia,
    MovingPictureTrack,
    ToneTrack,
)
from kiosk_client.peer import PeerSession
from kiosk_client.sink import FrameCounts
from kiosk_client.speaker import Speaker
from yijian.protocol import IceCandidate, SessionDescription

TIMEOUT_S = 15.0


async def test_the_test_picture_is_640x480_and_moves() -> None:
    track = MovingPictureTrack()
    first = await track.recv()
    second = await track.recv()
    track.stop()

    a, b = first.to_ndarray(format="rgb24"), second.to_ndarray(format="rgb24")
    assert (first.width, first.height) == (WIDTH, HEIGHT) == (640, 480)
    assert second.pts > first.pts
    assert np.mean(a != b) > 0.01


async def test_the_tone_is_48khz_at_its_frequency() -> None:
    track = ToneTrack()
    frames = [await track.recv() for _ in range(10)]
    track.stop()

    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(pcm)
    assert {f.sample_rate for f in frames} == {48_000}
    assert [f.pts for f in frames] == [960 * i for i in range(10)]
    assert abs(peak_hz - TONE_HZ) < 10


async def test_the_speaker_writes_what_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "voice.wav"
    speaker = Speaker(str(out), fmt="wav")
    track = ToneTrack()
    for _ in range(5):
        speaker.play(await track.recv())
    await speaker.close()
    await speaker.close()
    track.stop()

    with wave.open(str(out)) as recorded:
        assert recorded.getframerate() == SAMPLE_RATE
        assert recorded.getnframes() == 5 * 960


async def test_a_speaker_that_cannot_open_is_not_fatal(tmp_path: Path) -> None:
    speaker = Speaker(str(tmp_path / "no" / "such" / "dir.wav"), fmt="wav")
    track = ToneTrack()
    for _ in range(3):
        speaker.play(await track.recv())
    await speaker.close()
    track.stop()


async def test_a_kiosk_peer_and_an_operator_peer_exchange_media() -> None:
    """The kiosk offers, the 'operator' answers and trickles a candidate; both count."""
    kiosk_counts = FrameCounts()
    kiosk_connected = asyncio.Event()
    kiosk = PeerSession(
        "call-1", [], GeneratedMedia().open(), kiosk_counts, None,
        lambda _peer, state: kiosk_connected.set() if state == "connected" else None,
    )  # fmt: skip
    operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    operator_counts = {"audio": 0, "video": 0}
    operator_media = GeneratedMedia().open()
    operator.addTrack(operator_media.audio)
    operator.addTrack(operator_media.video)
    readers: list[asyncio.Task[None]] = []

    async def count(track) -> None:  # type: ignore[no-untyped-def]
        while True:
            await track.recv()
            operator_counts[track.kind] += 1

    operator.on("track", lambda track: readers.append(asyncio.create_task(count(track))))
    try:
        offer = await kiosk.create_offer()
        await kiosk.add_candidate(IceCandidate(candidate="candidate:1 1 udp 1 192.0.2.99 9 typ host", sdpMid="0"))  # noqa: E501 - before the answer: buffered
        await operator.setRemoteDescription(_rtc(offer))
        await operator.setLocalDescription(await operator.createAnswer())
        answer = operator.localDescription
        await kiosk.accept_answer(SessionDescription(type="answer", sdp=answer.sdp))
        await kiosk.add_candidate(None)
        await asyncio.wait_for(kiosk_connected.wait(), TIMEOUT_S)

        async def enough() -> None:
            while min(kiosk_counts.audio, kiosk_counts.video, *operator_counts.values()) < 10:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(enough(), TIMEOUT_S)
    finally:
        await kiosk.close()
        await kiosk.close()
        await operator.close()
        operator_media.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    assert kiosk.state == "closed"
    assert kiosk_counts.video >= 10 and kiosk_counts.audio >= 10


def _rtc(description: SessionDescription):  # type: ignore[no-untyped-def]
    from aiortc import RTCSessionDescription

    return RTCSessionDescription(description.sdp, description.type)
