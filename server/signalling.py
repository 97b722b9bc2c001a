"""The signalling hub: kiosks and consoles connected to this process, and what they say.

State lives in Redis (``server.calls``); this object holds only this process's
sockets. Other hubs on the same Redis reach them through the bus: a town's channel
says "the queue changed" and every hub re-reads the queue and updates its own
consoles' rings and kiosks' positions; a kiosk's, an operator's and a connection's
channel carry the messages meant for that socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from server import keys
from server.accounts import Accounts
from server.bus import Bus
from server.calls import CallRecord, CallStore
from server.clock import iso, now_ms
from server.connections import KioskConn, OperatorConn
from server.errors import BadState, Forbidden
from server.settings import HubSettings
from server.sweeper import Sweeper
from yijian import protocol as p

log = logging.getLogger(__name__)


def call_view(call: CallRecord, position: int | None = None) -> p.CallView:
    return p.CallView(
        id=call.id, kiosk_id=call.kiosk_id, kiosk_name=call.kiosk_name, village=call.village,
        town_id=call.town_id, status=call.status, created_at=iso(call.created_at),
        answered_at=iso(call.answered_at), operator=call.operator, position=position,
    )  # fmt: skip


class SignallingHub:
    def __init__(
        self, settings: HubSettings, accounts: Accounts, calls: CallStore, bus: Bus
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self.calls = calls
        self.bus = bus
        self._operators: dict[str, set[OperatorConn]] = defaultdict(set)
        self._kiosks: dict[str, set[KioskConn]] = defaultdict(set)
        self._refresh_tasks: dict[str, asyncio.Task[None]] = {}
        self._refresh_again: set[str] = set()
        self._town_handlers: dict[str, Any] = {}
        self.sweeper = Sweeper(self, settings)

    @property
    def ice_servers(self) -> list[p.IceServer]:
        return self.settings.ice_servers

    async def start(self) -> None:
        await self.sweeper.start()

    async def close(self) -> None:
        await self.sweeper.close()
        tasks = list(self._refresh_tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- kiosks ------------------------------------------------------------------

    async def kiosk_joined(self, conn: KioskConn) -> None:
        kiosk = conn.kiosk
        town = await self.accounts.town(kiosk.town_id)
        await self._watch_town(kiosk.town_id)
        self._kiosks[kiosk.town_id].add(conn)
        await self.bus.subscribe(keys.kiosk_channel(kiosk.id), self._to_kiosk(conn))
        call = await self.calls.live_call_of_kiosk(kiosk.id)
        view = None
        if call is not None:
            await self.calls.grace_cancel(call.id, "kiosk")
            conn.call_id = call.id
            conn.position = await self.calls.position(call)
            view = call_view(call, conn.position)
        conn.send(p.KioskWelcome(
            kiosk=p.KioskInfo(id=kiosk.id, name=kiosk.name, village=kiosk.village,
                              town_id=town.id, town_name=town.name),
            ice_servers=self.ice_servers, call=view,
        ))  # fmt: skip

    async def kiosk_left(self, conn: KioskConn) -> None:
        self._kiosks[conn.kiosk.town_id].discard(conn)
        await self.bus.unsubscribe(keys.kiosk_channel(conn.kiosk.id), self._to_kiosk(conn))
        call = await self.calls.live_call_of_kiosk(conn.kiosk.id)
        if call is not None and call.status == "queued":
            await self.calls.grace_start(
                call.id, "kiosk", now_ms() + int(self.settings.grace_s * 1000)
            )

    def _to_kiosk(self, conn: KioskConn) -> Any:
        # One bound handler per connection, equal across calls so unsubscribe finds it.
        return conn.__dict__.setdefault("_bus_handler", self._make_kiosk_handler(conn))

    def _make_kiosk_handler(self, conn: KioskConn) -> Any:
        async def handle(message: dict[str, Any]) -> None:
            if message.get("type") == "call_ended" and message.get("call_id") == conn.call_id:
                conn.call_id, conn.position = None, None
            elif message.get("type") == "call_answered":
                conn.call_id, conn.position = message["call_id"], None
            conn.send(message)

        return handle

    async def on_kiosk_message(self, conn: KioskConn, msg: Any) -> None:
        match msg:
            case p.CallRequest(idempotency_key=key, ref=ref):
                call, created = await self.calls.create(conn.kiosk, key)
                if not call.live:
                    raise BadState(f"call {call.id} for this key has ended ({call.status})",
                                   code="call_ended")  # fmt: skip
                conn.call_id = call.id
                conn.position = await self.calls.position(call)
                if call.status == "queued":
                    conn.send(p.CallQueued(call_id=call.id, position=conn.position or 1, ref=ref))
                else:
                    conn.send(p.CallAnswered(call_id=call.id, operator=call.operator or ""))
                if created:
                    await self._queue_changed(call.town_id)
            case p.Hangup(call_id=call_id):
                call = await self._kiosk_call(conn, call_id)
                await self.end_call(call, reason="kiosk_hangup", by=f"kiosk:{conn.kiosk.id}")
            case p.Sdp() | p.Ice():
                call = await self._kiosk_call(conn, msg.call_id, connected=True)
                await self.bus.publish(
                    keys.conn_channel(call.operator_conn or "-"), msg.model_dump(exclude={"ref"})
                )
            case p.MediaState(call_id=call_id, state=state):
                call = await self._kiosk_call(conn, call_id, connected=True)
                await self.calls.add_event(call.id, f"media_{state}", by="kiosk")
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))

    async def _kiosk_call(
        self, conn: KioskConn, call_id: str, connected: bool = False
    ) -> CallRecord:
        call = await self.calls.get(call_id)
        if call.kiosk_id != conn.kiosk.id:
            raise Forbidden(f"call {call_id} is not this kiosk's", code="not_your_call")
        return self._check_live(call, connected)

    # --- operators ---------------------------------------------------------------

    async def operator_joined(self, conn: OperatorConn) -> None:
        op = conn.operator
        town = await self.accounts.town(op.town_id)
        await self._watch_town(op.town_id)
        self._operators[op.town_id].add(conn)
        await self.bus.subscribe(keys.conn_channel(conn.id), self._to_operator(conn))
        await self.bus.subscribe(keys.operator_channel(op.username), self._to_operator(conn))
        call = await self.calls.live_call_of_operator(op.username)
        if call is not None:
            await self.calls.grace_cancel(call.id, "operator")
            await self.calls.set_operator_conn(call.id, conn.id)
            conn.call_id = call.id
        conn.send(p.OperatorWelcome(
            operator=p.OperatorInfo(username=op.username, town_id=town.id,
                                    town_name=town.name, role=op.role),
            availability="away", ice_servers=self.ice_servers,
            call=call_view(call) if call else None,
        ))  # fmt: skip
        await self._set_presence(conn)

    async def operator_left(self, conn: OperatorConn) -> None:
        op = conn.operator
        self._operators[op.town_id].discard(conn)
        await self.bus.unsubscribe(keys.conn_channel(conn.id), self._to_operator(conn))
        await self.bus.unsubscribe(keys.operator_channel(op.username), self._to_operator(conn))
        call = await self.calls.live_call_of_operator(op.username)
        if call is not None and call.operator_conn == conn.id:
            deadline = now_ms() + int(self.settings.grace_s * 1000)
            await self.calls.grace_start(call.id, "operator", deadline)
        conn.availability = "away"
        await self._set_presence(conn)

    def _to_operator(self, conn: OperatorConn) -> Any:
        return conn.__dict__.setdefault("_bus_handler", self._make_operator_handler(conn))

    def _make_operator_handler(self, conn: OperatorConn) -> Any:
        async def handle(message: dict[str, Any]) -> None:
            if message.get("type") == "call_ended":
                if message.get("call_id") != conn.call_id:
                    return  # another tab's call: that tab is told
                conn.call_id = None
                self._schedule_refresh(conn.operator.town_id)
            conn.send(message)

        return handle

    async def on_operator_message(self, conn: OperatorConn, msg: Any) -> None:
        match msg:
            case p.SetAvailability(state=state, ref=ref):
                conn.availability = state
                conn.send(p.Availability(state=state, ref=ref))
                await self._set_presence(conn)
                await self._update_ring(conn, await self.calls.head(conn.operator.town_id))
            case p.Answer(call_id=call_id, ref=ref):
                call = await self.calls.claim(call_id, conn.operator, conn.id)
                conn.call_id, conn.ringing = call.id, None
                conn.send(p.Answered(call=call_view(call), ref=ref))
                await self.bus.publish(
                    keys.kiosk_channel(call.kiosk_id),
                    p.CallAnswered(call_id=call.id, operator=conn.operator.username).model_dump(),
                )
                await self._queue_changed(call.town_id)
            case p.Hangup(call_id=call_id):
                call = await self._operator_call(conn, call_id)
                await self.end_call(call, reason="operator_hangup", by=conn.operator.username)
            case p.Sdp() | p.Ice():
                call = await self._operator_call(conn, msg.call_id, connected=True)
                await self.bus.publish(
                    keys.kiosk_channel(call.kiosk_id), msg.model_dump(exclude={"ref"})
                )
            case p.MediaState(call_id=call_id, state=state):
                call = await self._operator_call(conn, call_id, connected=True)
                await self.calls.add_event(call.id, f"media_{state}", by=conn.operator.username)
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))

    async def _operator_call(
        self, conn: OperatorConn, call_id: str, connected: bool = False
    ) -> CallRecord:
        call = await self.calls.get(call_id)
        if call.town_id != conn.operator.town_id:
            raise Forbidden(f"call {call_id} belongs to another town", code="not_your_call")
        if call.operator != conn.operator.username:
            raise Forbidden(f"call {call_id} is not yours", code="not_your_call")
        return self._check_live(call, connected)

    @staticmethod
    def _check_live(call: CallRecord, connected: bool) -> CallRecord:
        if not call.live:
            raise BadState(f"call {call.id} has ended ({call.status})", code="call_ended")
        if connected and call.status != "connected":
            raise BadState(f"call {call.id} is {call.status}, not connected")
        return call

    async def _set_presence(self, conn: OperatorConn) -> None:
        await self.accounts.redis.hset(
            keys.town_presence(conn.operator.town_id), conn.operator.username, conn.availability
        )

    # --- shared ------------------------------------------------------------------

    async def end_call(
        self, call: CallRecord, *, reason: str, by: str,
        if_queued: str = "abandoned", if_connected: str = "completed",
    ) -> CallRecord | None:  # fmt: skip
        ended = await self.calls.end(
            call.id, reason=reason, by=by, if_queued=if_queued, if_connected=if_connected
        )
        if ended is None:
            return None
        message = p.CallEnded(
            call_id=ended.id, status=ended.status, reason=ended.end_reason or reason
        ).model_dump()
        await self.bus.publish(keys.kiosk_channel(ended.kiosk_id), message)
        if ended.operator:
            await self.bus.publish(keys.operator_channel(ended.operator), message)
        await self._queue_changed(ended.town_id)
        return ended

    async def _queue_changed(self, town_id: str) -> None:
        await self.bus.publish(keys.town_channel(town_id), {"kind": "queue_changed"})

    async def _watch_town(self, town_id: str) -> None:
        """Follow a town's queue for as long as this hub lives (towns are few)."""
        if town_id in self._town_handlers:
            return

        async def handle(_message: dict[str, Any]) -> None:
            self._schedule_refresh(town_id)

        self._town_handlers[town_id] = handle
        await self.bus.subscribe(keys.town_channel(town_id), handle)

    def _schedule_refresh(self, town_id: str) -> None:
        """Coalesce bursts of queue changes into one refresh at a time per town."""
        task = self._refresh_tasks.get(town_id)
        if task is not None and not task.done():
            self._refresh_again.add(town_id)
            return
        self._refresh_tasks[town_id] = asyncio.create_task(
            self._refresh_loop(town_id), name=f"refresh-{town_id}"
        )

    async def _refresh_loop(self, town_id: str) -> None:
        while True:
            self._refresh_again.discard(town_id)
            try:
                await self._refresh_town(town_id)
            except Exception:
                log.exception("refreshing town %s failed", town_id)
            if town_id not in self._refresh_again:
                return

    async def _refresh_town(self, town_id: str) -> None:
        head = await self.calls.head(town_id)
        for op in list(self._operators.get(town_id, ())):
            await self._update_ring(op, head)
        for kiosk in list(self._kiosks.get(town_id, ())):
            if kiosk.call_id is None or kiosk.position is None:
                continue
            call = await self.calls.get(kiosk.call_id)
            position = await self.calls.position(call) if call.status == "queued" else None
            if position is not None and position < kiosk.position:  # never announce a worse place
                kiosk.position = position
                kiosk.send(p.QueuePosition(call_id=call.id, position=position))

    async def _update_ring(self, conn: OperatorConn, head: CallRecord | None) -> None:
        want = head
        if conn.availability != "available" or conn.call_id is not None:
            want = None
        elif head is not None and await self.calls.live_call_of_operator(conn.operator.username):
            want = None  # busy in another tab
        if conn.ringing is not None and (want is None or want.id != conn.ringing):
            reason = "away" if conn.availability != "available" else "taken"
            if head is None or head.id != conn.ringing:
                old = await self.calls.get(conn.ringing)
                reason = "answered" if old.status == "connected" else "ended"
            conn.send(p.RingStop(call_id=conn.ringing, reason=reason))  # type: ignore[arg-type]
            conn.ringing = None
        if want is not None and conn.ringing != want.id:
            conn.ringing = want.id
            conn.send(p.Ring(call=call_view(want, 1)))
            await self.calls.mark_offered(want.id, conn.operator.username)
