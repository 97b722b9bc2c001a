"""A whole call seen from the villager's side: a kiosk with its window and voice on
(SDL's dummy video and disk audio drivers) calls a town whose operator answers in
headless Chromium; the screen and the prompt are checked at every step."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Page

from tests.browser import press_and_answer, take_calls
from tests.conftest import Town
from tests.support import ROOT, HubProcess, KioskProcess, yijian_cmd
from tests.test_kiosk_screen import ocr, pixels, wait_until

pytestmark = pytest.mark.browser


class WindowedKiosk(KioskProcess):
    """A ``KioskProcess`` that is not headless: it opens its window and speaks."""

    def __init__(
        self, hub: HubProcess, kiosk_id: str, token: str, log_dir: Path, env: dict[str, str]
    ) -> None:
        self.log_path = log_dir / f"kiosk-window-{kiosk_id}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                yijian_cmd("kiosk", "--server", hub.base, "--kiosk-id", kiosk_id, "--token", token,
                           "--media", "test", "--button", "stdin", "--status-json"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=ROOT,
                env={**os.environ, **env},
            )  # fmt: skip
        self.states: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def shows(self) -> list[str]:
        return re.findall(r"the screen shows (\w+)", self.log_path.read_text())


async def test_a_villager_sees_and_hears_each_step_of_a_call(
    make_town: Callable[..., Awaitable[Town]],
    console: Callable[[str], Awaitable[Page]],
    hub: HubProcess,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    town = await make_town(kiosks=1, operators=1)
    (kiosk_id, token), operator = next(iter(town.kiosks.items())), town.operators[0]
    page = await console(operator)
    await take_calls(page)
    shots = artifacts / "kiosk-call-screens"
    shutil.rmtree(shots, ignore_errors=True)
    speaker = tmp_path / "speaker.raw"
    villager = WindowedKiosk(hub, kiosk_id, token, artifacts, {
        "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(speaker),
        "YIJIAN_KIOSK_SCREEN_SIZE": "1024x600", "YIJIAN_KIOSK_SCREENSHOT_DIR": str(shots),
        "YIJIAN_KIOSK_ENDED_DWELL_S": "1", "YIJIAN_KIOSK_RATING_WINDOW_S": "1",
    })  # fmt: skip
    try:
        await press_and_answer(villager, page)
        await wait_until(lambda: any(shots.glob("*-connected-video.png")))
        await page.get_by_test_id("hangup-call").click()
        ended = await villager.wait_state("ended")
        await wait_until(lambda: villager.shows()[-2:] == ["rating", "idle"])
    finally:
        villager.close()

    def shot(name: str) -> Path:
        return next(shots.glob(f"*-{name}.png"))

    video = pixels(shot("connected-video"))[112:912, 90:560]  # the operator's picture
    raw = speaker.read_bytes()
    sound = np.frombuffer(raw[: len(raw) // 2 * 2], np.int16)
    assert ended["call_status"] == "completed" and ended["video_frames_received"] > 0
    assert [s for s in villager.shows() if s != "calling"] == [
        "idle", "queued", "connected", "rating", "idle"
    ]  # fmt: skip
    assert "排队" in ocr(shot("queued")) and "已接通" in ocr(shot("connected-video"))
    assert "满意吗" in ocr(shot("rating"))
    assert video.std() > 20  # Chromium's fake camera, not the black of no picture
    assert np.abs(sound).max() > 1000  # the prompts reached the (file) speaker
