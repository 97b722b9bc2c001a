"""What the kiosk tells the town about itself: a heartbeat, and the self-test behind it.

A ``heartbeat`` goes to the hub every ``heartbeat_interval_s`` (30 s) and at once
when there is news: the link is back, the button got stuck or freed, a self-test
finished. It carries the software version, the button's state and the last
self-test. The hub keeps them for the town's fleet view, and raises an alert when
a kiosk falls silent or fails its self-test (``docs/kiosk.md``).

The self-test (``selftest``) runs at start and every night at ``self_test_at``
(the kiosk's local time), only while no call holds the devices. A press, or the
town calling, stops a running test (``stop_self_test``); it is tried again a
minute after the kiosk is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from kiosk_client.media import MediaSource
from kiosk_client.selftest import Result, SpeakerCheck, run_self_test
from yijian import __version__
from yijian.protocol import Heartbeat

logger = logging.getLogger(__name__)

RETRY_S = 60.0  # a self-test put off by a call, or stopped by a press, tries again


class HealthReporter:
    def __init__(
        self,
        send: Callable[[BaseModel], Awaitable[bool]],
        button: Callable[[], tuple[bool, str | None]],
        idle: Callable[[], bool],
        source: MediaSource,
        speaker: SpeakerCheck | None,
        interval_s: float = 30.0,
        nightly: str = "03:00",
    ) -> None:
        self._send = send
        self._button = button  # (stuck, fault reason)
        self._idle = idle  # no call holds the camera and microphone
        self._source = source
        self._speaker = speaker
        self._interval_s = interval_s
        self._nightly = nightly
        self._news = asyncio.Event()
        self._testing: asyncio.Task[Result] | None = None
        self.last: Result | None = None

    def news(self) -> None:
        """Send a heartbeat now rather than at the next beat."""
        self._news.set()

    def heartbeat(self) -> Heartbeat:
        stuck, fault = self._button()
        report = self.last.report() if self.last is not None else None
        return Heartbeat(type="heartbeat", version=__version__, button_stuck=stuck,
                         button_fault=fault, self_test=report)  # fmt: skip

    async def run(self) -> None:
        """Beat and test until cancelled (``Kiosk.run`` owns this task)."""
        tests = asyncio.create_task(self._test_on_schedule(), name="kiosk-self-test")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._news.wait(), self._interval_s)
                self._news.clear()
                await self._send(self.heartbeat())  # offline: False, and the welcome says news
        finally:
            tests.cancel()
            await asyncio.gather(tests, return_exceptions=True)

    async def stop_self_test(self) -> None:
        """A call needs the devices: stop a running self-test, its devices closed."""
        testing = self._testing
        if testing is not None and not testing.done():
            logger.info("self-test stopped: a call needs the camera and microphone")
            testing.cancel()
            await asyncio.gather(testing, return_exceptions=True)

    async def _test_on_schedule(self) -> None:
        due = time.monotonic()  # at start
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due = time.monotonic() + RETRY_S
            if not self._idle():
                continue
            self._testing = asyncio.create_task(
                run_self_test(self._source, self._speaker), name="kiosk-self-test-run"
            )
            try:
                await asyncio.wait({self._testing})
            finally:
                self._testing.cancel()  # only if this loop itself was cancelled
            if self._testing.cancelled():
                continue
            if (failure := self._testing.exception()) is not None:  # a defect: said, retried
                logger.error("the self-test failed to run", exc_info=failure)
                continue
            self.last = self._testing.result()
            self.news()
            if self._nightly:
                due = time.monotonic() + seconds_until(self._nightly, datetime.now())


def seconds_until(hhmm: str, now: datetime) -> float:
    """Seconds from ``now`` to the next ``HH:MM`` (tomorrow's, if today's has passed)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return (at - now).total_seconds()
