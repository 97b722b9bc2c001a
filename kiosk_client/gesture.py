"""One button's levels in, the villager's gestures out: a short press, a long press,
a button stuck down.

A short press counts when the button is released; held ``long_press_s`` it is a long
press at once, without waiting for the release. Held ``stuck_s`` (a jammed button,
a leaning broom) it is reported stuck and ignored until released. A button already
held when reading starts is not a press: it is ignored until released, so a kiosk
that starts with its button jammed does not call by itself. A level must stay
``debounce_s`` before it counts, so contact bounce is one press.

Pure logic with the time passed in: the sources (``gpio``, ``keys``) read levels and
call ``level``; ``deadline`` says when to call again for a long press or a stuck one.
"""

from __future__ import annotations

import logging

from kiosk_client.button import ButtonEvent, ButtonStuck, Press

logger = logging.getLogger(__name__)


class Gestures:
    def __init__(self, long_press_s: float, stuck_s: float, debounce_s: float = 0.0) -> None:
        self.long_press_s = long_press_s
        self.stuck_s = stuck_s
        self.debounce_s = debounce_s
        self._clear()

    def _clear(self) -> None:
        self._steady: bool | None = None  # the debounced level; None before the first
        self._raw = False
        self._raw_since = 0.0
        self._down_at: float | None = None
        self._long_sent = False
        self._ignoring = False  # held at start, or stuck: no press until released
        self.stuck = False

    def level(self, pressed: bool, now: float) -> list[ButtonEvent]:
        """The button reads ``pressed`` at ``now``; what the villager did, if anything."""
        if self._steady is None:  # the first reading: the resting level is "released"
            self._steady, self._raw, self._raw_since = pressed, pressed, now
            if pressed:
                logger.warning("the button is held at start; ignored until released")
                self._down_at, self._ignoring = now, True
            return []
        if pressed != self._raw:
            self._raw, self._raw_since = pressed, now
        events: list[ButtonEvent] = []
        if self._raw != self._steady and now - self._raw_since >= self.debounce_s:
            self._steady = self._raw
            events += self._down(self._raw_since) if self._raw else self._up()
        return events + self._held(now)

    def deadline(self) -> float | None:
        """When ``level`` must be called again even if nothing changes."""
        if self._raw != self._steady:
            return self._raw_since + self.debounce_s
        if self._down_at is None or self.stuck:
            return None
        if not self._long_sent and not self._ignoring:
            return self._down_at + self.long_press_s
        return self._down_at + self.stuck_s

    def reset(self) -> list[ButtonEvent]:
        """The source lost the button (a read error): start again from its next reading."""
        events: list[ButtonEvent] = [ButtonStuck(False)] if self.stuck else []
        self._clear()
        return events

    def _down(self, at: float) -> list[ButtonEvent]:
        self._down_at, self._long_sent = at, False
        return []

    def _up(self) -> list[ButtonEvent]:
        events: list[ButtonEvent] = []
        if self.stuck:
            logger.warning("the stuck button was released; it works again")
            self.stuck = False
            events.append(ButtonStuck(False))
        elif self._ignoring:
            logger.info("the button held at start was released; it works now")
        elif not self._long_sent:
            events.append(Press())
        self._down_at, self._ignoring = None, False
        return events

    def _held(self, now: float) -> list[ButtonEvent]:
        if self._down_at is None or not self._steady:
            return []
        held = now - self._down_at
        if held >= self.stuck_s and not self.stuck:
            logger.error("the button has been held for %.0f s: stuck, ignored until released",
                         held)  # fmt: skip
            self.stuck, self._ignoring = True, True
            return [ButtonStuck(True)]
        if held >= self.long_press_s and not self._long_sent and not self._ignoring:
            self._long_sent = True
            return [Press(long=True)]
        return []
