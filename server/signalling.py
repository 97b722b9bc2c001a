"""The signalling hub: kiosks and consoles connected to this process, and what they say.

State lives in Redis (``server.calls``, ``server.presence``, ``server.timers``); this
object holds only this process's sockets. Other hubs on the same Redis reach them
through the bus: a kiosk's channel carries the messages meant for it, an operator's
channel says "your presence changed" (every tab re-reads it and rings or stops), and
a connection's channel carries the media negotiation of the call it answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from server import keys
from server.accounts import Accounts
from server.bus import Bus
from server.callbacks import Callbacks
from server.calls import CallRecord, CallStore
from server.clock import now_ms
from server.connections import CLOSE_REVOKED, KioskConn, OperatorConn
from server.consoles import Consoles, call_view_of, check_live
from server.dispatch import Dispatcher
from server.errors import BadState, Forbidden
from server.leases import LeaseKeeper
from server.positions import Positions
from server.presence import PresenceStore
from server.sdp_check import check_relayed
from server.settings import HubSettings
from server.sweeper import Sweeper
from server.timers import Timers
from server.towns import Towns, TownSettings
from yijian import protocol as p

log = logging.getLogger(__name__)


class SignallingHub:
    def __init__(
        self, settings: HubSettings, accounts: Accounts, calls: CallStore, bus: Bus
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self.calls = calls
        self.bus = bus
        redis = calls.redis
        self.towns = Towns(redis, {"grace_s": settings.grace_s})
        self.presence = PresenceStore(redis)
        self.timers = Timers(redis)
        self.dispatcher = Dispatcher(redis, accounts, calls, self.presence, self.towns,
                                     self.timers, bus)  # fmt: skip
        self.kiosks: dict[str, set[KioskConn]] = defaultdict(set)
        self.operators: dict[str, set[OperatorConn]] = defaultdict(set)
        self.sweeper = Sweeper(self, settings.sweep_interval_s)
        self.leases = LeaseKeeper(self)
        self.consoles = Consoles(self)
        self.callbacks = Callbacks(self)
        self.tracking: Any = None  # server.tracking.Tracking, set by the app
        self._tasks: set[asyncio.Task[None]] = set()
        self.positions = Positions(self)

    @property
    def ice_servers(self) -> list[p.IceServer]:
        return self.settings.ice_servers

    async def start(self) -> None:
        await self.sweeper.start()
        self.leases.start()

    async def close(self) -> None:
        await self.leases.close()
        await self.sweeper.close()
        await self.positions.close()
        await self.dispatcher.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, coro: Any) -> None:
        """Run work that must not hold up a socket's reader; owned and cancelled on close."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def revoke(self, conn: KioskConn | OperatorConn) -> None:
        """Close a socket whose credentials ended; its client must authenticate anew."""
        log.info("closing %s: its credentials were revoked", conn.id)
        conn.send(p.ErrorMsg(code="revoked", message="your credentials have ended; sign in again"))
        self.spawn(conn.close(CLOSE_REVOKED))

    # --- kiosks ------------------------------------------------------------------

    async def kiosk_joined(self, conn: KioskConn) -> None:
        kiosk = conn.kiosk
        town = await self.accounts.town(kiosk.town_id)
        self.kiosks[kiosk.id].add(conn)
        await self.leases.kiosk_connected(conn)
        await self.positions.watch_town(kiosk.town_id)
        conn.handler = lambda message: self.to_kiosk(conn, message)
        await self.bus.subscribe(keys.kiosk_channel(kiosk.id), conn.handler)
        call = await self.calls.live_call_of_kiosk(kiosk.id)
        view = None
        if call is not None:
            await self.timers.cancel("grace_kiosk", call.id)
            position = await self.calls.position(call)
            conn.position = position
            view = call_view_of(call, position)
        conn.send(p.KioskWelcome(
            kiosk=p.KioskInfo(id=kiosk.id, name=kiosk.name, village=kiosk.village,
                              town_id=town.id, town_name=town.name),
            ice_servers=self.ice_servers, call=view,
        ))  # fmt: skip

    async def kiosk_left(self, conn: KioskConn) -> None:
        self.kiosks[conn.kiosk.id].discard(conn)
        await self.bus.unsubscribe(keys.kiosk_channel(conn.kiosk.id), conn.handler)
        await self.leases.kiosk_disconnected(conn)
        call = await self.calls.live_call_of_kiosk(conn.kiosk.id)
        if call is not None and call.status == "queued" and not self.kiosks[conn.kiosk.id]:
            settings = await self.towns.settings(call.town_id)
            await self.timers.set_in(settings.grace_s, "grace_kiosk", call.id)

    async def to_kiosk(self, conn: KioskConn, message: dict[str, Any]) -> None:
        if message.get("kind") == "revoke":  # its token was rotated or revoked
            self.revoke(conn)
            return
        if message.get("type") in ("call_ended", "call_answered"):
            conn.position = None
        elif message.get("type") == "call_queued":  # back in the queue
            conn.position = message.get("position")
        conn.send(message)

    async def on_kiosk_message(self, conn: KioskConn, msg: Any) -> None:
        match msg:
            case p.CallRequest(idempotency_key=key, ref=ref):
                settings = await self.towns.settings(conn.kiosk.town_id)
                overflow = (settings.overflow_to, settings.overflow_after_s)
                call, created = await self.calls.create(
                    conn.kiosk, key, max_wait_s=settings.max_wait_s,
                    overflow=overflow if settings.overflow_to else None,
                    calls_per_min=settings.kiosk_calls_per_min,
                )  # fmt: skip
                if not call.live:
                    raise BadState(f"call {call.id} for this key has ended ({call.status})",
                                   code="call_ended")  # fmt: skip
                if call.status == "connected":
                    conn.send(p.CallAnswered(call_id=call.id, operator=call.operator or ""))
                    return
                conn.position = position = await self.calls.position(call) or 1
                wait = await self.positions.estimate(call, position)
                conn.send(
                    p.CallQueued(call_id=call.id, position=position, ref=ref, estimated_wait_s=wait)
                )
                if created:
                    await self._call_queued(call, settings)
            case p.Hangup(call_id=call_id):
                call = await self._kiosk_call(conn, call_id)
                await self.end_call(call, reason="kiosk_hangup", by=f"kiosk:{conn.kiosk.id}")
            case p.Sdp() | p.Ice():
                check_relayed(msg)
                call = await self._kiosk_call(conn, msg.call_id, connected=True)
                await self.bus.publish(
                    keys.conn_channel(call.operator_conn or "-"), msg.model_dump(exclude={"ref"})
                )
            case p.MediaState(call_id=call_id, state=state):
                call = await self._kiosk_call(conn, call_id, connected=True)
                await self.media_state(call, state, by="kiosk")
            case p.Rating(call_id=call_id, value=value, ref=ref):
                conn.send(await self.tracking.rate(conn.kiosk, call_id, value, ref))
            case p.CallbackAnswer():
                await self.callbacks.kiosk_answers(conn, msg)
            case p.Ping(ref=ref):
                conn.send(p.Pong(ref=ref))

    async def _call_queued(self, call: CallRecord, settings: TownSettings) -> None:
        """A new call (its clocks already run): turn it away at once if nobody can
        answer, else ring."""
        if not settings.open_at(call.created_at):
            await self.end_call(call, reason="closed", by="hub", if_queued="unanswered")
            return
        if not await self._anyone_logged_in(call.town_id):
            await self.end_call(call, reason="no_operators", by="hub", if_queued="unanswered")
            return
        await self.dispatcher.dispatch(call.town_id)

    async def _anyone_logged_in(self, town_id: str, seen: frozenset[str] = frozenset()) -> bool:
        """Any operator connected in the town or down its overflow chain."""
        people = await self.presence.many(await self.accounts.town_operators(town_id))
        if any(op.alive for op in people):
            return True
        overflow_to = (await self.towns.settings(town_id)).overflow_to
        if (
            overflow_to and overflow_to not in seen
            and (await self.towns.settings(overflow_to)).accepts_overflow_from(town_id)
        ):  # fmt: skip
            return await self._anyone_logged_in(overflow_to, seen | {town_id})
        return False

    async def _kiosk_call(
        self, conn: KioskConn, call_id: str, connected: bool = False
    ) -> CallRecord:
        call = await self.calls.get(call_id)
        if call.kiosk_id != conn.kiosk.id:
            raise Forbidden(f"call {call_id} is not this kiosk's", code="not_your_call")
        if not call.live:  # how it ended comes first: the bus's copy may still be on its way
            conn.send(p.CallEnded(call_id=call.id, status=call.status,
                                  reason=call.end_reason or ""))  # fmt: skip
        return check_live(call, connected)

    # --- both sides ----------------------------------------------------------------

    async def media_state(
        self, call: CallRecord, state: str, by: str, conn_id: str | None = None
    ) -> None:
        """A side's peer connection changed (``conn_id``: the console that says so)."""
        await self.calls.add_event(call.id, f"media_{state}", by=by)
        if state == "connected":
            await self.timers.cancel("assign", call.id)
            await self.timers.cancel("media", call.id)
        elif state in ("failed", "closed"):
            settings = await self.towns.settings(call.town_id)
            due = now_ms() + int(settings.media_grace_s * 1000)
            await self.calls.redis.zadd(keys.TIMERS, {f"media|{call.id}": due}, nx=True)
            # The kiosk offers, so the kiosk must build anew; only for the console that
            # holds the call (an older tab of the operator's reports its loss, not ours).
            if by != "kiosk" and conn_id is not None and conn_id == call.operator_conn:
                restart = p.RestartMedia(call_id=call.id).model_dump()
                await self.bus.publish(keys.kiosk_channel(call.kiosk_id), restart)

    async def operator_dropped(self, call: CallRecord) -> None:
        """The console holding the call is gone: start the operator's grace, tell the kiosk."""
        settings = await self.towns.settings(call.town_id)
        due = now_ms() + int(settings.grace_s * 1000)
        if await self.calls.redis.zadd(keys.TIMERS, {f"grace_op|{call.id}": due}, nx=True):
            lost = p.OperatorLost(call_id=call.id, grace_s=settings.grace_s).model_dump()
            await self.bus.publish(keys.kiosk_channel(call.kiosk_id), lost)

    async def operator_returned(self, call: CallRecord, conn_id: str) -> None:
        """A console of the call's operator (re)joined: it carries the call from now."""
        came_back = await self.calls.redis.zrem(keys.TIMERS, f"grace_op|{call.id}")
        await self.calls.set_operator_conn(call.id, conn_id)
        if came_back:
            back = p.OperatorBack(call_id=call.id).model_dump()
            await self.bus.publish(keys.kiosk_channel(call.kiosk_id), back)

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
            if ended.answered_at is not None:  # a callback the kiosk never took: no wrap-up
                await self._wrap_up(ended.operator)
            else:
                await self.bus.publish(keys.operator_channel(ended.operator), {"kind": "sync"})
        await self.redispatch(ended)
        return ended

    async def _wrap_up(self, username: str) -> None:
        operator = await self.accounts.operator(username)
        settings = await self.towns.settings(operator.town_id)
        if settings.wrap_up_s > 0:
            until = now_ms() + int(settings.wrap_up_s * 1000)
            await self.presence.start_wrap_up(username, until)
            await self.timers.set(until, "wrapup", username, operator.town_id)
        else:
            await self.presence.end_wrap_up(username)
        await self.bus.publish(keys.operator_channel(username), {"kind": "sync"})

    async def request_saved(self, username: str) -> None:
        """Saving the call's request ends the operator's wrap-up early."""
        operator = await self.accounts.operator(username)
        if (await self.presence.get(username)).wrap_until > now_ms():
            await self.presence.end_wrap_up(username)
            await self.timers.cancel("wrapup", username, operator.town_id)
            await self.bus.publish(keys.operator_channel(username), {"kind": "sync"})
            await self.dispatcher.dispatch(operator.town_id)

    async def requeue(self, call_id: str, *, reason: str) -> CallRecord | None:
        """Back to the head of the queue: the operator vanished or media never came up."""
        before = await self.calls.get(call_id)
        settings = await self.towns.settings(before.town_id)
        call = await self.calls.requeue(call_id, reason=reason, max_wait_s=settings.max_wait_s)
        if call is None:
            return None
        if before.operator:
            await self.bus.publish(keys.operator_channel(before.operator), p.CallEnded(
                call_id=call.id, status="requeued", reason=reason).model_dump())  # fmt: skip
        position = await self.calls.position(call) or 1
        back = p.CallQueued(call_id=call.id, position=position).model_dump()
        await self.bus.publish(keys.kiosk_channel(call.kiosk_id), back)
        await self.redispatch(call)
        return call

    async def overflow(self, call_id: str, town_id: str) -> None:
        """The call waited long enough at home: ring ``town_id`` too, then its overflow."""
        call = await self.calls.get(call_id)
        settings = await self.towns.settings(town_id)
        came_from = call.overflow[-1] if call.overflow else call.town_id
        if not settings.accepts_overflow_from(came_from):  # consent withdrawn since
            log.info("call %s does not overflow to %s: it no longer takes %s's calls",
                     call.id, town_id, came_from)  # fmt: skip
            return
        if call.status != "queued" or not await self.calls.add_overflow(call, town_id):
            return
        await self.calls.redis.sadd(keys.ACTIVE_TOWNS, town_id)
        if settings.overflow_to and settings.overflow_to not in (call.town_id, *call.overflow):
            await self.timers.set_in(settings.overflow_after_s, "overflow", call.id,
                                     settings.overflow_to)  # fmt: skip
        await self.dispatcher.dispatch(town_id)

    async def redispatch(self, call: CallRecord) -> None:
        for town_id in (call.town_id, *call.overflow):
            await self.dispatcher.dispatch(town_id)
            await self.bus.publish(keys.town_channel(town_id), {"kind": "queue_changed"})
