"""The villager's screen and voice: every state rendered by the real program, read
back by OCR, told apart from the others, and spoken in two languages.

Needs Debian's tesseract-ocr and tesseract-ocr-chi-sim (OCR), fonts-noto-cjk (or
fonts-wqy-microhei), and SDL's dummy drivers, which pygame-ce brings.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import wave
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pygame.freetype

from kiosk_client.media import GeneratedMedia
from kiosk_client.prompts import WORDS, lines_for
from kiosk_client.screen.dwell import MIN_DWELL_S, Dwell, Shown
from kiosk_client.screen.fonts import find_cjk_font
from kiosk_client.screen.pictures import operator_picture
from kiosk_client.screen.taps import ScreenMedia
from kiosk_client.screen.voice import FileVoice
from kiosk_client.screen.window import KioskScreen
from kiosk_client.status import Announcer, JsonLines, Status
from tests.support import ROOT, TIMEOUT, yijian_cmd

# What OCR must read off each state's screen (whitespace removed): a few telling
# words, not whole sentences, since OCR is fuzzy at the edges.
EXPECTED = {
    "idle": ["按下按钮", "联系镇里"],
    "calling": ["正在呼叫"],
    "queued": ["排队", "还有2位", "4分钟"],
    "connected": ["已接通"],
    "operator_lost": ["网络断了一下"],
    "incoming": ["给您回电"],
    "ended": ["通话结束"],
    "rating": ["满意吗"],
    "thanks": ["评价"],
    "cancelled": ["取消呼叫"],
    "unanswered": ["无人接听"],
    "out_of_hours": ["下班时间", "08:00"],
    "declined": ["拒接"],
    "offline": ["网络断了", "重新连接"],
    "offline_calling": ["呼叫已记下"],
    "offline_in_call": ["恢复通话"],
    "offline_expired": ["没有发出"],
    "revoked": ["设备已停用"],
}
ACCEPTANCE_STATES = ("idle", "calling", "queued", "connected", "ended", "offline")


def render(out: Path, *language: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    return subprocess.run(
        yijian_cmd("kiosk", "--render-states", str(out), *language),
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT * 4,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered(artifacts: Path) -> Callable[[str], Path]:
    """``yijian kiosk --render-states`` run once per language, as a villager's kiosk would."""
    done: dict[str, Path] = {}

    def get(language: str) -> Path:
        if language not in done:
            out = artifacts / "kiosk-screens" / language
            shutil.rmtree(out, ignore_errors=True)
            args = ("--language", language) if language != "cmn" else ()
            result = render(out, *args)
            assert result.returncode == 0, result.stderr
            done[language] = out
        return done[language]

    return get


def pixels(path: Path) -> np.ndarray:
    return pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.int16)


