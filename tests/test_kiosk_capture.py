"""The call's camera and microphone: held once per call and never opened twice at
once (a V4L2 camera refuses a second open), opened and closed off the event loop,
shaped to the configured caps, sound kept when the camera fails, and in a real kiosk
opened at the press with the offer gathered before the operator answers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import av
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamError
from pydantic import BaseModel

from kiosk_client.bitrate import cap_video_bitrate
from kiosk_client.call import Call
from kiosk_client.capture import Capture, VideoCaps
from kiosk_client.media import GeneratedMedia, LocalMedia, MediaUnavailable, MovingPictureTrack
from kiosk_client.media_control import MediaControl
from kiosk_client.peer import PeerSession
from kiosk_client.sink import FrameCounts
from tests.conftest import Town
from tests.kiosk_support import AiortcOperator, Kiosk
from tests.support import TIMEOUT, HubProcess, WsClient
from yijian.protocol import SessionDescription


class Camera(MovingPictureTrack):
    """A generated picture that tells its device when it is released."""

    def __init__(self, device: ExclusiveDevice) -> None:
        super().__init__()
        self._device: ExclusiveDevice | None = device

    def stop(self) -> None:
        super().stop()
        if self._device is not None:
            self._device.in_use -= 1
            self._device = None


class ExclusiveDevice:
    """A media source that, like a V4L2 camera, refuses a second open (EBUSY)."""

    def __init__(self, open_s: float = 0.0) -> None:
        self.in_use = 0
        self.opens = 0
        self.open_s = open_s

    def probe(self) -> None:
        return None

    def open(self) -> LocalMedia:
        time.sleep(self.open_s)  # ffmpeg's open of a real camera blocks like this
        if self.in_use:
            raise MediaUnavailable("camera: Device or resource busy")
        self.in_use += 1
        self.opens += 1
        return LocalMedia(audio=GeneratedMedia().open().audio, video=Camera(self))


class Sent:
    def __init__(self) -> None:
        self.messages: list[BaseModel] = []

    async def __call__(self, message: BaseModel) -> bool:
        self.messages.append(message)
        return True


async def test_a_rebuild_keeps_the_devices_and_a_dead_one_is_closed_before_reopening() -> None:
    device, sent = ExclusiveDevice(), Sent()
    media = MediaControl(sent, lambda _event: None, device, None)
    call = Call(key="k", id="c1")
    try:
        await media.ensure(call, offer_lost=False)
        first = call.peer
        await media.ensure(call, offer_lost=True, force=True)  # ICE failed: a new connection
        rebuilt_on_same_devices = device.opens
        assert call.capture is not None and call.peer is not None
        call.capture._fanouts[1].source.stop()  # the camera itself dies (unplugged)
        await asyncio.sleep(0.1)
        await media.ensure(call, offer_lost=True, force=True)
    finally:
        await call.release()

    assert first is not None and first.closed and rebuilt_on_same_devices == 1
    assert device.opens == 2 and device.in_use == 0  # closed, then opened: never two at once
    assert [m.type for m in sent.messages] == ["sdp", "sdp", "sdp"]


async def test_opening_and_closing_the_devices_never_blocks_the_event_loop() -> None:
    capture = Capture(ExclusiveDevice(open_s=0.3))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await capture.open()
    await capture.close()
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)

    assert ticks >= 15  # the loop went on while the "camera" took 0.3 s to open


async def test_a_call_without_a_camera_still_sends_sound_and_sees_the_operator() -> None:
    tone = GeneratedMedia().open()
    peer = PeerSession("c1", [], LocalMedia(audio=tone.audio, video=None), FrameCounts(), None,
                       lambda _peer, _state: None)  # fmt: skip
    try:
        offer = await peer.create_offer()
    finally:
        await peer.close()
        tone.close()

    audio, video = offer.sdp.split("m=audio")[1].split("m=video")
    assert "a=sendrecv" in audio and "a=recvonly" in video


async def test_the_picture_is_shaped_to_the_caps() -> None:
    capture = Capture(GeneratedMedia(), VideoCaps(width=320, height=240, fps=10))
    await capture.open()
    local = capture.tracks()
    assert local.video is not None
    frames: list[av.VideoFrame] = []
    started = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - started < 1.0:
        frame = await local.video.recv()
        assert isinstance(frame, av.VideoFrame)
        frames.append(frame)
    local.close()
    await capture.close()

    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    assert 7 <= len(frames) <= 12  # 10 a second of the test picture's 30


def test_the_video_bitrate_cap_holds_against_the_receivers_estimate() -> None:
    saved = (vpx.MAX_BITRATE, vpx.DEFAULT_BITRATE, vpx.MIN_BITRATE)
    try:
        cap_video_bitrate(300)
        encoder = vpx.Vp8Encoder()
        started = encoder.target_bitrate
        encoder.target_bitrate = 5_000_000  # REMB says the path could take 5 Mbit/s
        assert (started, encoder.target_bitrate) == (300_000, 300_000)
    finally:
        vpx.MAX_BITRATE, vpx.DEFAULT_BITRATE, vpx.MIN_BITRATE = saved


@pytest.fixture
async def operators() -> AsyncIterator[list[AiortcOperator]]:
    made: list[AiortcOperator] = []
    yield made
    for operator in made:
        await operator.close()


async def test_the_camera_opens_at_the_press_and_the_offer_waits_for_the_answer(
    hub: HubProcess,
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    operators: list[AiortcOperator],
    artifacts: Path,
) -> None:
    town = await make_town(kiosks=1, operators=1, max_wait_s=120)
    operator = await AiortcOperator.ready(operator_ws, town.operators[0])
    operators.append(operator)
    kiosk_id, token = next(iter(town.kiosks.items()))
    villager = Kiosk(hub.base, kiosk_id, token, artifacts)
    try:
        await villager.wait_state("idle")
        idle_log = villager.log()
        villager.press()
        call_id = (await villager.wait_state("queued"))["call_id"]
        await villager.log_says(f"call {call_id}: offer gathered", TIMEOUT)
        before_answer = villager.log()
        await operator.answer(call_id)
        await villager.wait_state("connected")
        await operator.console.send({"type": "hangup", "call_id": call_id})
        await villager.wait_state("ended")
        await villager.log_says("capture closed", TIMEOUT)
    finally:
        villager.close()

    assert "capture open" not in idle_log  # never while idle
    assert "capture open (camera and microphone)" in before_answer
    assert f"call {call_id} answered by" not in before_answer
    assert villager.log().count("offer gathered") == 1  # the one prepared was used


@pytest.mark.parametrize("prepare_offer", [True, False])
async def test_prepare_offer_decides_whether_the_offer_is_gathered_while_queued(
    prepare_offer: bool,
) -> None:
    sent: list[BaseModel] = []

    async def send(message: BaseModel) -> bool:
        sent.append(message)
        return True

    media = MediaControl(send, lambda _event: None, GeneratedMedia(), None,
                         prepare_offer=prepare_offer)  # fmt: skip
    call = Call(key="k", id="c1")
    try:
        media.prepare_soon(call)  # queued
        prepared = call.prepared is not None
        assert call.opening is not None  # the camera opens either way
        await media.ensure(call, offer_lost=False)  # the operator answers
    finally:
        await call.release()

    assert (prepared, [type(m).__name__ for m in sent]) == (prepare_offer, ["Sdp"])


async def test_a_camera_that_dies_mid_call_takes_only_the_picture_with_it() -> None:
    device = ExclusiveDevice()
    capture = Capture(device)
    await capture.open()
    connected = asyncio.Event()

    def on_state(_peer: PeerSession, state: str) -> None:
        if state == "connected":
            connected.set()

    kiosk = PeerSession("c1", [], capture.tracks(), FrameCounts(), None, on_state)
    operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    heard = {"audio": 0, "video": 0}
    readers: list[asyncio.Task[None]] = []

    async def count(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                heard[track.kind] += 1

    operator.addTransceiver("audio", direction="recvonly")
    operator.addTransceiver("video", direction="recvonly")
    operator.on("track", lambda track: readers.append(asyncio.create_task(count(track))))

    async def grown(kind: str, beyond: int) -> int:
        while heard[kind] <= beyond + 10:
            await asyncio.sleep(0.05)
        return heard[kind]

    try:
        offer = await kiosk.create_offer()
        await operator.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await operator.setLocalDescription(await operator.createAnswer())
        answer = operator.localDescription
        await kiosk.accept_answer(SessionDescription(type="answer", sdp=answer.sdp))
        await asyncio.wait_for(connected.wait(), TIMEOUT)
        await asyncio.wait_for(grown("video", 0), TIMEOUT)
        capture._fanouts[1].source.stop()  # the camera is unplugged
        await asyncio.sleep(0.5)
        pictures = heard["video"]
        sound = await asyncio.wait_for(grown("audio", heard["audio"]), TIMEOUT)
        await asyncio.sleep(0.3)
    finally:
        await kiosk.close()
        await operator.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await capture.close()

    assert sound > 10 and heard["video"] <= pictures + 1  # sound goes on, the picture stops
    assert kiosk.state == "closed" and device.in_use == 0
