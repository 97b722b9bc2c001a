"""Rating the call just ended, with the one button: a short press is 满意, a long
press (held ``long_press_s``) 不满意, within the rating window after an answered
call. Stdin lines may say it in words (``满意``, ``不满意``)."""

from __future__ import annotations

import asyncio
from typing import Literal

Value = Literal["satisfied", "unsatisfied"]

# What a villager may say (a stdin line) to rate the call just ended.
RATINGS: dict[str, Value] = {
    "满意": "satisfied", "satisfied": "satisfied",
    "不满意": "unsatisfied", "unsatisfied": "unsatisfied",
}  # fmt: skip


class RatingWindow:
    """The call a villager may rate: opened when an answered call completes, closed
    by the next press of any kind or when the window has passed. While it is open a
    press rates and does not call."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._rateable: tuple[str, float] | None = None  # (call id, until loop time)

    def open(self, call_id: str) -> None:
        until = asyncio.get_running_loop().time() + self._window_s
        self._rateable = (call_id, until)

    def take(self, text: str = "", long: bool = False) -> tuple[str, Value] | None:
        """The call a press rates and how, or None when it rates nothing."""
        said = RATINGS.get(text.strip().lower())
        value: Value = said or ("unsatisfied" if long else "satisfied")
        rateable, self._rateable = self._rateable, None
        now = asyncio.get_running_loop().time()
        if rateable is not None and now < rateable[1]:
            return rateable[0], value
        return None
