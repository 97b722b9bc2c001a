"""What every part of the kiosk's state machine shares: the call, the link's state,
and how a call starts, ends and is said.

``controller.Controller`` is the machine; its handlers live in two halves by whom
they answer: ``hub_side.HubSide`` (the hub's messages, the socket coming and going)
and ``villager.VillagerSide`` (the button). Both work on this state, and only from
the controller's one queue of events, so no two handlers ever race over the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kiosk_client.call import Call
from kiosk_client.events import Event, PressExpired
from kiosk_client.media_control import MediaControl
from kiosk_client.outbox import Outbox
from kiosk_client.rating import RatingWindow
from kiosk_client.status import Announcer, Status

logger = logging.getLogger("kiosk_client.controller")


class CallMachine:
    def __init__(
        self,
        post: Callable[[Event], None],
        publish: Callable[[Status], None],
        outbox: Outbox,
        media: MediaControl,
        rating_window_s: float,
        offline_press_keep_s: float,
    ) -> None:
        self._post = post
        self._publish_to = publish  # as is; the call's states go through the announcer
        self._announcer = Announcer(publish)
        self._outbox = outbox
        self._media = media
        self._rating = RatingWindow(rating_window_s)
        self._keep_s = offline_press_keep_s
        self.online = False
        self.revoked = False  # the hub said this kiosk's token was revoked
        self.hours: str | None = None  # the town's working hours, from the welcome
        self.stopping = False
        self.call: Call | None = None
        self.no_call = asyncio.Event()
        self.no_call.set()

    @property
    def button_stuck(self) -> bool:
        """For the fleet's heartbeat: the button is held down and ignored."""
        return bool(self._announcer.health.get("button_stuck"))

    @property
    def button_fault(self) -> str | None:
        """For the fleet's heartbeat: why the button cannot be read, if it cannot."""
        return self._announcer.health.get("button_fault")

    def _new_call(self, key: str | None) -> Call:
        self.call = Call(key=key)
        self.no_call.clear()
        return self.call

    async def _hang_up(self, call: Call) -> None:
        call.hanging_up = True
        await call.stop_media()  # stop sending at once; the hub's call_ended follows
        if call.id is not None:  # else: sent when call_queued names the call
            await self._outbox.hang_up(call.id)

    def _keep(self, call: Call) -> None:
        """A press the hub has not heard of, while the link is down: kept for
        ``offline_press_keep_s`` (sent again by the next welcome), then dropped."""
        if call.kept is None and call.key is not None and call.id is None:
            loop = asyncio.get_running_loop()
            call.kept = loop.call_later(self._keep_s, self._post, PressExpired(call.key))

    async def _finish(self, call: Call, *, reason: str, call_status: str | None) -> None:
        await call.release()
        logger.info("call %s ended (%s); frames received: %s", call.id, reason, call.counts)
        if call.id is not None and call_status == "completed":
            self._rating.open(call.id)  # a press rates it now (the screen asks)
        ended = call.ended(reason, call_status)
        if reason == "closed" and self.hours:  # out of hours: the screen says when to come
            ended.extra["hours"] = self.hours
        self._announcer.say(ended)
        self._drop(call)

    def _drop(self, call: Call) -> None:
        if self.call is call:
            self.call = None
            self.no_call.set()
        self._publish()

    def _publish(self, view: str | None = None) -> None:
        call = self.call
        if not self.online and call is None and self.revoked:
            self._announcer.say(Status("offline", view="revoked", extra={"revoked": True}))
        elif not self.online:
            self._announcer.say(call.offline() if call else Status("offline", view=view))
        elif call is None:
            self._announcer.say(Status("idle"))
        elif (status := call.status()) is not None:
            self._announcer.say(status)
