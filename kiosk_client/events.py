"""What the kiosk's one event queue carries, besides the hub connection's events.

The controller handles each event to the end before the next (see
``kiosk_client.controller``); timers and the peer connection post these rather
than act themselves, so nothing races over the call.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk_client.button import ButtonFault, ButtonStuck, Press
from kiosk_client.connection import ConnectionEvent
from kiosk_client.peer import PeerSession

__all__ = ["ButtonFault", "ButtonStuck", "Event", "Press"]


@dataclass(frozen=True)
class StopRequested:
    pass


@dataclass(frozen=True)
class AutoAnswer:
    call_id: str


@dataclass(frozen=True)
class Resend:
    ref: str  # the call request's key, or the call id of a hang-up


@dataclass(frozen=True)
class PressExpired:
    key: str  # a press kept while offline, past offline_press_keep_s


@dataclass(frozen=True)
class Rebuild:
    peer: PeerSession  # the failed connection; nothing is done if it was replaced since


@dataclass(frozen=True)
class PeerState:
    peer: PeerSession
    state: str


Event = (
    ConnectionEvent | Press | ButtonStuck | ButtonFault | StopRequested | PeerState | AutoAnswer
    | Resend | Rebuild | PressExpired
)  # fmt: skip
