"""How the queue tells the parties of a call what happened, without knowing which hub
holds whom: each kiosk, operator, console and town has a channel on the bus, and
whichever hub holds that party's sockets passes the message on (``server.edge``).

Messages carry what their receiver needs (a ``ring`` carries the call's view); an
operator's ``sync`` carries their presence as Redis holds it, read and sent in one
script, so the consoles read nothing to show it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.clock import now_ms
from server.store import keys, scripts
from server.store.bus import Bus


def dump(message: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """A message as it travels: without the sender's ``ref``."""
    return message.model_dump(exclude={"ref"}) if isinstance(message, BaseModel) else message


class Deliver:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._sync = bus.redis.register_script(scripts.SYNC_OPERATOR)

    async def to_kiosk(self, kiosk_id: str, message: BaseModel | dict[str, Any]) -> None:
        await self.bus.publish(keys.kiosk_channel(kiosk_id), dump(message))

    async def to_operator(self, username: str, message: BaseModel | dict[str, Any]) -> None:
        """To every console of the operator."""
        await self.bus.publish(keys.operator_channel(username), dump(message))

    async def to_console(self, conn_id: str | None, message: BaseModel | dict[str, Any]) -> None:
        """To one console: the one that holds a call."""
        await self.bus.publish(keys.conn_channel(conn_id or "-"), dump(message))

    async def sync_operator(self, username: str) -> None:
        """Tell the operator's consoles their presence (``scripts.SYNC_OPERATOR``)."""
        await self._sync(keys=[], args=[username, now_ms()])

    async def town_changed(self, town_id: str) -> None:
        """The town's queue moved: waiting kiosks may have a better place."""
        await self.bus.publish(keys.town_channel(town_id), {"kind": "queue_changed"})
