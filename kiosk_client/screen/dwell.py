"""How long a screen stays: long enough to be read, never in the way of news.

The kiosk says ``idle`` the instant a call ends; shown at once, it would wipe
"通话结束" or "现在是下班时间" before anyone read them. So ``idle`` waits until the
screen on show has had its time; every other state carries news the villager needs
now (a press answered, the operator's face, a lost network) and shows at once. The
end-of-call screens (ended, rating, thanks, …) go back to ``idle`` by themselves
when their time is up, since nothing else may follow them (a rating's thanks).
"""

from __future__ import annotations

from typing import NamedTuple

MIN_DWELL_S = 2.5  # any screen, before idle replaces it
LINGERING = frozenset(
    {"ended", "rating", "thanks", "cancelled", "unanswered", "out_of_hours", "declined"}
)


class Shown(NamedTuple):
    state: str
    title: str
    detail: str


class Dwell:
    def __init__(self, idle: Shown, ended_dwell_s: float, rating_dwell_s: float) -> None:
        self._idle = idle
        self._ended_dwell_s = ended_dwell_s
        self._rating_dwell_s = max(rating_dwell_s, ended_dwell_s)
        self.current = idle
        self._until = 0.0  # loop time before which idle may not replace current
        self._pending: Shown | None = None  # an idle said too early, shown at _until

    def offer(self, shown: Shown, now: float) -> None:
        """The kiosk says ``shown``; it shows now, or (idle) once the current screen's
        time is up."""
        if shown.state == "idle" and now < self._until:
            self._pending = shown
            return
        self._pending = None
        if shown.state != self.current.state or shown.state in LINGERING:
            self._until = now + self._dwell(shown.state)
        self.current = shown

    def at(self, now: float) -> Shown:
        """The screen to show at ``now``."""
        if now >= self._until:
            if self._pending is not None:
                self.current, self._pending = self._pending, None
            elif self.current.state in LINGERING:
                self.current = self._idle
        return self.current

    def next_change(self, now: float) -> float | None:
        """Seconds until ``at`` may change by itself, or None."""
        if self._pending is not None or self.current.state in LINGERING:
            return max(0.0, self._until - now)
        return None

    def _dwell(self, state: str) -> float:
        if state == "rating":
            return self._rating_dwell_s
        return self._ended_dwell_s if state in LINGERING else MIN_DWELL_S
