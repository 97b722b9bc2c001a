"""The operators' side of the signalling hub: consoles joining, leaving and speaking.

Every tab of an operator shows one shared presence. When it changes (on any hub),
the operator's channel carries ``{"kind": "sync"}`` and each tab re-reads it from
Redis and sends its console what differs: ``presence``, ``availability``, ``ring`` or
``ring_stop``. State-driven, so a lost nudge is repaired by the next one.

Supervisors' and admins' consoles also watch their town's operators (``team``,
``server.team``): from the start their own town, and an admin any town they pick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import keys
from server.calls import CallRecord
from server.clock import iso, now_ms
from server.connections import OperatorConn
from server.errors import BadState, Forbidden, NotFound
from server.sdp_check import check_relayed
from server.team import WATCHERS, TeamWatch, check_may_watch
from yijian import protocol as p

if TYPE_CHECKING:
    from server.signalling import SignallingHub


class Consoles:
    def __init__(self, hub: SignallingHub) -> None:
        self.hub = hub
        self.team = TeamWatch(hub.accounts, hub.presence, hub.bus)

    async def close(self) -> None:
        """Stop watching towns (the sockets close on their own). Safe to call twice."""
        await self.team.close()

    async def joined(self, conn: OperatorConn) -> None:
        op = conn.operator
        town = await self.hub.accounts.town(op.town_id)
        self.hub.operators[op.username].add(conn)
        conn.handler = lambda message: self.to_operator(conn, message)
        await self.hub.bus.subscribe(keys.conn_channel(conn.id), conn.handler)
        await self.hub.bus.subscribe(keys.operator_channel(op.username), conn.handler)
        await self.hub.presence.connect(op.username, conn.id)
        call = await self.hub.calls.live_call_of_operator(op.username)
        if call is not None:
            await self.hub.operator_returned(call, conn.id)
            conn.call_id = call.id
        presence = await self.hub.presence.get(op.username)
        conn.availability = presence.availability
        conn.send(p.OperatorWelcome(
            operator=p.OperatorInfo(username=op.username, town_id=town.id,
                                    town_name=town.name, role=op.role),
            availability=presence.availability,  # type: ignore[arg-type]
            ice_servers=self.hub.ice_servers,
            call=call_view_of(call),
        ))  # fmt: skip
        await self.sync_console(conn)
        if op.role in WATCHERS:
            await self.team.watch(conn, op.town_id)
        await self.hub.bus.publish(keys.operator_channel(op.username), {"kind": "sync"})

    async def left(self, conn: OperatorConn) -> None:
        op = conn.operator
        await self.team.unwatch(conn)
        self.hub.operators[op.username].discard(conn)
        await self.hub.bus.unsubscribe(keys.conn_channel(conn.id), conn.handler)
        await self.hub.bus.unsubscribe(keys.operator_channel(op.username), conn.handler)
        gone = await self.hub.presence.disconnect(op.username, conn.id)
        call = await self.hub.calls.live_call_of_operator(op.username)
        if call is not None and call.operator_conn == conn.id:
            await self.hub.operator_dropped(call)
        if gone:  # no console left: a ring for them must move on at once
            await self.hub.dispatcher.dispatch(op.town_id)
        await self.hub.bus.publish(keys.operator_channel(op.username), {"kind": "sync"})

    async def to_operator(self, conn: OperatorConn, message: dict[str, Any]) -> None:
        if message.get("kind") == "sync":
            await self.sync_console(conn)
            return
        if message.get("kind") == "revoke":  # logged out, or the account changed
            if message.get("session") in (None, conn.session):
                self.hub.revoke(conn)
            return
        if message.get("type") == "call_ended":
            if message.get("call_id") != conn.call_id:
                return  # another tab's call: that tab is told
            conn.call_id = None
        conn.send(message)

    async def sync_console(self, conn: OperatorConn) -> None:
        """Tell this console what changed in its operator's shared presence."""
        presence = await self.hub.presence.get(conn.operator.username)
        now = now_ms()
        state = presence.state(now)
        if (state, presence.availability) != (conn.state, conn.availability):
            conn.send(p.PresenceMsg(
                state=state, availability=presence.availability,  # type: ignore[arg-type]
                missed=presence.missed,
                wrap_until=iso(presence.wrap_until) if presence.wrap_until > now else None,
            ))  # fmt: skip
        if presence.availability != conn.availability:
            conn.send(p.Availability(state=presence.availability))  # type: ignore[arg-type]
        conn.state, conn.availability = state, presence.availability
        want = presence.ringing if conn.call_id is None else None
        if conn.ringing is not None and conn.ringing != want:
            conn.send(p.RingStop(call_id=conn.ringing, reason=await self._stop_reason(conn)))
            conn.ringing = None
        if want is not None and conn.ringing != want:
            try:
                call = await self.hub.calls.get(want)
            except NotFound:
                return
            if call.status == "queued":
                conn.ringing = want
                conn.send(p.Ring(call=call_view(call, await self.hub.calls.position(call))))

    async def _stop_reason(self, conn: OperatorConn) -> Any:
        assert conn.ringing is not None
        try:
            call = await self.hub.calls.get(conn.ringing)
        except NotFound:
            return "ended"
        if call.status == "connected":
            return "taken" if call.operator != conn.operator.username else "answered"
        if call.status != "queued":
            return "ended"
        return "away"

    async def on_message(self, conn: OperatorConn, msg: Any) -> None:
        op = conn.operator
        match msg:
            case p.SetAvailability(state=state, ref=ref):
                await self.hub.presence.set_availability(op.username, state)
                conn.send(p.Availability(state=state, ref=ref))
                conn.availability = state
                await self.hub.bus.publish(keys.operator_channel(op.username), {"kind": "sync"})
                await self.hub.dispatcher.dispatch(op.town_id)
            case p.Answer(call_id=call_id, ref=ref):
                call = await self.hub.calls.claim(call_id, op, conn.id)
                conn.call_id, conn.ringing = call.id, None
                await self.hub.calls.redis.lpush(keys.town_answers(call.town_id), now_ms())
                await self.hub.calls.redis.ltrim(keys.town_answers(call.town_id), 0, 19)
                settings = await self.hub.towns.settings(call.town_id)
                await self.hub.timers.set_in(settings.media_grace_s, "assign", call.id)
                conn.send(p.Answered(call=call_view(call), ref=ref))
                await self.hub.bus.publish(
                    keys.kiosk_channel(call.kiosk_id),
                    p.CallAnswered(call_id=call.id, operator=op.username).model_dump(),
                )
                await self.hub.bus.publish(keys.operator_channel(op.username), {"kind": "sync"})
                await self.hub.redispatch(call)
            case p.Hangup(call_id=call_id):
                call = await self._operator_call(conn, call_id)
                # a callback the kiosk has not taken yet was not answered, not abandoned
                await self.hub.end_call(call, reason="operator_hangup", by=op.username,
                                        if_queued="unanswered")  # fmt: skip
            case p.Callback():
                await self.hub.callbacks.start(conn, msg)
            case p.WatchTeam(town_id=town_id, ref=ref):
                check_may_watch(op, town_id)
                await self.hub.accounts.town(town_id)  # an unknown town is town_not_found
                await self.team.watch(conn, town_id, ref)
            case p.Sdp() | p.Ice():
                check_relayed(msg)
                call = await self._operator_call(conn, msg.call_id, connected=True)
                await self.hub.bus.publish(
                    keys.kiosk_channel(call.kiosk_id), msg.model_dump(exclude={"ref"})
                )
            case p.MediaState(call_id=call_id, state=state):
                call = await self._operator_call(conn, call_id, connected=True)
                await self.hub.media_state(call, state, by=op.username, conn_id=conn.id)
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))

    async def _operator_call(
        self, conn: OperatorConn, call_id: str, connected: bool = False
    ) -> CallRecord:
        call = await self.hub.calls.get(call_id)
        visible = conn.operator.town_id in (call.town_id, *call.overflow)
        if not visible:
            raise NotFound(f"no call {call_id!r}", code="call_not_found")
        if call.operator != conn.operator.username:
            raise Forbidden(f"call {call_id} is not yours", code="not_your_call")
        return check_live(call, connected)


def call_view_of(call: CallRecord | None, position: int | None = None) -> p.CallView | None:
    return None if call is None else call_view(call, position)


def call_view(call: CallRecord, position: int | None = None) -> p.CallView:
    return p.CallView(
        id=call.id, kiosk_id=call.kiosk_id, kiosk_name=call.kiosk_name, village=call.village,
        town_id=call.town_id, status=call.status, created_at=iso(call.created_at),
        answered_at=iso(call.answered_at), operator=call.operator, position=position,
    )  # fmt: skip


def check_live(call: CallRecord, connected: bool) -> CallRecord:
    if not call.live:
        raise BadState(f"call {call.id} has ended ({call.status})", code="call_ended")
    if connected and call.status != "connected":
        raise BadState(f"call {call.id} is {call.status}, not connected")
    return call
