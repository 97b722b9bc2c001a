"""Buttons that are keys: USB arcade buttons present themselves as a keyboard.

``WindowKeys`` reads key-down and key-up under the kiosk's window (pygame), so it
sees how long a key is held: short and long presses, a stuck key. ``TerminalKeys``
reads the controlling terminal, for a kiosk without a window; a terminal sends no
key-up, so there every key is a short press, and Ctrl-D ends.

``key`` means Space or Enter; ``key:NAMES`` lists pygame's key names, comma
separated (``key:1``, ``key:left ctrl,f1``), as an arcade encoder sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections.abc import AsyncGenerator, Iterator

from kiosk_client.button import ButtonEvent, ButtonUnavailable, Press
from kiosk_client.gesture import Gestures

DEFAULT_KEYS = frozenset({"space", "return", "enter"})


def key_names(spec: str) -> frozenset[str]:
    """``key`` or ``key:a,left ctrl``: the key names that press the button."""
    _, _, names = spec.partition(":")
    listed = frozenset(n.strip().lower() for n in names.split(",") if n.strip())
    return listed or DEFAULT_KEYS


class WindowKeys:
    """Keys seen by the kiosk's window; ``feed`` is the window's key listener."""

    def __init__(self, names: frozenset[str], gestures: Gestures) -> None:
        self.names = names
        self._gestures = gestures
        self._levels: asyncio.Queue[tuple[bool, float]] = asyncio.Queue()
        self._held: set[str] = set()

    def feed(self, name: str, down: bool) -> None:
        """A key went down or up under the window."""
        if name.lower() not in self.names:
            return
        was = bool(self._held)
        (self._held.add if down else self._held.discard)(name.lower())
        if bool(self._held) != was:
            self._levels.put_nowait((bool(self._held), asyncio.get_running_loop().time()))

    async def events(self) -> AsyncGenerator[ButtonEvent, None]:
        loop = asyncio.get_running_loop()
        gestures = self._gestures
        gestures.level(False, loop.time())  # keys start released: no key is held at start
        pressed = False
        while True:
            deadline = gestures.deadline()
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                pressed, at = await asyncio.wait_for(self._levels.get(), timeout)
            except TimeoutError:
                at = loop.time()
            for event in gestures.level(pressed, at):
                yield event


class TerminalKeys:
    """Enter or space on the controlling terminal is a press; Ctrl-D ends."""

    PRESS_KEYS = frozenset(b"\r\n ")
    END_KEYS = frozenset(b"\x04")

    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        if not os.isatty(self._fd):
            raise ButtonUnavailable(
                "--button key needs the kiosk's window, or a terminal on standard input"
            )

    async def events(self) -> AsyncGenerator[ButtonEvent, None]:
        loop = asyncio.get_running_loop()
        keys: asyncio.Queue[bytes] = asyncio.Queue()
        loop.add_reader(self._fd, lambda: keys.put_nowait(os.read(self._fd, 64)))
        try:
            with _cbreak(self._fd):
                while chunk := await keys.get():
                    if any(b in self.END_KEYS for b in chunk):
                        return
                    for _ in range(sum(b in self.PRESS_KEYS for b in chunk)):
                        yield Press()
        finally:
            loop.remove_reader(self._fd)


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys arrive one at a time, unechoed; Ctrl-C still sends SIGINT."""
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
