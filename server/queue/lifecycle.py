"""The call queue's lifecycle: press, ring, answer, hang up, requeue, overflow, time
out, wrap up. Socket-free: each verb takes ids, changes Redis (one script per state
change, in ``server.queue.calls``) and tells the parties through ``Deliver``; it
knows nothing of sockets, HTTP or which hub holds whom, so tests and benchmarks can
drive it against a real Redis without a hub.

Call-backs (the town rings the village) are in ``server.queue.callbacks``; the
deadlines that drive the verbs from outside are dispatched by ``server.queue.sweeper``.
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel

from server.accounts.accounts import Accounts, Operator
from server.accounts.kiosks import Kiosk
from server.accounts.towns import Towns, TownSettings
from server.clock import now_ms
from server.errors import BadState, Busy, CallTaken, Forbidden, NotFound
from server.queue.calls import CallStore
from server.queue.deliver import Deliver
from server.queue.dispatch import NOBODY, Dispatcher
from server.queue.outcomes import (
    Answered,
    Pressed,
    Step,
    TownChanged,
    check_live,
    ended_message,
    wait_estimate,
)
from server.queue.presence import PresenceStore
from server.queue.records import CallRecord
from server.queue.timers import Timers
from server.store import keys
from yijian import protocol as p

log = logging.getLogger(__name__)


class CallQueue:
    def __init__(
        self, calls: CallStore, accounts: Accounts, towns: Towns, presence: PresenceStore,
        timers: Timers, dispatcher: Dispatcher, deliver: Deliver,
    ) -> None:  # fmt: skip
        self.calls = calls
        self.accounts = accounts
        self.towns = towns
        self.presence = presence
        self.timers = timers
        self.dispatcher = dispatcher
        self.deliver = deliver
        self.redis = calls.redis

    # --- the kiosk's side ----------------------------------------------------------

    async def press(self, kiosk: Kiosk, key: str) -> Pressed:
        """The kiosk's live call for this press, or a new one queued (its clocks set)
        and, if the town is open, dispatched: one script, one round trip, under the
        town's settings as this hub knows them (checked in the same step; read again
        and pressed once more if they changed). The same key always gives the same call."""
        known = await self.towns.known(kiosk.town_id)
        for _ in range(3):  # settings changing under every try: a fourth read is refused
            settings = known.settings
            try:
                placed = await self.calls.place(
                    kiosk, key, max_wait_s=settings.max_wait_s,
                    overflow=(settings.overflow_to, settings.overflow_after_s)
                    if settings.overflow_to else None,
                    calls_per_min=settings.kiosk_calls_per_min, ring=known,
                )  # fmt: skip
                break
            except TownChanged as changed:
                known = self.towns.learn(kiosk.town_id, changed.data)
        else:
            raise Busy("the town's settings keep changing; press again")
        call = placed.call
        if not call.live:
            raise BadState(f"call {call.id} for this key has ended ({call.status})",
                           code="call_ended")  # fmt: skip
        if call.status == "connected":
            return Pressed(call, placed.created, settings)
        position = placed.position or 1
        wait = wait_estimate(placed.recent_answers, position, settings.max_wait_s)
        return Pressed(call, placed.created, settings, position, wait, placed.rang)

    async def start(self, pressed: Pressed) -> None:
        """A new call, already told its place and dispatched by its press: turn it
        away now if the town is closed or nobody can answer."""
        call, settings = pressed.call, pressed.settings
        if not settings.open_at(call.created_at):
            await self.end(call, reason="closed", by="hub", if_queued="unanswered")
        elif pressed.rang == NOBODY:
            await self.end(call, reason="no_operators", by="hub", if_queued="unanswered")

    async def kiosk_call(self, kiosk: Kiosk, call_id: str) -> CallRecord:
        """The kiosk's own call (another kiosk's is ``not_your_call``)."""
        call = await self.calls.get(call_id)
        if call.kiosk_id != kiosk.id:
            raise Forbidden(f"call {call_id} is not this kiosk's", code="not_your_call")
        return call

    # --- the operator's side --------------------------------------------------------

    async def set_availability(self, operator: Operator, state: str) -> None:
        """Change it; once the console that asked has its reply, ``announce_availability``."""
        await self.presence.set_availability(operator.username, state)

    async def announce_availability(self, operator: Operator) -> None:
        await self.deliver.sync_operator(operator.username)
        await self.dispatcher.dispatch(operator.town_id)

    async def answer(self, operator: Operator, call_id: str, conn_id: str) -> Answered:
        """The first answer takes the call (one atomic claim, which also starts the
        media deadline). The same console's answer sent again (after a passing error)
        is confirmed, not refused, and not announced again; another tab's is
        ``call_taken``. The answering console is told first; then ``announce_answer``
        tells everyone else."""
        try:
            step = await self.calls.claim_step(call_id, operator, conn_id)
        except CallTaken:
            again = await self.calls.get(call_id)
            if again.status == "connected" and again.operator_conn == conn_id:
                return Answered(again, fresh=False)
            raise
        return Answered(step.call, fresh=True, settings=step.settings)

    async def announce_answer(self, answered: Answered) -> None:
        """The kiosk may now offer media; the operator's other tabs and the town's
        other rings follow, all in the dispatch's one step; meanwhile (not before)
        request tracking is told."""
        call = answered.call
        told = p.CallAnswered(call_id=call.id, operator=call.operator or "")
        kiosk = keys.kiosk_channel(call.kiosk_id)
        hooks = self.calls.answered(Step(call, answered.settings)) if answered.settings else None
        await asyncio.gather(
            self.redispatch(call, answered.settings, tell=((kiosk, told),),
                            sync=(call.operator or "",)),
            *([hooks] if hooks else []),
        )  # fmt: skip

    async def operator_call(
        self, operator: Operator, call_id: str, connected: bool = False
    ) -> CallRecord:
        """The operator's own live call (another town's does not exist for them)."""
        call = await self.calls.get(call_id)
        if operator.town_id not in (call.town_id, *call.overflow):
            raise NotFound(f"no call {call_id!r}", code="call_not_found")
        if call.operator != operator.username:
            raise Forbidden(f"call {call_id} is not yours", code="not_your_call")
        return check_live(call, connected)

    async def operator_dropped(self, call: CallRecord) -> None:
        """The console holding the call is gone: start the operator's grace, tell the kiosk."""
        settings = await self.towns.settings(call.town_id)
        due = now_ms() + int(settings.grace_s * 1000)
        if await self.timers.set_first(due, "grace_op", call.id):
            lost = p.OperatorLost(call_id=call.id, grace_s=settings.grace_s)
            await self.deliver.to_kiosk(call.kiosk_id, lost)

    async def operator_returned(self, call: CallRecord, conn_id: str) -> None:
        """A console of the call's operator (re)joined: it carries the call from now."""
        came_back = await self.timers.cancel("grace_op", call.id)
        await self.calls.set_operator_conn(call.id, conn_id)
        if came_back:
            await self.deliver.to_kiosk(call.kiosk_id, p.OperatorBack(call_id=call.id))

    async def request_saved(self, username: str) -> None:
        """Saving the call's request ends the operator's wrap-up early."""
        operator = await self.accounts.operator(username)
        if (await self.presence.get(username)).wrap_until > now_ms():
            await self.presence.end_wrap_up(username)
            await self.timers.cancel("wrapup", username, operator.town_id)
            await self.deliver.sync_operator(username)
            await self.dispatcher.dispatch(operator.town_id)

    async def wrap_up_over(self, username: str, town_id: str) -> None:
        await self.presence.end_wrap_up(username)
        await self.deliver.sync_operator(username)
        await self.dispatcher.dispatch(town_id)

    # --- both sides -----------------------------------------------------------------

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
            await self.timers.set_first(due, "media", call.id)
            # The kiosk offers, so the kiosk must build anew; only for the console that
            # holds the call (an older tab of the operator's reports its loss, not ours).
            if by != "kiosk" and conn_id is not None and conn_id == call.operator_conn:
                await self.deliver.to_kiosk(call.kiosk_id, p.RestartMedia(call_id=call.id))

    async def relay(self, call: CallRecord, message: p.Sdp | p.Ice, *, from_kiosk: bool) -> None:
        """Media negotiation to the other side: the kiosk, or the console holding the call."""
        if from_kiosk:
            await self.deliver.to_console(call.operator_conn, message)
        else:
            await self.deliver.to_kiosk(call.kiosk_id, message)

    async def end(
        self, call: CallRecord, *, reason: str, by: str,
        if_queued: str = "abandoned", if_connected: str = "completed",
    ) -> CallRecord | None:  # fmt: skip
        """End the call (its operator's wrap-up starts in the same step), tell both
        sides and ring anew: one script, ``calls.end_step`` with ``ring_in``."""
        step = await self.calls.end_step(call.id, reason=reason, by=by, if_queued=if_queued,
                                         if_connected=if_connected, known=call,
                                         ring_in=call.town_id)  # fmt: skip
        return await self.announce_end(step) if step is not None else None

    async def kiosk_hang_up(self, kiosk: Kiosk, call_id: str) -> CallRecord | None:
        """The kiosk ends its own call: one script, nothing read first; None when it
        is not the kiosk's or not live (read it to say why, ``kiosk_call``)."""
        step = await self.calls.end_step(call_id, reason="kiosk_hangup", by=f"kiosk:{kiosk.id}",
                                         kiosk=kiosk.id, ring_in=kiosk.town_id)  # fmt: skip
        return await self.announce_end(step) if step is not None else None

    async def hang_up(self, operator: Operator, call_id: str) -> Step | None:
        """The operator ends their own call: one script, nothing read first (a call
        that is not theirs, or not live, is read only to say why). A call-back the
        kiosk has not taken yet was not answered: it ends ``unanswered``. Once the
        console that asked has heard, ``announce_end`` tells everyone else."""
        step = await self.calls.end_step(call_id, reason="operator_hangup", by=operator.username,
                                         if_queued="unanswered",
                                         operator=operator.username)  # fmt: skip
        if step is not None:
            return step
        call = await self.operator_call(operator, call_id)  # raises why it is not theirs
        return await self.calls.end_step(call.id, reason="operator_hangup", by=operator.username,
                                         if_queued="unanswered", known=call)  # fmt: skip

    async def announce_end(self, step: Step) -> CallRecord:
        """Tell both sides and ring anew (one dispatch step, unless the end's own script
        did both); meanwhile the hooks."""
        ended, message = step.call, ended_message(step.call)
        tell = [(keys.kiosk_channel(ended.kiosk_id), message)]
        if ended.operator:
            tell.append((keys.operator_channel(ended.operator), message))
        told = self.redispatch(ended, step.settings, tell=tuple(tell), home=not step.dispatched,
                               sync=(ended.operator,) if ended.operator else ())  # fmt: skip
        await asyncio.gather(told, self.calls.ended(step))
        return ended

    async def requeue(self, call_id: str, *, reason: str) -> CallRecord | None:
        """Back to the head of the queue: the operator vanished or media never came up."""
        before = await self.calls.get(call_id)
        settings = await self.towns.settings(before.town_id)
        call = await self.calls.requeue(call_id, reason=reason, max_wait_s=settings.max_wait_s)
        if call is None:
            return None
        if before.operator:
            await self.deliver.to_operator(before.operator, p.CallEnded(
                call_id=call.id, status="requeued", reason=reason))  # fmt: skip
        position = await self.calls.position(call) or 1
        await self.deliver.to_kiosk(call.kiosk_id, p.CallQueued(call_id=call.id, position=position))
        await self.redispatch(call)
        return call

    async def overflow(self, call_id: str, town_id: str) -> None:
        """The call waited long enough at home: ring ``town_id`` too, then its overflow,
        as long as that town still agrees to take the calls."""
        call = await self.calls.get(call_id)
        settings = await self.towns.settings(town_id)
        came_from = call.overflow[-1] if call.overflow else call.town_id
        if not settings.accepts_overflow_from(came_from):
            log.info("call %s does not overflow to %s: it no longer takes %s's calls",
                     call.id, town_id, came_from)  # fmt: skip
            return
        if call.status != "queued" or not await self.calls.add_overflow(call, town_id):
            return
        await self.redis.sadd(keys.ACTIVE_TOWNS, town_id)
        if settings.overflow_to and settings.overflow_to not in (call.town_id, *call.overflow):
            await self.timers.set_in(settings.overflow_after_s, "overflow", call.id,
                                     settings.overflow_to)  # fmt: skip
        await self.dispatcher.dispatch(town_id)

    async def redispatch(
        self, call: CallRecord, settings: TownSettings | None = None, *,
        tell: tuple[tuple[str, BaseModel], ...] = (), sync: tuple[str, ...] = (),
        home: bool = True,
    ) -> None:  # fmt: skip
        """The call's queue moved: ring anew where it rings, and tell the waiting
        kiosks; ``tell`` and ``sync`` go with the home town's pass (``settings``:
        the home town's, when the caller has them; ``home=False``: that pass was
        made already, only the towns it overflows to are left)."""
        if home:
            await self.dispatcher.dispatch(call.town_id, settings, announce=True, tell=tell,
                                           sync=sync)  # fmt: skip
        for town_id in call.overflow:
            await self.dispatcher.dispatch(town_id, announce=True)
