"""The call button, from every source: gestures from levels (short, long, stuck,
held at start, bounce), a GPIO line through a fake line object that reads and fails
like a real one, keys under a real pygame window, stdin, and the gestures' meaning
in a real kiosk process: a long press cancels a wait, a press after a call rates it,
and a kiosk run as a service does not stop at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from kiosk_client.backoff import Backoff
from kiosk_client.button import (
    ButtonEvent,
    ButtonFault,
    ButtonStuck,
    ButtonUnavailable,
    Press,
    resolve_spec,
    stdin_is_null,
)
from kiosk_client.gesture import Gestures
from kiosk_client.gpio import GpioButton, parse_spec
from kiosk_client.keys import WindowKeys, key_names
from kiosk_client.screen.voice import FileVoice
from kiosk_client.screen.window import KioskScreen
from tests.conftest import Town
from tests.kiosk_support import AiortcOperator, Kiosk
from tests.support import TIMEOUT, HubProcess, WsClient

# --- gestures from levels ------------------------------------------------------------


def run(gestures: Gestures, levels: list[tuple[float, bool]]) -> list[ButtonEvent]:
    """Feed ``(time, pressed)`` readings; every gesture they make."""
    events: list[ButtonEvent] = []
    for now, pressed in levels:
        events += gestures.level(pressed, now)
    return events


def test_a_press_counts_at_release_and_a_long_one_at_its_threshold() -> None:
    short = run(Gestures(2.0, 60.0), [(0, False), (1, True), (1.3, False)])
    long = run(Gestures(2.0, 60.0), [(0, False), (1, True), (2.9, True), (3.0, True), (9, False)])

    assert short == [Press()]
    assert long == [Press(long=True)]  # once, at 2 s held, and nothing at the release


def test_a_button_held_a_minute_is_stuck_ignored_then_works_again() -> None:
    gestures = Gestures(2.0, 60.0)
    held = run(gestures, [(0, False), (1, True), (3, True), (61, True), (90, True)])
    released = run(gestures, [(95, False)])
    again = run(gestures, [(96, True), (96.2, False)])

    assert held == [Press(long=True), ButtonStuck(True)]
    assert released == [ButtonStuck(False)] and again == [Press()]


def test_a_button_held_at_start_is_not_the_resting_level() -> None:
    gestures = Gestures(2.0, 60.0)
    at_start = run(gestures, [(0, True), (1, True), (5, True), (6, False)])
    then = run(gestures, [(7, True), (7.2, False)])

    assert at_start == [] and then == [Press()]


def test_contact_bounce_is_one_press() -> None:
    bounces = [(0, False), (1.0, True), (1.004, False), (1.008, True), (1.2, True),
               (1.3, False), (1.302, True), (1.304, False), (1.4, False)]  # fmt: skip
    assert run(Gestures(2.0, 60.0, debounce_s=0.03), bounces) == [Press()]


# --- a GPIO line -----------------------------------------------------------------------


class FakeLine:
    """The small interface of ``gpio.GpiodLine``: a level to read, an error to raise."""

    opened = 0

    def __init__(self, board: FakeBoard) -> None:
        self.board = board
        FakeLine.opened += 1
        board.opens += 1

    def read(self) -> bool:
        if self.board.failing:
            raise OSError(5, "Input/output error")
        return self.board.pressed

    def close(self) -> None:
        self.board.closes += 1


class FakeBoard:
    def __init__(self, pressed: bool = False) -> None:
        self.pressed = pressed
        self.failing = False
        self.opens = 0
        self.closes = 0


async def events_of(button: GpioButton) -> AsyncIterator[ButtonEvent]:
    async for event in button.events():
        yield event


async def next_event(events: AsyncIterator[ButtonEvent]) -> ButtonEvent:
    return await asyncio.wait_for(anext(events), TIMEOUT)


def gpio(board: FakeBoard, long_press_s: float = 0.3, stuck_s: float = 0.8) -> GpioButton:
    gestures = Gestures(long_press_s, stuck_s, debounce_s=0.03)
    return GpioButton(lambda: FakeLine(board), "GPIO line 17 of /dev/gpiochip0", gestures,
                      Backoff(0.02, 0.1), poll_s=0.005)  # fmt: skip


async def test_a_gpio_line_gives_presses_long_presses_and_a_stuck_button() -> None:
    board = FakeBoard()
    events = gpio(board).events()
    first = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0.05)
    board.pressed = True
    await asyncio.sleep(0.1)
    board.pressed = False
    short = await first
    board.pressed = True
    long = await next_event(events)
    stuck = await next_event(events)
    board.pressed = False
    unstuck = await next_event(events)
    await events.aclose()  # type: ignore[attr-defined]

    assert (short, long, stuck, unstuck) == (
        Press(), Press(long=True), ButtonStuck(True), ButtonStuck(False)
    )  # fmt: skip
    assert board.closes == board.opens == 1


async def test_a_gpio_read_error_is_reported_and_read_again_with_backoff() -> None:
    board = FakeBoard()
    events = gpio(board).events()
    reading = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0.05)
    board.failing = True
    fault = await reading
    recovering = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0.2)  # several retries, each opening the line anew
    board.failing = False
    back = await recovering
    pressing = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0.05)
    board.pressed = True
    await asyncio.sleep(0.1)
    board.pressed = False
    press = await pressing
    await events.aclose()  # type: ignore[attr-defined]

    assert isinstance(fault, ButtonFault) and "Input/output error" in (fault.reason or "")
    assert back == ButtonFault(None) and press == Press()
    assert board.opens >= 3 and board.closes == board.opens


async def test_a_gpio_button_held_at_start_calls_nobody() -> None:
    board = FakeBoard(pressed=True)
    events = gpio(board, long_press_s=0.1, stuck_s=5).events()
    first = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0.3)  # held past a long press: still nothing
    assert not first.done()
    board.pressed = False
    await asyncio.sleep(0.05)
    board.pressed = True
    await asyncio.sleep(0.05)
    board.pressed = False
    assert await first == Press()
    await events.aclose()  # type: ignore[attr-defined]


def test_gpio_lines_are_named_by_chip_and_offset_never_by_sysfs_number() -> None:
    assert parse_spec("gpio:17") == ("/dev/gpiochip0", 17)
    assert parse_spec("gpio:gpiochip4:17") == ("/dev/gpiochip4", 17)
    assert parse_spec("gpio:/dev/gpiochip0:GPIO17") == ("/dev/gpiochip0", "GPIO17")
    with pytest.raises(ButtonUnavailable, match="gpio:gpiochip0:17"):
        parse_spec("gpio:529")


# --- keys under the kiosk's window -----------------------------------------------------


async def test_keys_under_the_window_are_short_and_long_presses(tmp_path: Path) -> None:
    screen = KioskScreen(FileVoice(tmp_path, "cmn"), size=(800, 480))
    keys = WindowKeys(key_names("key:space,1"), Gestures(0.3, 60.0))
    screen.listen_keys(keys.feed)
    await screen.open()
    events = keys.events()
    try:
        first = asyncio.ensure_future(next_event(events))
        for kind, key in ((pygame.KEYDOWN, pygame.K_a), (pygame.KEYUP, pygame.K_a),
                          (pygame.KEYDOWN, pygame.K_1)):  # fmt: skip
            pygame.event.post(pygame.event.Event(kind, key=key))
        await asyncio.sleep(0.1)
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_1))
        short = await first
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
        long = await next_event(events)
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE))
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        await screen.close()

    assert (short, long) == (Press(), Press(long=True))  # "a" is not the button


# --- a kiosk run as a service ----------------------------------------------------------


def test_stdin_at_dev_null_is_seen_and_the_button_chosen_for_it() -> None:
    with open(os.devnull, "rb") as null:
        assert stdin_is_null(null.fileno())
    read_end, write_end = os.pipe()
    assert not stdin_is_null(read_end)
    os.close(read_end)
    os.close(write_end)
    assert resolve_spec("stdin", windowed=True, stdin_null=True) == "key"
    assert resolve_spec("gpio:17", windowed=False, stdin_null=True) == "gpio:17"
    with pytest.raises(ButtonUnavailable, match="/dev/null"):
        resolve_spec("stdin", windowed=False, stdin_null=True)


async def test_a_headless_service_with_stdin_at_dev_null_fails_with_a_reason(
    hub: HubProcess, make_town: Callable[..., Awaitable[Town]], artifacts: Path
) -> None:
    town = await make_town(kiosks=1, operators=0)
    kiosk_id, token = next(iter(town.kiosks.items()))
    villager = Kiosk(hub.base, kiosk_id, token, artifacts, stdin=subprocess.DEVNULL)
    code = await asyncio.to_thread(villager.process.wait, TIMEOUT)
    villager.close()

    assert code == 2 and "YIJIAN_KIOSK_BUTTON" in villager.log()


async def test_a_windowed_service_with_stdin_at_dev_null_keeps_running_on_keys(
    hub: HubProcess, make_town: Callable[..., Awaitable[Town]], artifacts: Path
) -> None:
    town = await make_town(kiosks=1, operators=0)
    kiosk_id, token = next(iter(town.kiosks.items()))
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "YIJIAN_KIOSK_SCREEN_SIZE": "800x480"}  # fmt: skip
    villager = Kiosk(hub.base, kiosk_id, token, artifacts, headless=False, env=env,
                     stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        idle = await villager.wait_state("idle")
        await villager.log_says("the screen shows idle", TIMEOUT)
        running = villager.process.poll() is None
    finally:
        villager.process.terminate()
        code = await asyncio.to_thread(villager.process.wait, TIMEOUT)
        villager.close()

    assert idle["state"] == "idle" and running and code == 0
    assert "reading the key under the kiosk's window" in villager.log()


# --- what the gestures do in a kiosk ---------------------------------------------------


@pytest.fixture
async def operators() -> AsyncIterator[list[AiortcOperator]]:
    made: list[AiortcOperator] = []
    yield made
    for operator in made:
        await operator.close()


@pytest.fixture
def kiosk(hub: HubProcess, artifacts: Path):
    started: list[Kiosk] = []

    def start(kiosk_id: str, token: str, *args: str, **options) -> Kiosk:  # type: ignore[no-untyped-def]
        process = Kiosk(hub.base, kiosk_id, token, artifacts, *args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


async def test_a_long_press_cancels_a_waiting_call(
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk: Callable[..., Kiosk],
    operators: list[AiortcOperator],
) -> None:
    town = await make_town(kiosks=1, operators=1, max_wait_s=120)
    operators.append(await AiortcOperator.ready(operator_ws, town.operators[0], available=False))
    villager = kiosk(*next(iter(town.kiosks.items())))
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    villager.say("long")
    ended = await villager.wait_state("ended")

    assert (ended["call_id"], ended["call_status"]) == (call_id, "abandoned")


async def answered_and_hung_up(
    town: Town, villager: Kiosk, operator: AiortcOperator
) -> dict[str, object]:
    await villager.wait_state("idle")
    villager.press()
    call_id = (await villager.wait_state("queued"))["call_id"]
    await operator.answer(call_id)
    await villager.wait_state("connected")
    await operator.console.send({"type": "hangup", "call_id": call_id})
    return await villager.wait_state("ended")


@pytest.mark.parametrize(("line", "value"), [("", "satisfied"), ("long", "unsatisfied")])
async def test_after_a_call_a_short_press_is_satisfied_and_a_long_one_is_not(
    line: str,
    value: str,
    make_town: Callable[..., Awaitable[Town]],
    operator_ws: Callable[[str], Awaitable[WsClient]],
    kiosk: Callable[..., Kiosk],
    operators: list[AiortcOperator],
) -> None:
    town = await make_town(kiosks=1, operators=1)
    operator = await AiortcOperator.ready(operator_ws, town.operators[0])
    operators.append(operator)
    villager = kiosk(*next(iter(town.kiosks.items())))
    ended = await answered_and_hung_up(town, villager, operator)
    villager.say(line)
    rated = await villager.wait_for(lambda s: "rated" in s)
    villager.press()  # the window is closed: this one calls again
    again = await villager.wait_state("queued")

    assert ended["call_status"] == "completed"
    assert (rated["rated"], rated["rated_call_id"]) == (value, ended["call_id"])
    assert again["call_id"] != ended["call_id"]
