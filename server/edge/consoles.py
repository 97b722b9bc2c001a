"""The operators' side of the signalling hub: consoles joining, leaving and speaking,
translated into the queue's verbs.

Every tab of an operator shows one shared presence. When it changes (on any hub),
the operator's channel carries ``{"kind": "sync"}`` and each tab re-reads it from
Redis and sends its console what differs: ``presence``, ``availability``, ``ring`` or
``ring_stop``. State-driven, so a lost nudge is repaired by the next one.

Supervisors' and admins' consoles also watch their town's operators (``team``,
``server.edge.team``): from the start their own town, and an admin any town they pick.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from server.accounts.accounts import Accounts
from server.clock import iso, now_ms
from server.edge.connections import OperatorConn
from server.edge.sdp_check import check_relayed
from server.edge.sockets import Sockets
from server.edge.team import WATCHERS, TeamWatch, check_may_watch
from server.errors import NotFound
from server.queue.callbacks import CallBacks
from server.queue.lifecycle import CallQueue
from server.queue.outcomes import ended_message
from server.queue.presence import Presence
from server.queue.records import CallRecord
from server.queue.views import call_view
from server.store import keys
from server.store.bus import Bus
from yijian import protocol as p


class ConsoleEdge:
    def __init__(
        self, queue: CallQueue, callbacks: CallBacks, accounts: Accounts, bus: Bus,
        sockets: Sockets, team: TeamWatch, ice_servers: list[p.IceServer],
    ) -> None:  # fmt: skip
        self.queue = queue
        self.callbacks = callbacks
        self.accounts = accounts
        self.bus = bus
        self.sockets = sockets
        self.team = team
        self.ice_servers = ice_servers
        self.rings = RingTexts()

    async def joined(self, conn: OperatorConn) -> None:
        op, queue = conn.operator, self.queue
        town = await self.accounts.town(op.town_id)
        self.sockets.consoles[op.username].add(conn)
        conn.handler = lambda message: self.to_operator(conn, message)
        await self.bus.subscribe(keys.conn_channel(conn.id), conn.handler)
        await self.bus.subscribe(
            keys.operator_channel(op.username),
            conn.handler,
            fan=keys.town_operators_channel(op.town_id),
        )
        await queue.presence.connect(op.username, conn.id, conn.address)
        call = await queue.calls.live_call_of_operator(op.username)
        if call is not None:
            await queue.operator_returned(call, conn.id)
            conn.call_id = call.id
        presence = await queue.presence.get(op.username)
        conn.availability = presence.availability
        conn.send(p.OperatorWelcome(
            operator=p.OperatorInfo(username=op.username, town_id=town.id,
                                    town_name=town.name, role=op.role),
            availability=presence.availability,  # type: ignore[arg-type]
            ice_servers=self.ice_servers,
            call=call_view(call) if call is not None else None,
        ))  # fmt: skip
        await self.sync_console(conn)
        if op.role in WATCHERS:
            await self.team.watch(conn, op.town_id)
        await queue.deliver.sync_operator(op.username)

    async def left(self, conn: OperatorConn) -> None:
        op, queue = conn.operator, self.queue
        await self.team.unwatch(conn)
        self.sockets.consoles[op.username].discard(conn)
        if not self.sockets.consoles[op.username]:
            del self.sockets.consoles[op.username]
        await self.bus.unsubscribe(keys.conn_channel(conn.id), conn.handler)
        await self.bus.unsubscribe(keys.operator_channel(op.username), conn.handler)
        gone = await queue.presence.disconnect(op.username, conn.id)
        call = await queue.calls.live_call_of_operator(op.username)
        if call is not None and call.operator_conn == conn.id:
            await queue.operator_dropped(call)
        if gone:  # no console left: a ring for them must move on at once
            await queue.dispatcher.dispatch(op.town_id)
        await queue.deliver.sync_operator(op.username)

    async def to_operator(self, conn: OperatorConn, message: dict[str, Any]) -> None:
        if message.get("kind") == "sync":  # with the state from a dispatch, or re-read
            await self.sync_console(conn, message if "presence" in message else None)
            return
        if message.get("kind") == "revoke":  # logged out, or the account changed
            if message.get("session") in (None, conn.session):
                self.sockets.revoke(conn)
            return
        if message.get("type") == "call_ended":
            if message.get("call_id") != conn.call_id:
                return  # another tab's call: that tab is told
            conn.call_id = None
        conn.send(message)

    async def sync_console(self, conn: OperatorConn, told: dict[str, Any] | None = None) -> None:
        """Tell this console what changed in its operator's shared presence: as a
        dispatch told it (the presence, the call now ringing, how the last one ended:
        nothing to read), or else as read from Redis."""
        username = conn.operator.username
        if told is not None:
            presence = presence_of(username, told["presence"])
        else:
            presence = await self.queue.presence.get(username)
        now = now_ms()
        state, want = presence.state(now), presence.ringing if conn.call_id is None else None
        wrap_until = iso(presence.wrap_until) if presence.wrap_until > now else None
        frame = presence_text(state, presence.availability, presence.missed, wrap_until)
        changed = (state, presence.availability) != (conn.state, conn.availability)
        # a ring says "ringing" itself: no presence frame before it (half the frames)
        by_ring = (state == "ringing" and presence.availability == conn.availability
                   and want is not None and want != conn.ringing)  # fmt: skip
        if changed and not by_ring:
            conn.send_text(frame)
        if presence.availability != conn.availability:
            conn.send(p.Availability(state=presence.availability))  # type: ignore[arg-type]
        conn.state, conn.availability = state, presence.availability
        if not await self._sync_ring(conn, want, told) and changed and by_ring:
            conn.send_text(frame)  # the call no longer waits: say it plainly

    async def _sync_ring(
        self, conn: OperatorConn, want: str | None, told: dict[str, Any] | None
    ) -> bool:
        """Stop the ring this console shows if it is not ``want`` any more; ring
        ``want``. Whether it sent a ``ring``."""
        if conn.ringing is not None and conn.ringing != want:
            stopped = (told or {}).get("stopped") or {}
            if stopped.get("call_id") == conn.ringing:
                reason = stop_reason(stopped["status"], stopped["operator"], conn.operator.username)
            else:
                reason = await self._stop_reason(conn)
            conn.send(p.RingStop(call_id=conn.ringing, reason=reason))  # type: ignore[arg-type]
            conn.ringing = None
        if want is None or conn.ringing == want:
            return False
        ring = (told or {}).get("ring") or {}
        if ring.get("call", {}).get("id") == want:
            text = self.rings.text(ring["call"], ring.get("position"))
        else:
            try:
                call = await self.queue.calls.get(want)
            except NotFound:
                return False
            text = ring_text(call, await self.queue.calls.position(call))
        if text is None:  # the call no longer waits
            return False
        conn.ringing = want
        conn.send_text(text)
        return True

    async def _stop_reason(self, conn: OperatorConn) -> str:
        assert conn.ringing is not None
        try:
            call = await self.queue.calls.get(conn.ringing)
        except NotFound:
            return "ended"
        return stop_reason(call.status, call.operator or "", conn.operator.username)

    async def on_message(self, conn: OperatorConn, msg: Any) -> None:
        op, queue = conn.operator, self.queue
        match msg:
            case p.SetAvailability(state=state, ref=ref):
                await queue.set_availability(op, state)
                conn.send(p.Availability(state=state, ref=ref))
                conn.availability = state
                await queue.announce_availability(op)
            case p.Answer(call_id=call_id, ref=ref):
                answered = await queue.answer(op, call_id, conn.id)
                conn.call_id, conn.ringing = answered.call.id, None
                conn.send(p.Answered(call=call_view(answered.call), ref=ref))
                if answered.fresh:  # told to everyone else while this console goes on
                    conn.announcing = self.sockets.spawn(queue.announce_answer(answered))
            case p.Hangup(call_id=call_id):
                step = await queue.hang_up(op, call_id)
                if step is not None:  # this console hears first, as with an answer
                    if conn.call_id == step.call.id:
                        conn.call_id = None
                    conn.send(ended_message(step.call))
                    await announced(conn)  # the kiosk hears the answer before the end
                    await queue.announce_end(step)
            case p.Callback(kiosk_id=kiosk_id, request_id=request_id, call_id=past, ref=ref):
                call = await self.callbacks.start(op, conn.id, kiosk_id, request_id, past)
                conn.call_id = call.id
                conn.send(p.CallbackRinging(call=call_view(call), ref=ref))
            case p.WatchTeam(town_id=town_id, ref=ref):
                check_may_watch(op, town_id)
                await self.accounts.town(town_id)  # an unknown town is town_not_found
                await self.team.watch(conn, town_id, ref)
            case p.Sdp() | p.Ice():
                check_relayed(msg)
                call = await queue.operator_call(op, msg.call_id, connected=True)
                await queue.relay(call, msg, from_kiosk=False)
            case p.MediaState(call_id=call_id, state=state):
                call = await queue.operator_call(op, call_id, connected=True)
                await queue.media_state(call, state, by=op.username, conn_id=conn.id)
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))


async def announced(conn: OperatorConn) -> None:
    """Wait until this console's last answer has been told (its failure is logged)."""
    if conn.announcing is not None:
        await asyncio.wait([conn.announcing])
        conn.announcing = None