def ocr(path: Path) -> str:
    assert shutil.which("tesseract"), "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
    result = subprocess.run(["tesseract", str(path), "-", "-l", "chi_sim"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return re.sub(r"\s+", "", result.stdout)


@pytest.mark.parametrize("state", list(EXPECTED))
def test_each_screen_reads_its_words(rendered, state):
    png = rendered("cmn") / f"{state}.png"
    read = ocr(png)
    assert [w for w in EXPECTED[state] if w not in read] == [], f"{state}: OCR read {read!r}"


def test_every_state_is_a_picture_of_its_own(rendered):
    out = rendered("cmn")
    states = sorted(p.stem for p in out.glob("*.png"))
    images = {state: pixels(out / f"{state}.png") for state in states}
    assert set(states) == set(WORDS) == set(EXPECTED) and set(ACCEPTANCE_STATES) <= set(states)
    for state, image in images.items():
        width, height, _ = image.shape
        assert width >= 800 and height >= 480, f"{state} is {width}x{height}"
        assert image.std() > 20, f"{state} is nearly blank"
    for (a, one), (b, other) in itertools.combinations(images.items(), 2):
        differing = (np.abs(one - other).max(axis=2) > 24).mean()
        assert differing > 0.02, f"{a} and {b} look alike ({differing:.1%} of pixels differ)"


@pytest.mark.parametrize("language", ["cmn", "yue"])
def test_each_state_has_its_spoken_prompt(rendered, language):
    out = rendered(language)
    for state in WORDS:
        with wave.open(str(out / f"{state}.wav")) as wav:
            seconds = wav.getnframes() / wav.getframerate()
            assert (wav.getnchannels(), wav.getframerate()) == (1, 16000), state
            assert 1.0 < seconds < 12.0, f"{language}/{state}.wav lasts {seconds:.1f} s"
    if language == "yue":  # not the Mandarin files under another name
        cmn = rendered("cmn")
        assert (out / "idle.wav").read_bytes() != (cmn / "idle.wav").read_bytes()
        assert (out / "idle.png").read_bytes() == (cmn / "idle.png").read_bytes()


def test_no_word_on_any_screen_lacks_a_glyph():
    font_file = find_cjk_font()
    pygame.freetype.init()
    font = pygame.freetype.Font(font_file.path, 40, font_index=font_file.index)
    text = "".join(w.title + w.detail + w.spoken for w in WORDS.values()) + "0123456789:-"
    missing = {char for char, metrics in zip(text, font.get_metrics(text), strict=True)
               if metrics is None}  # fmt: skip
    assert missing == set()


def test_render_states_says_which_package_to_install_without_a_chinese_font(tmp_path):
    config = tmp_path / "fonts.conf"
    config.write_text("<?xml version='1.0'?><fontconfig></fontconfig>")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "FONTCONFIG_FILE": str(config)}
    result = subprocess.run(
        yijian_cmd("kiosk", "--render-states", str(tmp_path / "out")),
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT * 4,
    )  # fmt: skip
    assert result.returncode == 2 and "fonts-noto-cjk" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_towns_recording_replaces_the_shipped_prompt(tmp_path):
    town = tmp_path / "town"
    town.mkdir()
    (town / "idle.wav").write_bytes(b"RIFF our own recording")
    voice = FileVoice(tmp_path / "played", "yue", town)
    voice.say("idle")
    voice.say("calling")
    played = sorted((tmp_path / "played").iterdir())
    shipped = ROOT / "kiosk_client" / "voice" / "yue" / "calling.wav"
    assert [p.name for p in played] == ["001-idle.wav", "002-calling.wav"]
    assert played[0].read_bytes() == b"RIFF our own recording"
    assert played[1].read_bytes() == shipped.read_bytes()


def shown(status: Status) -> Shown:
    return Shown(*lines_for(status))


IDLE, CALLING = shown(Status("idle")), shown(Status("idle", view="calling"))
RATING = shown(Status("ended", "c1", extra={"call_status": "completed"}))


def test_idle_waits_until_the_end_of_a_call_has_been_read():
    dwell = Dwell(IDLE, ended_dwell_s=8, rating_dwell_s=15)
    dwell.offer(shown(Status("ended", "c1", extra={"call_status": "failed"})), now=100)
    dwell.offer(IDLE, now=100.01)  # the kiosk says idle the instant a call ends
    assert [dwell.at(t).state for t in (100.02, 107.9, 108.0)] == ["ended", "ended", "idle"]


def test_the_rating_stays_for_the_rating_window_and_a_press_shows_at_once():
    dwell = Dwell(IDLE, ended_dwell_s=8, rating_dwell_s=15)
    dwell.offer(RATING, now=0)
    dwell.offer(IDLE, now=0)
    assert dwell.at(14.9).state == "rating" and dwell.next_change(14.9) == pytest.approx(0.1)
    dwell.offer(CALLING, now=5)  # a new press: the villager must see it answered
    assert dwell.at(5).state == "calling"


def test_a_screen_without_a_follower_goes_back_to_idle_by_itself():
    dwell = Dwell(IDLE, ended_dwell_s=4, rating_dwell_s=4)
    dwell.offer(shown(Status("idle", extra={"rated": "satisfied"})), now=0)
    assert [dwell.at(t).state for t in (3.9, 4.0)] == ["thanks", "idle"]
    dwell.offer(CALLING, now=10)
    dwell.offer(IDLE, now=10.5)  # the press went nowhere: back to idle, but not in a flash
    assert [dwell.at(t).state for t in (10.6, 10 + MIN_DWELL_S)] == ["calling", "idle"]


def test_the_calling_screen_adds_no_line_to_the_status_json():
    out = io.StringIO()
    announcer = Announcer(JsonLines(out))
    for status in (Status("idle"), Status("idle", view="calling"), Status("offline"),
                   Status("offline", view="calling"), Status("idle", view="calling"),
                   Status("queued", "c1", 1)):  # fmt: skip
        announcer.say(status)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(s["state"], s["call_id"]) for s in lines] == [
        ("idle", None), ("offline", None), ("idle", None), ("queued", "c1")
    ]  # fmt: skip
    assert all("view" not in s and "screen_only" not in s for s in lines)


async def wait_until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the screen did not change"
        await asyncio.sleep(0.02)


