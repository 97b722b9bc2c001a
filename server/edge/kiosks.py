"""The kiosks' side of the signalling hub: a kiosk's socket joining, leaving and
speaking, translated into the queue's verbs, and the queue's messages for the kiosk
(on its bus channel, from any hub) passed on to its socket."""

from __future__ import annotations

import asyncio
from typing import Any

from server.accounts.accounts import Accounts
from server.edge.connections import CLOSE_REPLACED, KioskConn
from server.edge.leases import LeaseKeeper
from server.edge.positions import Positions
from server.edge.sdp_check import check_relayed
from server.edge.sockets import Sockets
from server.queue.callbacks import CallBacks
from server.queue.lifecycle import CallQueue
from server.queue.outcomes import check_live
from server.queue.records import CallRecord
from server.queue.views import call_view
from server.store import keys
from server.store.bus import Bus
from server.tracking.fleet import Fleet
from yijian import protocol as p


class KioskEdge:
    def __init__(
        self, queue: CallQueue, callbacks: CallBacks, accounts: Accounts, bus: Bus,
        sockets: Sockets, positions: Positions, leases: LeaseKeeper,
        ice_servers: list[p.IceServer], rate: Any, fleet: Fleet,
    ) -> None:  # fmt: skip
        self.queue = queue
        self.callbacks = callbacks
        self.accounts = accounts
        self.bus = bus
        self.sockets = sockets
        self.positions = positions
        self.leases = leases
        self.ice_servers = ice_servers
        self.rate = rate  # request tracking's one-press rating (server.tracking.hooks)
        self.fleet = fleet  # each kiosk's health: heartbeats, last seen

    async def joined(self, conn: KioskConn) -> None:
        kiosk, queue = conn.kiosk, self.queue
        town, settings, _ = await asyncio.gather(
            self.accounts.town(kiosk.town_id), queue.towns.settings(kiosk.town_id),
            self.fleet.seen(kiosk),
        )  # fmt: skip
        self.sockets.kiosks[kiosk.id].add(conn)
        await self.leases.kiosk_connected(conn)
        await self.positions.watch_town(kiosk.town_id)
        conn.handler = lambda message: self.to_kiosk(conn, message)
        await self.bus.subscribe(keys.kiosk_channel(kiosk.id), conn.handler)
        if not await self.accounts.still_valid(kiosk):  # revoked before it was listening
            self.sockets.revoke(conn)
            return
        call = await queue.calls.live_call_of_kiosk(kiosk.id)
        view = None
        if call is not None:
            await queue.timers.cancel("grace_kiosk", call.id)
            self.sockets.place(conn, await queue.calls.position(call))
            view = call_view(call, conn.position)
        conn.send(p.KioskWelcome(
            kiosk=p.KioskInfo(id=kiosk.id, name=kiosk.name, village=kiosk.village,
                              town_id=town.id, town_name=town.name),
            ice_servers=self.ice_servers, call=view, hours=settings.hours or None,
        ))  # fmt: skip

    async def left(self, conn: KioskConn) -> None:
        kiosk_id = conn.kiosk.id
        self.sockets.kiosks[kiosk_id].discard(conn)
        self.sockets.place(conn, None)
        await self.bus.unsubscribe(keys.kiosk_channel(kiosk_id), conn.handler)
        await self.leases.kiosk_disconnected(conn)
        await self.fleet.seen(conn.kiosk)  # silent from now on, if it does not come back
        call = await self.queue.calls.live_call_of_kiosk(kiosk_id)
        if call is not None and call.status == "queued" and not self.sockets.kiosks[kiosk_id]:
            settings = await self.queue.towns.settings(call.town_id)
            await self.queue.timers.set_in(settings.grace_s, "grace_kiosk", call.id)
        if not self.sockets.kiosks[kiosk_id]:
            del self.sockets.kiosks[kiosk_id]
            self.fleet.forget(kiosk_id)

    async def to_kiosk(self, conn: KioskConn, message: dict[str, Any]) -> None:
        if message.get("kind") == "revoke":  # its token was rotated or revoked
            self.sockets.revoke(conn)
            return
        if message.get("kind") == "replaced":  # the kiosk came back on another hub
            if message.get("conn") == conn.id:
                self.sockets.spawn(conn.close(CLOSE_REPLACED))
            return
        if message.get("type") in ("call_ended", "call_answered"):
            self.sockets.place(conn, None)
        elif message.get("type") == "call_queued":  # back in the queue
            self.sockets.place(conn, message.get("position"))
        conn.send(message)

    async def on_message(self, conn: KioskConn, msg: Any) -> None:
        queue, kiosk = self.queue, conn.kiosk
        self.leases.spoke(conn)  # other hubs learn it spoke (edge.one_socket)
        match msg:
            case p.CallRequest(idempotency_key=key, ref=ref):
                pressed = await queue.press(kiosk, key)
                call = pressed.call
                if call.status == "connected":
                    conn.send(p.CallAnswered(call_id=call.id, operator=call.operator or ""))
                    return
                self.sockets.place(conn, pressed.position)
                conn.send(p.CallQueued(call_id=call.id, position=pressed.position or 1, ref=ref,
                                       estimated_wait_s=pressed.estimated_wait_s))  # fmt: skip
                if pressed.created:
                    await queue.start(pressed)
            case p.Hangup(call_id=call_id):
                if await queue.kiosk_hang_up(kiosk, call_id) is None:
                    await self._own_call(conn, call_id)  # why not: another's, or ended
            case p.Sdp() | p.Ice():
                check_relayed(msg)
                call = await self._own_call(conn, msg.call_id, connected=True)
                await queue.relay(call, msg, from_kiosk=True)
            case p.MediaState(call_id=call_id, state=state):
                call = await self._own_call(conn, call_id, connected=True)
                await queue.media_state(call, state, by="kiosk")
            case p.Rating(call_id=call_id, value=value, ref=ref):
                conn.send(await self.rate(kiosk, call_id, value, ref))
            case p.CallbackAnswer(call_id=call_id, accept=accept):
                await self.callbacks.kiosk_answers(kiosk, call_id, accept)
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))
            case p.Heartbeat():
                await self.fleet.heartbeat(kiosk, msg)
                return
        await self.fleet.seen(kiosk, force=False)  # after the reply: the press goes first

    async def _own_call(self, conn: KioskConn, call_id: str, connected: bool = False) -> CallRecord:
        call = await self.queue.kiosk_call(conn.kiosk, call_id)
        if not call.live:  # how it ended comes first: the bus's copy may still be on its way
            conn.send(p.CallEnded(call_id=call.id, status=call.status,
                                  reason=call.end_reason or ""))  # fmt: skip
        return check_live(call, connected)
