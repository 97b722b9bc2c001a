"""The call's camera and microphone: opened at the press, held while the villager
waits, shared by every peer connection of the call, closed when the call ends.

A V4L2 camera refuses a second open (EBUSY), so a call holds its devices once, from
one ``Capture``, and each peer connection (a rebuild after ICE failure, a new
operator after a requeue) gets fresh subscriptions to them rather than opening them
again. Only a device that has ended is opened anew, and then the old one is closed
first. Opening and closing run in a thread: ffmpeg's open of a camera, and aiortc's
join of its reader thread, both block.

One task per device reads it (``Fanout``) and hands each frame to the subscribers.
Reading starts at once, so the villager's own picture (the screen taps the camera,
``screen.taps``) shows while they wait. Video is shaped there to the configured
caps: frames beyond ``fps`` are dropped, pictures larger than ``size`` scaled down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from kiosk_client.media import LocalMedia, MediaSource

logger = logging.getLogger(__name__)

AUDIO_SLOTS = 10  # 200 ms of 20 ms frames a slow reader may lag; video keeps the newest


@dataclass(frozen=True)
class VideoCaps:
    width: int = 640
    height: int = 480
    fps: int = 15


class FanoutTrack(MediaStreamTrack):
    """One subscriber's view of a ``Fanout``: the newest frames, dropping the oldest."""

    def __init__(self, fanout: Fanout, slots: int) -> None:
        super().__init__()
        self.kind = fanout.kind
        self._fanout: Fanout | None = fanout
        self._frames: asyncio.Queue[Frame | Packet | None] = asyncio.Queue(slots)

    def put(self, frame: Frame | Packet | None) -> None:
        if self._frames.full():
            self._frames.get_nowait()
        self._frames.put_nowait(frame)

    async def recv(self) -> Frame | Packet:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._frames.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        super().stop()
        if self._fanout is not None:
            self._fanout.unsubscribe(self)
            self._fanout = None


class Fanout:
    """Reads ``source`` from a task of its own until it ends or ``close``."""

    def __init__(self, source: MediaStreamTrack, caps: VideoCaps | None = None) -> None:
        self.source = source
        self.kind = source.kind
        self._caps = caps
        self._last_time: float | None = None
        self._subscribers: set[FanoutTrack] = set()
        self.ended = False
        self._task = asyncio.create_task(self._run(), name=f"capture-{source.kind}")

    def subscribe(self) -> FanoutTrack:
        track = FanoutTrack(self, 1 if self.kind == "video" else AUDIO_SLOTS)
        if self.ended:
            track.put(None)
        else:
            self._subscribers.add(track)
        return track

    def unsubscribe(self, track: FanoutTrack) -> None:
        self._subscribers.discard(track)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._end()

    async def _run(self) -> None:
        while True:
            try:
                frame = await self.source.recv()
            except MediaStreamError:
                logger.warning("the %s stopped giving frames", self.kind)
                return self._end()
            if isinstance(frame, av.VideoFrame) and (shaped := self._shape(frame)) is not None:
                frame = shaped
            elif isinstance(frame, av.VideoFrame):
                continue
            for track in list(self._subscribers):
                track.put(frame)

    def _shape(self, frame: av.VideoFrame) -> av.VideoFrame | None:
        """The frame within the caps, or None to drop it (too soon after the last)."""
        caps = self._caps
        if caps is None:
            return frame
        if frame.time is not None:
            if self._last_time is not None and frame.time - self._last_time < 0.9 / caps.fps:
                return None
            self._last_time = frame.time
        if frame.width <= caps.width and frame.height <= caps.height:
            return frame
        scale = min(caps.width / frame.width, caps.height / frame.height)
        width, height = int(frame.width * scale) // 2 * 2, int(frame.height * scale) // 2 * 2
        shaped = frame.reformat(width=width, height=height)
        shaped.pts, shaped.time_base = frame.pts, frame.time_base
        return shaped

    def _end(self) -> None:
        self.ended = True
        for track in list(self._subscribers):
            track.put(None)
        self._subscribers.clear()


class Capture:
    """The devices of one call; ``close`` is safe to call twice."""

    def __init__(self, source: MediaSource, caps: VideoCaps | None = None) -> None:
        self._source = source
        self._caps = caps
        self._local: LocalMedia | None = None
        self._fanouts: list[Fanout] = []
        self._lock = asyncio.Lock()
        self.opens = 0  # devices opened over the call, for the log and tests

    @property
    def live(self) -> bool:
        """Open, and no device has ended (an unplugged camera, a failed microphone)."""
        return self._local is not None and not any(f.ended for f in self._fanouts)

    async def open(self) -> None:
        """Open the devices unless they are open and live (MediaUnavailable if not)."""
        async with self._lock:
            if self.live:
                return
            await self._close()  # the old devices go before new ones are asked for
            started = asyncio.get_running_loop().time()
            local = await open_in_thread(self._source)
            self.opens += 1
            self._local = local
            took = (asyncio.get_running_loop().time() - started) * 1000
            what = "camera and microphone" if local.video is not None else "microphone only"
            logger.info("capture open (%s) in %.0f ms", what, took)
            self._fanouts = [Fanout(local.audio)]
            if local.video is not None:
                self._fanouts.append(Fanout(local.video, self._caps))

    def tracks(self) -> LocalMedia:
        """Fresh tracks for one peer connection; aiortc stops them when it closes."""
        assert self._local is not None, "open() first"
        audio = self._fanouts[0].subscribe()
        video = self._fanouts[1].subscribe() if len(self._fanouts) > 1 else None
        return LocalMedia(audio=audio, video=video, show_remote=self._local.show_remote)

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        local, self._local = self._local, None
        fanouts, self._fanouts = self._fanouts, []
        for fanout in fanouts:
            await fanout.close()
        if local is not None:
            await asyncio.to_thread(local.close)
            logger.info("capture closed")


async def open_in_thread(source: MediaSource) -> LocalMedia:
    """``source.open()`` in a thread; if the caller gives up meanwhile, what the
    thread opens is closed, not leaked (a camera left open would refuse the next)."""
    future = asyncio.get_running_loop().run_in_executor(None, source.open)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:

        def close_late(done: asyncio.Future[LocalMedia]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().close()

        future.add_done_callback(close_late)
        raise