async def test_the_window_shows_speaks_and_holds_each_state(tmp_path, artifacts):
    voice = FileVoice(tmp_path / "said", "cmn")
    screen = KioskScreen(voice, size=(1024, 600), ended_dwell_s=0.5, rating_dwell_s=0.5)
    await screen.open()
    try:
        screen.show(Status("idle"))
        screen.show(Status("idle", view="calling"))
        await wait_until(lambda: screen.painted == CALLING)
        screen.show(Status("connected", "c1"))
        frame = av.VideoFrame.from_ndarray(operator_picture(320, 240), format="rgb24")
        screen.operator_frame(frame)
        await wait_until(lambda: screen.painted is not None and screen.painted.state == "connected")
        await asyncio.sleep(0.2)  # the frame, drawn at the screen's own pace
        screen.save(str(artifacts / "kiosk-window-connected.png"))
        middle = pixels(artifacts / "kiosk-window-connected.png")[512, 300]
        screen.show(Status("ended", "c1", extra={"call_status": "completed"}))
        screen.show(Status("idle"))
        await wait_until(lambda: screen.painted == RATING)
        await wait_until(lambda: screen.painted == IDLE)
    finally:
        await screen.close()
    assert tuple(middle) == (236, 196, 160)  # the operator's face fills the screen's middle
    assert voice.said == ["calling", "connected", "rating", "idle"]


async def test_the_screen_sees_both_pictures_of_a_call_as_they_pass():
    own: list[av.VideoFrame] = []
    remote: list[av.VideoFrame] = []
    local = ScreenMedia(GeneratedMedia(), own.append, remote.append).open()
    sent = await local.video.recv()
    local.close()
    assert own == [sent] and local.show_remote == remote.append
    assert local.video.readyState == "ended"


def windowed_kiosk(base: str, kiosk_id: str, token: str, log: Path, env: dict[str, str]):
    """``yijian kiosk`` as a villager's kiosk runs it: a window (SDL's dummy driver here)
    and a voice, plus ``--status-json`` for the test."""
    with log.open("wb") as stderr:
        return subprocess.Popen(
            yijian_cmd("kiosk", "--server", base, "--kiosk-id", kiosk_id, "--token", token,
                       "--media", "test", "--button", "stdin", "--status-json"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            env={**os.environ, **env}, cwd=ROOT,
        )  # fmt: skip


async def next_status(kiosk: subprocess.Popen[bytes]) -> dict:
    assert kiosk.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(kiosk.stdout.readline), TIMEOUT)
    return json.loads(line)


async def test_a_windowed_kiosk_shows_and_says_out_of_hours_and_its_json_is_unchanged(
    make_town, hub, artifacts, tmp_path
):
    now = datetime.now(UTC) + timedelta(hours=8)  # the town's clock (utc_offset_h 8)
    opens, closes = now + timedelta(hours=6), now + timedelta(hours=7)
    town = await make_town(hours=f"{opens:%H:%M}-{closes:%H:%M}")
    kiosk_id, token = next(iter(town.kiosks.items()))
    speaker, log_path = tmp_path / "speaker.raw", artifacts / f"kiosk-window-{kiosk_id}.log"
    kiosk = windowed_kiosk(hub.base, kiosk_id, token, log_path, {
        "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(speaker),
        "YIJIAN_KIOSK_SCREEN_SIZE": "1024x600", "YIJIAN_KIOSK_ENDED_DWELL_S": "1",
    })  # fmt: skip
    try:
        lines = [await next_status(kiosk)]
        assert kiosk.stdin is not None
        kiosk.stdin.write(b"\n")
        kiosk.stdin.flush()
        while lines[-1]["state"] != "ended":
            lines.append(await next_status(kiosk))
        lines.append(await next_status(kiosk))
        back = re.compile(r"the screen shows out_of_hours.*the screen shows idle", re.DOTALL)
        await wait_until(lambda: back.search(log_path.read_text()) is not None)
    finally:
        kiosk.terminate()
        out, _ = await asyncio.to_thread(kiosk.communicate, timeout=TIMEOUT)
    log_text = log_path.read_text()
    shows = re.findall(r"the screen shows (\w+)", log_text)
    raw = speaker.read_bytes()
    sound = np.frombuffer(raw[: len(raw) // 2 * 2], np.int16)
    assert out == b""  # nothing more, and no stray banner on the JSON stream
    assert [line["state"] for line in lines] in (
        ["idle", "ended", "idle"], ["idle", "queued", "ended", "idle"]
    ) and lines[-2]["end_reason"] == "closed"  # fmt: skip
    # calling and queued last as long as the hub takes to turn the call away: a few ms,
    # too short for a frame; the log says the screen was told
    assert "state idle (calling)" in log_text
    assert [s for s in shows if s not in ("calling", "queued")] == ["idle", "out_of_hours", "idle"]
    assert np.abs(sound).max() > 1000  # the prompts reached the (file) speaker
