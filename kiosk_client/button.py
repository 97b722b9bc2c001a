"""Where presses of the call button come from, behind one interface.

A ``Button`` is an async iterator of ``ButtonEvent``: a ``Press`` (short, or long
when held ``long_press_s``), and the button's health (``ButtonStuck``,
``ButtonFault``). Sources: ``stdin`` (this module: a line is a press), ``key`` (a
key under the kiosk's window, or on its terminal: ``keys``) and ``gpio`` (a line
through libgpiod: ``gpio``). Levels become gestures in ``gesture``.

Only ``stdin`` ends, at end of input, which stops the kiosk cleanly (the way a test
says "that's all"). A GPIO line that cannot be read is reported and read again;
it never ends the kiosk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)

# A stdin line that is a long press, for automation (a terminal cannot hold a key).
LONG_LINES = frozenset({"long", "长按"})


@dataclass(frozen=True)
class Press:
    text: str = ""  # the stdin line; 满意/不满意 rate the call just ended
    long: bool = False  # held long_press_s: 不满意 after a call, else as a press


@dataclass(frozen=True)
class ButtonStuck:
    stuck: bool  # held stuck_s: ignored until released (False: released again)


@dataclass(frozen=True)
class ButtonFault:
    reason: str | None  # the button cannot be read now (None: it can again)


ButtonEvent = Press | ButtonStuck | ButtonFault


class ButtonUnavailable(Exception):
    """The configured button cannot be read."""


class Button(Protocol):
    def events(self) -> AsyncIterator[ButtonEvent]:
        """Presses and health changes, as they happen."""
        ...


class StdinButton:
    """Each line on standard input is one press; end of input ends the presses.
    A press carries its line's text, so that ``满意``/``不满意`` can rate a call, and
    ``long`` is a long press.

    A daemon thread reads, because a blocking read cannot be cancelled and
    ``add_reader`` refuses regular files (a script redirected from a file).
    """

    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd

    async def events(self) -> AsyncGenerator[ButtonEvent, None]:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                with os.fdopen(os.dup(self._fd), "rb", buffering=0) as stream:
                    for raw in stream:
                        text = raw.decode("utf-8", "replace").strip()
                        loop.call_soon_threadsafe(lines.put_nowait, text)
            except (OSError, ValueError, RuntimeError) as exc:
                logger.warning("standard input can no longer be read: %s", exc)
            finally:
                # RuntimeError: the loop closed first, and nobody is listening
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="kiosk-stdin", daemon=True).start()
        while (line := await lines.get()) is not None:
            yield Press(line, long=line.lower() in LONG_LINES)


def stdin_is_null(fd: int = 0) -> bool:
    """Is standard input closed or /dev/null, as under systemd (``StandardInput=null``)?"""
    try:
        mode = os.fstat(fd)
        null = os.stat(os.devnull)
    except OSError:
        return True
    return stat.S_ISCHR(mode.st_mode) and mode.st_rdev == null.st_rdev


def resolve_spec(spec: str, *, windowed: bool, stdin_null: bool) -> str:
    """The button to use: ``stdin`` at /dev/null (a service) would end at once, so
    under a window it becomes ``key``; headless, it is an error that says what to set."""
    if spec != "stdin" or not stdin_null:
        return spec
    if windowed:
        logger.warning(
            "standard input is /dev/null (a service?): --button stdin would stop the kiosk "
            "at once; reading the key under the kiosk's window instead (--button key)"
        )
        return "key"
    raise ButtonUnavailable(
        "--button stdin reads presses from standard input, which is /dev/null here "
        "(a service?), so the kiosk would stop at once; set YIJIAN_KIOSK_BUTTON "
        "to gpio:CHIP:LINE, or to key with a window"
    )


def make_button(
    spec: str,
    *,
    long_press_s: float = 2.0,
    stuck_s: float = 60.0,
    active_low: bool = True,
    listen_keys: Callable[[Callable[[str, bool], None]], None] | None = None,
) -> Button:
    """The button ``spec`` names; ``listen_keys`` hands a key listener to the kiosk's
    window when there is one. ButtonUnavailable when it cannot be read."""
    from kiosk_client.gesture import Gestures

    if spec == "stdin":
        return StdinButton()
    if spec == "key" or spec.startswith("key:"):
        from kiosk_client.keys import TerminalKeys, WindowKeys, key_names

        if listen_keys is None:
            return TerminalKeys()
        keys = WindowKeys(key_names(spec), Gestures(long_press_s, stuck_s))
        listen_keys(keys.feed)
        return keys
    if spec.startswith("gpio:"):
        from kiosk_client.gpio import DEBOUNCE_S, GpioButton, GpiodLine, parse_spec

        chip, line = parse_spec(spec)
        GpiodLine(chip, line, active_low).close()  # refuse a missing chip or line now

        def open_line() -> GpiodLine:
            return GpiodLine(chip, line, active_low)

        gestures = Gestures(long_press_s, stuck_s, DEBOUNCE_S)
        return GpioButton(open_line, f"GPIO line {line} of {chip}", gestures)
    raise ButtonUnavailable(f"expected stdin, key, gpio:PIN or gpio:CHIP:LINE, found {spec!r}")
