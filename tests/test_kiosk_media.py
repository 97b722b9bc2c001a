"""The kiosk's own pieces, with real parts: test tracks, frame counting, a real
aiortc call between two peers in one process, and the small pure helpers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import wave
from pathlib import Path

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from pydantic import SecretStr

from kiosk_client.button import Press, StdinButton
from kiosk_client.connection import Backoff
from kiosk_client.media import (
    HEIGHT,
    SAMPLE_RATE,
    TONE_HZ,
    WIDTH,
    GeneratedMedia,
    MovingPictureTrack,
    ToneTrack,
)
from kiosk_client.messages import UnknownMessage, parse
from kiosk_client.peer import PeerSession
from kiosk_client.settings import KioskSettings
from kiosk_client.sink import FrameCounts
from kiosk_client.speaker import Speaker
from kiosk_client.status import JsonLines, Status
from yijian.protocol import IceCandidate, QueuePosition, SessionDescription

TIMEOUT_S = float(os.environ.get("YIJIAN_TEST_TIMEOUT_S", "15"))


# --- generated media ---------------------------------------------------------------


async def test_the_test_picture_is_640x480_and_moves() -> None:
    track = MovingPictureTrack()
    first, second = await track.recv(), await track.recv()
    track.stop()

    changed = np.mean(first.to_ndarray(format="rgb24") != second.to_ndarray(format="rgb24"))
    assert (first.width, first.height) == (WIDTH, HEIGHT) == (640, 480)
    assert first.pts is not None and second.pts is not None and second.pts > first.pts
    assert changed > 0.01


async def test_the_tone_is_48khz_at_its_frequency() -> None:
    track = ToneTrack()
    frames = [await track.recv() for _ in range(10)]
    track.stop()

    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float64)
    peak_hz = np.argmax(np.abs(np.fft.rfft(pcm))) * SAMPLE_RATE / len(pcm)
    assert {f.sample_rate for f in frames} == {48_000}
    assert [f.pts for f in frames] == [960 * i for i in range(10)]
    assert abs(peak_hz - TONE_HZ) < 10


async def test_the_speaker_writes_what_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "voice.wav"
    speaker, track = Speaker(str(out), fmt="wav"), ToneTrack()
    for _ in range(5):
        speaker.play(await track.recv())
    await speaker.close()
    await speaker.close()
    track.stop()

    with wave.open(str(out)) as recorded:
        assert (recorded.getframerate(), recorded.getnframes()) == (SAMPLE_RATE, 5 * 960)


async def test_a_speaker_that_cannot_open_is_not_fatal(tmp_path: Path) -> None:
    speaker, track = Speaker(str(tmp_path / "missing" / "dir.wav"), fmt="wav"), ToneTrack()
    for _ in range(3):
        speaker.play(await track.recv())
    await speaker.close()
    track.stop()

    assert not (tmp_path / "missing").exists()


# --- a real call -------------------------------------------------------------------


async def test_a_kiosk_peer_and_an_operator_peer_exchange_media() -> None:
    """The kiosk offers, the 'operator' answers and trickles; both sides count frames."""
    kiosk_counts, kiosk_connected = FrameCounts(), asyncio.Event()
    kiosk = PeerSession(
        "call-1", [], GeneratedMedia().open(), kiosk_counts, None,
        lambda _peer, state: kiosk_connected.set() if state == "connected" else None,
    )  # fmt: skip
    operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    operator_media = GeneratedMedia().open()
    operator.addTrack(operator_media.audio)
    operator.addTrack(operator_media.video)
    operator_counts, readers = FrameCounts(), []

    async def count(track: MediaStreamTrack) -> None:
        while True:
            await track.recv()
            setattr(operator_counts, track.kind, getattr(operator_counts, track.kind) + 1)

    operator.on("track", lambda track: readers.append(asyncio.create_task(count(track))))
    early = IceCandidate(candidate="candidate:1 1 udp 1 192.0.2.99 9 typ host", sdpMid="0")

    def counted(at_least: int) -> bool:
        counts = [*vars(kiosk_counts).values(), *vars(operator_counts).values()]
        return min(counts) >= at_least

    async def both_sides_counted(at_least: int) -> None:
        while not counted(at_least):  # plain int counters: polled, under a timeout
            await asyncio.sleep(0.05)

    try:
        offer = await kiosk.create_offer()
        await kiosk.add_candidate(early)  # before the answer: buffered, then added
        await operator.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await operator.setLocalDescription(await operator.createAnswer())
        answer = operator.localDescription.sdp
        await kiosk.accept_answer(SessionDescription(type="answer", sdp=answer))
        await kiosk.add_candidate(None)
        await asyncio.wait_for(kiosk_connected.wait(), TIMEOUT_S)
        await asyncio.wait_for(both_sides_counted(10), TIMEOUT_S)
    finally:
        await kiosk.close()
        await kiosk.close()
        await operator.close()
        operator_media.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    assert kiosk.state == "closed"


# --- small pieces ------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    backoff = Backoff(0.5, 10.0)
    delays = [backoff.next() for _ in range(8)]
    backoff.reset()

    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0
    assert all(5.0 <= d <= 10.0 for d in delays[5:])
    assert backoff.next() <= 0.5


def test_the_websocket_url_follows_the_server_url() -> None:
    def url(server: str) -> str:
        return KioskSettings(server=server, kiosk_id="k1", token=SecretStr("t")).websocket_url

    assert url("http://hub:8000") == "ws://hub:8000/ws/kiosk"
    assert url("https://hub.example/yijian/") == "wss://hub.example/yijian/ws/kiosk"


def test_a_status_line_is_one_flushed_json_object() -> None:
    out = io.StringIO()
    JsonLines(out)(Status("queued", "c1", 2))

    line = json.loads(out.getvalue())
    assert out.getvalue().count("\n") == 1
    assert (line["state"], line["call_id"], line["position"]) == ("queued", "c1", 2)


def test_hub_messages_parse_and_unknown_types_are_named() -> None:
    assert parse('{"type":"queue_position","call_id":"c1","position":2}') == QueuePosition(
        call_id="c1", position=2
    )
    with pytest.raises(UnknownMessage) as caught:
        parse('{"type":"fireworks"}')
    assert caught.value.type == "fireworks"


async def test_each_stdin_line_is_a_press_and_eof_ends_them() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, "\n\npress\n长按\nlast line without newline".encode())
    os.close(write_end)

    presses = [p async for p in StdinButton(read_end).events()]
    os.close(read_end)
    assert presses == [Press(), Press(), Press("press"), Press("长按", long=True),
                       Press("last line without newline")]  # fmt: skip
