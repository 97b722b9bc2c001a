"""The kiosk's window: shows each status the kiosk says, speaks its prompt, and
draws the call's video, from one task on the kiosk's event loop.

``show`` is a status sink (``cli._publisher`` hands it every status); frames come
through ``operator_frame`` and ``own_frame``. Nothing is drawn in those calls: the
draw task wakes, asks the ``Dwell`` what is on screen now, speaks a new state's
prompt, and paints at most ``FPS`` times a second, so a busy video decoder never
stalls the event loop on painting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk_client.prompts import lines_for
from kiosk_client.screen import ScreenUnavailable
from kiosk_client.screen.dwell import Dwell, Shown
from kiosk_client.screen.fonts import find_cjk_font
from kiosk_client.screen.voice import Voice
from kiosk_client.status import Status

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # stdout may be --status-json's

import pygame

from kiosk_client.screen.paint import VIDEO_STATES, Painter
from kiosk_client.screen.pictures import to_surface

logger = logging.getLogger(__name__)

FPS = 15
KEY_POLL_S = 0.02  # how often the window's keys are read when they are the button
CAMERA_STATES = frozenset({"calling", "queued", *VIDEO_STATES})  # the own picture may show


def parse_size(text: str) -> tuple[int, int] | None:
    """``"1024x600"`` as a size; ``"fullscreen"`` as None (the display's own size)."""
    if text == "fullscreen":
        return None
    width, _, height = text.partition("x")
    return int(width), int(height)


class KioskScreen:
    def __init__(
        self,
        voice: Voice,
        size: tuple[int, int] | None = None,
        ended_dwell_s: float = 8.0,
        rating_dwell_s: float = 15.0,
        shots: Path | None = None,
    ) -> None:
        self._voice = voice
        self._shots = shots  # a folder that gets a PNG whenever the screen changes state
        self._shot_count = 0
        self._shot_video = False  # this call's first operator frame is in a shot already
        self._size = size
        idle = Shown(*lines_for(Status("idle")))
        self._dwell = Dwell(idle, ended_dwell_s, rating_dwell_s)
        self._spoken: str | None = None
        self._operator: Any = None  # the newest frame of each side, drawn at our own pace
        self._own: Any = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._on_key: Callable[[str, bool], None] | None = None
        self.painted: Shown | None = None  # what the screen shows now, for tests

    def listen_keys(self, on_key: Callable[[str, bool], None]) -> None:
        """Hand every key going down (True) or up (False) under the window, by
        pygame's name for it, to ``on_key``: the kiosk's button (``keys.WindowKeys``)."""
        self._on_key = on_key

    async def open(self) -> None:
        """Open the window; ``ScreenUnavailable`` (``FontMissing`` among them) when it
        cannot show Chinese on a display."""
        font = find_cjk_font()
        try:
            pygame.display.init()
            if self._size is None:
                self._window = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            else:
                self._window = pygame.display.set_mode(self._size)
        except pygame.error as exc:
            pygame.display.quit()
            raise ScreenUnavailable(
                f"cannot open a window ({exc}); is a display attached? "
                "SDL_VIDEODRIVER chooses one (kmsdrm, x11, wayland); --headless runs without"
            ) from exc
        pygame.display.set_caption("一键 Yijian")
        pygame.mouse.set_visible(False)
        self._painter = Painter(self._window.get_size(), font)
        self._task = asyncio.create_task(self._run(), name="kiosk-screen")

    def show(self, status: Status) -> None:
        """A status sink: the kiosk says ``status``."""
        if self._closed:
            return
        shown = Shown(*lines_for(status))
        self._dwell.offer(shown, asyncio.get_running_loop().time())
        if shown.state not in VIDEO_STATES:
            self._operator = None
        if shown.state not in CAMERA_STATES:
            self._own = None  # the camera closed with the call
        self._wake.set()

    def operator_frame(self, frame: Any) -> None:
        """The operator's newest video frame (``av.VideoFrame`` or an RGB array)."""
        if self._dwell.current.state in VIDEO_STATES:  # not a straggler after the call
            self._operator = frame
            self._wake.set()

    def own_frame(self, frame: Any) -> None:
        """The villager's own camera's newest frame."""
        if self._dwell.current.state in CAMERA_STATES:
            self._own = frame
            self._wake.set()

    def save(self, path: str) -> None:
        """The screen as it is now, as a PNG."""
        pygame.image.save(self._window, path)

    async def close(self) -> None:
        """Close the window and stop speaking. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._voice.close()
        pygame.display.quit()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pump()
            shown = self._dwell.at(loop.time())
            changed = shown.state != self._spoken
            if changed:
                logger.info("the screen shows %s", shown.state)
                self._spoken = shown.state
                self._voice.say(shown.state)
            video = self._paint(shown)
            if changed:
                self._shoot(shown.state)
            if not video:
                self._shot_video = False
            elif not self._shot_video:  # the first picture of the operator in this call
                self._shot_video = True
                self._shoot(f"{shown.state}-video")
            self._wake.clear()
            timeout = self._dwell.next_change(loop.time())
            await self._idle(loop.time() + (1.0 if timeout is None else timeout))
            await asyncio.sleep(1 / FPS)  # frames that arrive meanwhile make one paint

    async def _idle(self, until: float) -> None:
        """Wait for news (a status, a frame) until ``until``, reading the keys meanwhile
        when they are the button: no paint for a screen that has not changed."""
        loop = asyncio.get_running_loop()
        while not self._wake.is_set() and (left := until - loop.time()) > 0:
            step = left if self._on_key is None else min(left, KEY_POLL_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), step)
            self._pump()

    def _pump(self) -> None:
        """Read the window's events: a window that is not pumped "hangs"."""
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                logger.info("the window was asked to close; a kiosk's screen stays")
            elif event.type in (pygame.KEYDOWN, pygame.KEYUP) and self._on_key is not None:
                self._on_key(pygame.key.name(event.key), event.type == pygame.KEYDOWN)

    def _paint(self, shown: Shown) -> bool:
        """Draw ``shown``; whether the operator's picture is in it."""
        operator = to_surface(self._operator) if self._operator is not None else None
        own = to_surface(self._own) if self._own is not None else None
        self._painter.paint(self._window, *shown, operator=operator, own=own)
        pygame.display.flip()
        self.painted = shown
        return operator is not None

    def _shoot(self, name: str) -> None:
        if self._shots is not None:
            self._shot_count += 1
            self._shots.mkdir(parents=True, exist_ok=True)
            self.save(str(self._shots / f"{self._shot_count:03d}-{name}.png"))
