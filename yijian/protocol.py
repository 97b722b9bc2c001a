"""Yijian signalling protocol: every WebSocket message, as pydantic models.

Shared by the hub and the kiosk. It imports nothing of the hub's web stack, so a
kiosk can use it with only pydantic installed. ``docs/protocol.md`` describes the
same messages in words; keep the two in step.

Every message is a JSON object with a ``type``. Messages from a client may carry a
``ref`` (any short string) that the hub copies into its reply or error.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024

CallId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
TownId = CallId  # the same alphabet as the admin CLI's ids
Ref = Annotated[str, Field(max_length=64)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ClientMsg(_Msg):
    ref: Ref | None = None


# --- pieces -------------------------------------------------------------------


class SessionDescription(_Msg):
    type: Literal["offer", "answer"]
    sdp: str = Field(min_length=1, max_length=60_000)


class IceCandidate(_Msg):
    """A browser's RTCIceCandidateInit. ``candidate`` keeps its ``candidate:`` prefix."""

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)  # noqa: N815 - browser's name
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=16)  # noqa: N815
    usernameFragment: str | None = Field(default=None, max_length=256)  # noqa: N815


class IceServer(_Msg):
    urls: list[str] | str
    username: str | None = None
    credential: str | None = None


class CallView(_Msg):
    """What a kiosk or console is told about a call."""

    id: str
    kiosk_id: str
    kiosk_name: str
    village: str
    town_id: str
    status: str
    created_at: str | None
    answered_at: str | None = None
    operator: str | None = None
    position: int | None = None


# --- client to hub: both kinds ---------------------------------------------------


class Hangup(_ClientMsg):
    type: Literal["hangup"]
    call_id: CallId


class Sdp(_ClientMsg):
    """An offer (kiosk) or answer (operator), relayed to the other side of the call."""

    type: Literal["sdp"]
    call_id: CallId
    description: SessionDescription


class Ice(_ClientMsg):
    """A trickled candidate, relayed; ``candidate`` null means end of candidates."""

    type: Literal["ice"]
    call_id: CallId
    candidate: IceCandidate | None


class Ping(_ClientMsg):
    type: Literal["ping"]


class MediaState(_ClientMsg):
    """A side reports its peer connection's state; logged as a call event."""

    type: Literal["media_state"]
    call_id: CallId
    state: Literal["connected", "failed", "closed"]


# --- kiosk to hub ------------------------------------------------------------------


class CallRequest(_ClientMsg):
    """One press of the button. The same key always gives the same call."""

    type: Literal["call_request"]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class Rating(_ClientMsg):
    """The villager's one-press rating of an answered call that has ended (once)."""

    type: Literal["rating"]
    call_id: CallId
    value: Literal["satisfied", "unsatisfied"]


class CallbackAnswer(_ClientMsg):
    """The kiosk takes (by itself after ``auto_answer_s``) or declines the town's call."""

    type: Literal["callback_answer"]
    call_id: CallId
    accept: bool


class DeviceCheck(_Msg):
    """One device's part of a self-test: ``skipped`` when the kiosk has no such device
    to test (a headless kiosk has no speaker) or could not reach it."""

    device: Literal["camera", "microphone", "speaker"]
    result: Literal["ok", "failed", "skipped"]
    detail: str = Field(default="", max_length=200)


class SelfTest(_Msg):
    """The kiosk's last self-test. Its age, not its time: a kiosk's wall clock can be
    wrong (a Raspberry Pi has no battery clock before NTP), so the hub dates it."""

    ran_s_ago: float = Field(ge=0, le=10 * 365 * 86400)
    devices: list[DeviceCheck] = Field(max_length=3)

    @property
    def passed(self) -> bool:
        return all(check.result != "failed" for check in self.devices)


class Heartbeat(_ClientMsg):
    """Every ``heartbeat_interval_s`` and after each self-test: the kiosk's health."""

    type: Literal["heartbeat"]
    version: str = Field(max_length=32)
    button_stuck: bool = False
    button_fault: str | None = Field(default=None, max_length=200)
    self_test: SelfTest | None = None  # None until the first self-test has finished


KioskMessage = Annotated[
    CallRequest | Hangup | Sdp | Ice | Ping | MediaState | Rating | CallbackAnswer | Heartbeat,
    Field(discriminator="type"),
]

# --- operator to hub ---------------------------------------------------------------


class SetAvailability(_ClientMsg):
    type: Literal["set_availability"]
    state: Literal["available", "away"]


class Answer(_ClientMsg):
    type: Literal["answer"]
    call_id: CallId


class Callback(_ClientMsg):
    """Call a kiosk back, linked to a request or to a past call's request."""

    type: Literal["callback"]
    kiosk_id: CallId
    request_id: CallId | None = None
    call_id: CallId | None = None


class WatchTeam(_ClientMsg):
    """A supervisor or admin asks for ``team`` of this town from now on (an admin picks
    any town; a console watches its own town from the start)."""

    type: Literal["watch_team"]
    town_id: TownId


