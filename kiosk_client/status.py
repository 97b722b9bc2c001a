"""The kiosk's visible state, said once per change, and its JSON lines for
supervising programs and tests.

``--status-json`` makes standard output a stream of exactly one JSON object per line
and nothing else (logs go to standard error), flushed at once so a supervising
process or a test sees every change as it happens.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

State = Literal["idle", "queued", "connected", "ended", "offline"]


@dataclass(frozen=True)
class Status:
    state: State
    call_id: str | None = None
    position: int | None = None  # only while queued
    extra: dict[str, Any] = field(default_factory=dict)  # the figures of an ``ended`` line
    # What the screen shows finer than the five states, never in the JSON line:
    # "calling" is a press the hub has not answered yet (the state stays ``idle``, or
    # ``offline`` when the press waits for the link).
    view: str | None = None
    # Only ``view`` changed since the last state said: for the screen, not the JSON.
    screen_only: bool = False

    def as_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"state": self.state, "call_id": self.call_id}
        if self.state == "queued":
            line["position"] = self.position
        line.update(self.extra)
        line["ts"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        return line


class Announcer:
    """Says a state when it differs from the last thing said (``ended`` always); a
    change of ``view`` alone is said ``screen_only``, so the JSON lines stay as they were.

    ``health`` (the button's: ``button_stuck``, ``button_fault``) rides on every
    status while it is set, and a change of it is said like a change of state.
    """

    def __init__(self, publish: Callable[[Status], None]) -> None:
        self._publish = publish
        self._last: tuple[Any, ...] | None = None
        self._view: str | None = None
        self.health: dict[str, Any] = {}

    def say(self, status: Status) -> None:
        if self.health:
            status = replace(status, extra={**status.extra, **self.health})
        extra = status.extra
        key = (status.state, status.call_id, status.position, extra.get("incoming_call"),
               extra.get("operator_lost"), *sorted(self.health.items()))  # fmt: skip
        if key != self._last or status.state == "ended":
            self._last, self._view = key, status.view
            self._publish(status)
        elif status.view != self._view:
            self._view = status.view
            self._publish(replace(status, screen_only=True))


class JsonLines:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out

    def __call__(self, status: Status) -> None:
        if status.screen_only:
            return
        self._out.write(json.dumps(status.as_json()) + "\n")
        self._out.flush()
