"""The hub's messages to a kiosk, parsed once at the edge into protocol models."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from yijian.protocol import (
    CallAnswered,
    CallEnded,
    CallQueued,
    ErrorMsg,
    Ice,
    IncomingCall,
    KioskWelcome,
    OperatorBack,
    OperatorLost,
    Pong,
    QueuePosition,
    Rated,
    RestartMedia,
    Sdp,
)

HubMessage = Annotated[
    KioskWelcome | CallQueued | QueuePosition | CallAnswered | Sdp | Ice | CallEnded | Pong
    | ErrorMsg | Rated | IncomingCall | OperatorLost | OperatorBack | RestartMedia,
    Field(discriminator="type"),
]  # fmt: skip
_hub_message = TypeAdapter[HubMessage](HubMessage)


class UnknownMessage(Exception):
    """A well-formed message of a type this kiosk does not know: log it and carry on."""

    def __init__(self, type_: object) -> None:
        super().__init__(f"unknown message type {type_!r}")
        self.type = type_


class BadMessage(Exception):
    """Text that is not a valid hub message."""


def parse(text: str | bytes) -> HubMessage:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadMessage(f"expected a JSON object, found {type(data).__name__}")
    try:
        return _hub_message.validate_python(data)
    except ValidationError as exc:
        if any(e["type"] in ("union_tag_invalid", "union_tag_not_found") for e in exc.errors()):
            raise UnknownMessage(data.get("type")) from None
        raise BadMessage(f"invalid {data.get('type')!r} message: {exc}") from None


def dump(message: BaseModel) -> str:
    # exclude_unset, not exclude_none: an Ice message's null candidate must stay
    return message.model_dump_json(exclude_unset=True)
