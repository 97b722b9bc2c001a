"""A button on a GPIO line, read through libgpiod v2 (the ``gpiod`` package).

``gpio:CHIP:LINE`` names the line by its chip (``gpiochip0`` or ``/dev/gpiochip0``)
and its offset or name (``17``, ``GPIO17``); ``gpio:PIN`` is chip 0, offset PIN. These
are the chip's own offsets, as ``gpioinfo`` lists them, not the numbers of the
deprecated sysfs interface: Raspberry Pi kernels from 6.6 number the header's pins
from 512 there (``/sys/class/gpio/gpio529`` is BCM 17), so ``gpio:529`` is refused
with a hint.

The line is asked for as an input with a pull-up and active-low (the button shorts
it to ground) unless ``button_active_low`` is off (pull-down, active-high). The
resting level is therefore known from the wiring, never read at start: a button
held at start is not mistaken for rest (``gesture``).

``GpiodLine`` is the whole binding to libgpiod; ``GpioButton`` polls any ``Line``
(a fake one in the tests) and turns read errors into ``ButtonFault`` events and
retries with backoff. It never ends by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Protocol

from kiosk_client.backoff import Backoff
from kiosk_client.button import ButtonEvent, ButtonFault, ButtonUnavailable
from kiosk_client.gesture import Gestures

logger = logging.getLogger(__name__)

POLL_S = 0.01
DEBOUNCE_S = 0.03  # 30 ms of a steady level, so contact bounce is one press
SYSFS_BASE = 512  # where Raspberry Pi kernels >= 6.6 start the header's sysfs numbers


class Line(Protocol):
    def read(self) -> bool:
        """True while the button is pressed; OSError when the line cannot be read."""
        ...

    def close(self) -> None: ...


def parse_spec(spec: str) -> tuple[str, int | str]:
    """``gpio:17`` / ``gpio:gpiochip0:17`` / ``gpio:/dev/gpiochip4:GPIO17``:
    ``(chip path, offset or line name)``."""
    rest = spec.removeprefix("gpio:")
    chip, _, line = rest.rpartition(":")
    chip = chip or "gpiochip0"
    path = chip if chip.startswith("/") else f"/dev/{chip}"
    if not line.isdigit():
        return path, line
    offset = int(line)
    if offset >= SYSFS_BASE and ":" not in rest:
        raise ButtonUnavailable(
            f"gpio:{offset} looks like a sysfs number (Raspberry Pi kernels from 6.6 number "
            f"the header from {SYSFS_BASE}); name the chip's offset instead, e.g. "
            f"gpio:gpiochip0:{offset - SYSFS_BASE} (gpioinfo lists the lines)"
        )
    return path, offset


class GpiodLine:
    """One input line requested from libgpiod v2."""

    def __init__(self, chip: str, line: int | str, active_low: bool = True) -> None:
        try:
            import gpiod
            from gpiod.line import Bias, Direction, Value
        except ImportError:
            raise ButtonUnavailable(
                "a GPIO button needs libgpiod's Python binding: pip install gpiod"
            ) from None
        settings = gpiod.LineSettings(
            direction=Direction.INPUT,
            bias=Bias.PULL_UP if active_low else Bias.PULL_DOWN,
            active_low=active_low,
        )
        self._active = Value.ACTIVE
        self._line = line
        try:
            self._request = gpiod.request_lines(chip, {line: settings}, consumer="yijian-kiosk")
        except (OSError, ValueError) as exc:
            raise ButtonUnavailable(f"cannot request GPIO line {line} of {chip}: {exc}") from exc

    def read(self) -> bool:
        return bool(self._request.get_value(self._line) == self._active)

    def close(self) -> None:
        self._request.release()


class GpioButton:
    def __init__(
        self,
        open_line: Callable[[], Line],
        name: str,
        gestures: Gestures,
        backoff: Backoff | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self._open_line = open_line
        self.name = name
        self._gestures = gestures
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._poll_s = poll_s

    async def events(self) -> AsyncGenerator[ButtonEvent, None]:
        loop = asyncio.get_running_loop()
        line: Line | None = None
        fault: str | None = None
        try:
            while True:
                try:
                    if line is None:
                        line = self._open_line()
                    pressed = line.read()
                except (OSError, ButtonUnavailable) as exc:
                    reason = f"{self.name} cannot be read: {exc}"
                    delay = self._backoff.next()
                    logger.error("%s; trying again in %.1f s", reason, delay)
                    if fault is None:
                        fault = reason
                        for event in self._gestures.reset():
                            yield event
                        yield ButtonFault(reason)
                    _close(line)
                    line = None
                    await asyncio.sleep(delay)
                    continue
                if fault is not None:
                    logger.info("%s can be read again", self.name)
                    fault = None
                    self._backoff.reset()
                    yield ButtonFault(None)
                for event in self._gestures.level(pressed, loop.time()):
                    yield event
                await asyncio.sleep(self._poll_s)
        finally:
            _close(line)


def _close(line: Line | None) -> None:
    if line is not None:
        try:
            line.close()
        except OSError as exc:
            logger.warning("closing the GPIO line failed: %s", exc)
