"""Where presses of the call button come from: stdin lines, a key, or a GPIO pin.

Each source is an async iterator of presses that ends when its input ends, which
stops the kiosk cleanly (the way a test says "that's all").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import termios
import threading
import tty
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

GPIO_ROOT = Path("/sys/class/gpio")
GPIO_POLL_S = 0.01
GPIO_STABLE_POLLS = 3  # 30 ms of a steady level, so contact bounce is one press


class ButtonUnavailable(Exception):
    """The configured button cannot be read."""


class Button(Protocol):
    def presses(self) -> AsyncIterator[str]:
        """Each press, as the text that came with it ("" for a plain press)."""
        ...


class StdinButton:
    """Each line on standard input is one press; end of input ends the presses.
    A press carries its line's text, so that ``满意``/``不满意`` can rate a call.

    A daemon thread reads, because a blocking read cannot be cancelled and
    ``connect_read_pipe`` refuses regular files (``kiosk < presses.txt``). It reads
    the raw descriptor: a thread parked inside ``sys.stdin``'s buffered reader holds
    its lock, and the interpreter aborts at exit when it finds that lock taken.
    """

    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd

    async def presses(self) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def put(item: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed while we read
                loop.call_soon_threadsafe(lines.put_nowait, item)

        def read() -> None:
            pending = b""  # a last line without its newline is still a press
            try:
                while chunk := os.read(self._fd, 4096):
                    *complete, pending = (pending + chunk).split(b"\n")
                    for line in complete:
                        put(line.decode(errors="replace").strip())
            except OSError as exc:
                logger.warning("reading the button from stdin failed: %s", exc)
            if pending:
                put(pending.decode(errors="replace").strip())
            put(None)

        threading.Thread(target=read, name="kiosk-stdin", daemon=True).start()
        while (line := await lines.get()) is not None:
            yield line


class KeyButton:
    """Enter or space on the controlling terminal is a press; Ctrl-D ends."""

    PRESS_KEYS = frozenset(b"\r\n ")
    END_KEYS = frozenset(b"\x04")

    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        if not os.isatty(self._fd):
            raise ButtonUnavailable("--button key needs a terminal on standard input")

    async def presses(self) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        keys: asyncio.Queue[bytes] = asyncio.Queue()
        loop.add_reader(self._fd, lambda: keys.put_nowait(os.read(self._fd, 64)))
        try:
            with _cbreak(self._fd):
                while chunk := await keys.get():
                    if any(b in self.END_KEYS for b in chunk):
                        return
                    for _ in range(sum(b in self.PRESS_KEYS for b in chunk)):
                        yield ""
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


class GpioButton:
    """A button on a sysfs GPIO pin: a press is the level leaving its resting value.

    The resting level is read at start, so the button may pull up or down.
    """

    def __init__(self, pin: int, root: Path = GPIO_ROOT) -> None:
        self.path = root / f"gpio{pin}" / "value"
        if not self.path.exists():
            raise ButtonUnavailable(
                f"no GPIO pin {pin}: {self.path} is missing "
                f"(export it first: echo {pin} > {root}/export)"
            )

    def _read(self) -> str:
        return self.path.read_text().strip()

    async def presses(self) -> AsyncGenerator[str, None]:
        rest = self._read()
        level, steady, pressed = rest, 0, False
        while True:
            await asyncio.sleep(GPIO_POLL_S)
            try:
                now = self._read()
            except OSError as exc:
                logger.error("GPIO %s can no longer be read: %s", self.path, exc)
                return
            steady = steady + 1 if now == level else 0
            level = now
            if steady == GPIO_STABLE_POLLS:
                if level != rest and not pressed:
                    pressed = True
                    yield ""
                elif level == rest:
                    pressed = False


def make_button(spec: str) -> Button:
    if spec == "stdin":
        return StdinButton()
    if spec == "key":
        return KeyButton()
    if spec.startswith("gpio:"):
        return GpioButton(int(spec.removeprefix("gpio:")))
    raise ButtonUnavailable(f"expected stdin, key or gpio:PIN, found {spec!r}")
