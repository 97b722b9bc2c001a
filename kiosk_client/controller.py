"""The kiosk's state machine: one call at a time, driven by one queue of events.

Every event (the hub's messages, the socket coming and going, the button, the peer
connection's state, timers) is handled to the end before the next, so no two
handlers ever race over the call. The handlers live in two halves by whom they
answer, on state they share (``machine.CallMachine``): ``hub_side.HubSide`` and
``villager.VillagerSide``.

The controller owns a ``media_control.MediaControl`` (devices, the peer connection
and its rebuilds), an ``outbox.Outbox`` (messages to the hub, sent again after a
passing hub error), a ``rating.RatingWindow`` and a ``status.Announcer``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from kiosk_client.button import ButtonFault, ButtonStuck, Press
from kiosk_client.call import Phase
from kiosk_client.capture import VideoCaps
from kiosk_client.connection import Inbound, Offline, Online
from kiosk_client.events import (
    AutoAnswer,
    Event,
    PeerState,
    PressExpired,
    Rebuild,
    Resend,
    StopRequested,
)
from kiosk_client.hub_side import CALL_GONE_CODES, HubSide
from kiosk_client.media import MediaSource
from kiosk_client.media_control import MediaControl
from kiosk_client.outbox import Outbox
from kiosk_client.status import Status
from kiosk_client.villager import VillagerSide

__all__ = ["CALL_GONE_CODES", "Controller"]

logger = logging.getLogger(__name__)


class Controller(HubSide, VillagerSide):
    def __init__(
        self,
        send: Callable[[BaseModel], Awaitable[bool]],
        post: Callable[[Event], None],
        publish: Callable[[Status], None],
        media: MediaSource,
        speaker_device: str | None,
        rating_window_s: float = 15.0,
        offline_press_keep_s: float = 120.0,
        caps: VideoCaps | None = None,
        gather_timeout_s: float = 8.0,
        before_open: Callable[[], Awaitable[None]] | None = None,
        prepare_offer: bool = True,
    ) -> None:
        media_control = MediaControl(
            send, post, media, speaker_device, caps, gather_timeout_s, before_open, prepare_offer
        )
        super().__init__(
            post, publish, Outbox(send, post), media_control,
            rating_window_s, offline_press_keep_s,
        )  # fmt: skip

    async def handle(self, event: Event) -> None:
        match event:
            case Online(welcome=welcome):
                await self._on_welcome(welcome)
            case Inbound(message=message):
                await self._on_message(message)
            case Offline(reason=reason, revoked=revoked):
                self._on_offline(reason, revoked)
            case Press():
                await self._on_press(event)
            case ButtonStuck() | ButtonFault():
                self._on_button_health(event)
            case PressExpired(key=key):
                await self._on_press_expired(key)
            case StopRequested():
                self.stopping = True
                if self.call is not None:
                    await self._hang_up(self.call)
            case PeerState(peer=peer, state=state):
                await self._media.on_peer_state(self.call, peer, state)
                self._publish()  # connected, or (offline) media lost under the screen
            case AutoAnswer(call_id=call_id):
                call = self.call
                if call is not None and call.id == call_id and call.phase is Phase.INCOMING:
                    logger.info("call %s: answering the town's callback", call_id)
                    call.phase = Phase.ANSWERED
                    await self._outbox.answer_callback(call_id, accept=True)
            case Resend(ref=ref):
                # Offline, the welcome after the reconnect sends it again instead.
                if self.call is not None and self.online:
                    await self._outbox.resend(self.call, ref)
            case Rebuild(peer=peer):
                await self._media.on_rebuild(self.call, peer)
            case _:
                logger.warning("unhandled kiosk event %r", event)

    async def close(self) -> None:
        """Release the call's media without telling anyone. Safe to call twice."""
        if self.call is not None:
            await self.call.release()