OperatorMessage = Annotated[
    SetAvailability | Answer | Hangup | Sdp | Ice | Ping | MediaState | Callback | WatchTeam,
    Field(discriminator="type"),
]

kiosk_message = TypeAdapter[KioskMessage](KioskMessage)
operator_message = TypeAdapter[OperatorMessage](OperatorMessage)

# --- hub to clients ----------------------------------------------------------------


class KioskInfo(_Msg):
    id: str
    name: str
    village: str
    town_id: str
    town_name: str


class OperatorInfo(_Msg):
    username: str
    town_id: str
    town_name: str
    role: str


class KioskWelcome(_Msg):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    kiosk: KioskInfo
    ice_servers: list[IceServer]
    call: CallView | None = None  # the kiosk's live call, to resume after a reconnect
    # The town's working hours, "HH:MM-HH:MM" in the town's time; None: always open.
    hours: str | None = None


class OperatorWelcome(_Msg):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    operator: OperatorInfo
    availability: Literal["available", "away"]
    ice_servers: list[IceServer]
    call: CallView | None = None  # the operator's live call, if any


class CallQueued(_Msg):
    """The call waits (again: also sent when a call goes back to the queue)."""

    type: Literal["call_queued"] = "call_queued"
    call_id: str
    position: int
    estimated_wait_s: int | None = None
    ref: str | None = None


class QueuePosition(_Msg):
    type: Literal["queue_position"] = "queue_position"
    call_id: str
    position: int
    estimated_wait_s: int | None = None


class IncomingCall(_Msg):
    """To the kiosk: the town calls back. Chime, show 镇里回电, and answer by itself
    after ``auto_answer_s`` unless the villager presses to decline."""

    type: Literal["incoming_call"] = "incoming_call"
    call_id: str
    operator: str
    town_name: str
    auto_answer_s: float


class CallAnswered(_Msg):
    """To the kiosk: an operator took the call; the kiosk now sends its offer."""

    type: Literal["call_answered"] = "call_answered"
    call_id: str
    operator: str


class OperatorLost(_Msg):
    """To the kiosk: the operator's console dropped mid-call. The media may carry on;
    the operator has ``grace_s`` to come back before the call goes back to the queue."""

    type: Literal["operator_lost"] = "operator_lost"
    call_id: str
    grace_s: float


class OperatorBack(_Msg):
    """To the kiosk: the operator's console is back on the call."""

    type: Literal["operator_back"] = "operator_back"
    call_id: str


class RestartMedia(_Msg):
    """To the kiosk: the operator's side has no working peer connection (its console
    came back without one, or it failed): offer a new one now, under the same call."""

    type: Literal["restart_media"] = "restart_media"
    call_id: str


class Availability(_Msg):
    type: Literal["availability"] = "availability"
    state: Literal["available", "away"]
    ref: str | None = None


class PresenceMsg(_Msg):
    """To every console of an operator: their shared presence, whenever it changes."""

    type: Literal["presence"] = "presence"
    state: Literal["offline", "away", "available", "ringing", "busy", "wrap_up"]
    availability: Literal["available", "away"]
    missed: int = 0
    wrap_until: str | None = None


class TeamMember(_Msg):
    """One operator of a town as ``team`` (and ``GET /api/presence``) shows them."""

    username: str
    state: Literal["offline", "away", "available", "ringing", "busy", "wrap_up"]
    availability: Literal["available", "away"]
    missed_rings: int
    call_id: str | None
    ringing: str | None
    wrap_until: str | None


class Team(_Msg):
    """To supervisors' and admins' consoles: every operator of the town they watch,
    whenever one of them changes state."""

    type: Literal["team"] = "team"
    town_id: str
    operators: list[TeamMember]
    ref: str | None = None


class Ring(_Msg):
    type: Literal["ring"] = "ring"
    call: CallView


class RingStop(_Msg):
    type: Literal["ring_stop"] = "ring_stop"
    call_id: str
    reason: Literal["answered", "taken", "ended", "away"]


class CallbackRinging(_Msg):
    """To the operator who called back: the kiosk is ringing."""

    type: Literal["callback_ringing"] = "callback_ringing"
    call: CallView
    ref: str | None = None


class Answered(_Msg):
    """To the operator who won the claim."""

    type: Literal["answered"] = "answered"
    call: CallView
    ref: str | None = None


class CallEnded(_Msg):
    type: Literal["call_ended"] = "call_ended"
    call_id: str
    status: str
    reason: str


class Rated(_Msg):
    """To the kiosk: its rating is attached to the call's request."""

    type: Literal["rated"] = "rated"
    call_id: str
    value: Literal["satisfied", "unsatisfied"]
    ref: str | None = None


class Pong(_Msg):
    type: Literal["pong"] = "pong"
    ref: str | None = None


class ErrorMsg(_Msg):
    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = None
