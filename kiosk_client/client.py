"""The running kiosk: owns its tasks (socket, button, state machine, heartbeat and
self-test) and stops them.

``Kiosk.run`` returns when the button's input ends (only ``stdin`` ends) or on
SIGTERM/SIGINT, after hanging up a live call and waiting briefly for the hub to
confirm it. It raises ``HubRejected`` when the hub refuses the kiosk's credentials.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from kiosk_client.bitrate import cap_video_bitrate
from kiosk_client.button import Button, ButtonFault, ButtonStuck
from kiosk_client.capture import VideoCaps
from kiosk_client.connection import Backoff, HubConnection, Online
from kiosk_client.controller import Controller
from kiosk_client.events import Event, StopRequested
from kiosk_client.health import HealthReporter
from kiosk_client.media import MediaSource
from kiosk_client.screen.voice import prompt_file
from kiosk_client.selftest import SpeakerCheck
from kiosk_client.settings import KioskSettings
from kiosk_client.status import Status

logger = logging.getLogger(__name__)


class Kiosk:
    def __init__(
        self,
        settings: KioskSettings,
        media: MediaSource,
        button: Button,
        publish: Callable[[Status], None],
        test_media: MediaSource | None = None,
    ) -> None:
        """``test_media``: what the self-test opens, if not ``media`` (the screen's taps
        would show the self-test's pictures as the villager's own)."""
        self.settings = settings
        self._button = button
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._stop = asyncio.Event()
        self.connection = HubConnection(
            settings.websocket_url,
            settings.token.get_secret_value(),
            Backoff(settings.reconnect_min_s, settings.reconnect_max_s),
            self._events.put_nowait,
            ping_interval_s=settings.ping_interval_s,
            ping_timeout_s=settings.ping_timeout_s,
            revoked_retry_s=settings.revoked_retry_s,
        )
        self.health = HealthReporter(
            send=self.connection.send,
            button=lambda: (self.controller.button_stuck, self.controller.button_fault),
            idle=lambda: self.controller.call is None,
            source=test_media or media,
            speaker=_speaker_check(settings),
            interval_s=settings.heartbeat_interval_s,
            nightly=settings.self_test_at,
        )
        cap_video_bitrate(settings.video_max_kbps)
        width, height = settings.video_dimensions
        self.controller = Controller(
            send=self.connection.send,
            post=self._events.put_nowait,
            publish=publish,
            media=media,
            speaker_device=None if settings.headless else settings.speaker_device,
            rating_window_s=settings.rating_window_s,
            offline_press_keep_s=settings.offline_press_keep_s,
            caps=VideoCaps(width, height, settings.video_fps),
            gather_timeout_s=settings.gather_timeout_s,
            prepare_offer=settings.prepare_offer,
            before_open=self.health.stop_self_test,
        )

    def request_stop(self, why: str) -> None:
        if not self._stop.is_set():
            logger.info("stopping: %s", why)
            self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        connection = asyncio.create_task(self.connection.run(), name="kiosk-connection")
        machine = asyncio.create_task(self._drive(), name="kiosk-controller")
        button = asyncio.create_task(self._read_button(), name="kiosk-button")
        health = asyncio.create_task(self.health.run(), name="kiosk-health")
        stopping = asyncio.create_task(self._stop.wait(), name="kiosk-stop")
        try:
            await asyncio.wait({connection, machine, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if connection.done():
                connection.result()  # raises HubRejected; nothing else ends it
            if machine.done():
                machine.result()
            await self._hang_up_and_wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            # Nothing may post events once the machine is gone, and the socket closes
            # with a proper goodbye rather than by cancellation.
            for task in (button, stopping, machine, health):
                task.cancel()
            await asyncio.gather(button, stopping, machine, health, return_exceptions=True)
            await self.connection.close()
            connection.cancel()
            await asyncio.gather(connection, return_exceptions=True)
            await self.controller.close()

    async def _hang_up_and_wait(self) -> None:
        self._events.put_nowait(StopRequested())
        try:
            await asyncio.wait_for(self.controller.no_call.wait(), self.settings.hangup_grace_s)
        except TimeoutError:
            logger.warning(
                "the hub did not confirm the hangup within %.1f s", self.settings.hangup_grace_s
            )

    async def _drive(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self.controller.handle(event)
            except Exception:  # an unattended kiosk must outlive one bad event
                logger.exception("handling %r failed", event)
            if isinstance(event, Online | ButtonStuck | ButtonFault):
                self.health.news()  # the hub hears of it now, not at the next beat

    async def _read_button(self) -> None:
        async for event in self._button.events():
            self._events.put_nowait(event)
        self.request_stop("end of button input")


def _speaker_check(settings: KioskSettings) -> SpeakerCheck | None:
    """Where the self-test plays a prompt: the operator's voice's device (ffmpeg's null
    output for ``--media test``); nowhere for a headless kiosk, which has no speaker."""
    if settings.headless:
        return None
    fmt = "null" if settings.media == "test" else "alsa"
    prompt = prompt_file("idle", settings.language, settings.voice_dir)
    return SpeakerCheck(settings.speaker_device, fmt, prompt)