def stop_reason(status: str, operator: str, username: str) -> str:
    """Why a console's ring stopped, from how its call stands now."""
    if status == "connected":
        return "taken" if operator != username else "answered"
    return "away" if status == "queued" else "ended"


def presence_of(username: str, told: dict[str, Any]) -> Presence:
    """An operator's presence as a dispatch script sent it."""
    return Presence(
        username=username,
        availability=told.get("availability") or "away",
        alive=bool(told.get("alive")),
        live_call=told.get("live_call") or None,
        ringing=told.get("ringing") or None,
        ring_since=int(told.get("ring_since") or 0),
        missed=int(told.get("missed") or 0),
        idle_since=int(told.get("idle_since") or 0),
        wrap_until=int(told.get("wrap_until") or 0),
    )


@functools.lru_cache(maxsize=256)
def presence_text(state: str, availability: str, missed: int, wrap_until: str | None) -> str:
    """The ``presence`` frame, made once for the many consoles that show the same (a
    ring stopped for eight operators turns all eight back to ``available``)."""
    return p.PresenceMsg(
        state=state, availability=availability,  # type: ignore[arg-type]
        missed=missed, wrap_until=wrap_until,
    ).model_dump_json(exclude_none=True)  # fmt: skip


def ring_text(call: CallRecord, position: int | None) -> str | None:
    """The ``ring`` frame for a call, or None when it no longer waits."""
    if call.status != "queued":
        return None
    return p.Ring(call=call_view(call, position)).model_dump_json(exclude_none=True)


class RingTexts:
    """The ``ring`` frame as a dispatch told it, made once for all the consoles it
    rings on this hub (a ring for eight operators is eight syncs of one call)."""

    SIZE = 64

    def __init__(self) -> None:
        self._texts: dict[tuple[Any, ...], str | None] = {}

    def text(self, call: dict[str, str], position: int | None) -> str | None:
        key = (position, *sorted(call.items()))
        if key not in self._texts:
            if len(self._texts) >= self.SIZE:
                self._texts.clear()
            self._texts[key] = ring_text(CallRecord.from_hash(call), position)
        return self._texts[key]
