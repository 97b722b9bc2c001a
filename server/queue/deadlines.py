"""What each kind of queue deadline does when it falls due: the sweeper's table.

A handler may run twice (a hub killed mid-way leaves its timer to another hub), so
each one looks at the facts in Redis first and does nothing when they say it is moot.
"""

from __future__ import annotations

from server.clock import now_ms
from server.queue.lifecycle import CallQueue
from server.queue.sweeper import Handler
from server.queue.timers import Timers
from server.store import keys

# Deadlines that give a side the chance to come back: restarted after an outage.
GRACE_KINDS = ("grace_kiosk", "grace_op", "media", "assign")


async def restart_clocks(timers: Timers, grace_s: float) -> None:
    """A hub that was down gave nobody a chance to come back: restart those clocks."""
    await timers.restart_clocks(GRACE_KINDS, now_ms() + int(grace_s * 1000))


def deadline_handlers(queue: CallQueue) -> dict[str, Handler]:
    calls = queue.calls

    async def back(conns_key: str, conn_id: str | None = None) -> bool:
        """Whether the side came back in time (a connection that left and one that
        returned may be handled in either order, so the facts decide, not the order)."""
        if conn_id is None:
            return bool(await queue.redis.zcount(conns_key, now_ms(), "+inf"))
        lease = await queue.redis.zscore(conns_key, conn_id)
        return lease is not None and lease > now_ms()

    async def grace_kiosk(call_id: str) -> None:
        call = await calls.get(call_id)
        if not await back(keys.kiosk_conns(call.kiosk_id)):
            await queue.end(call, reason="kiosk_disconnected", by="hub", if_connected="")

    async def grace_op(call_id: str) -> None:
        call = await calls.get(call_id)
        if not await back(keys.operator_conns(call.operator or "-"), call.operator_conn):
            await queue.requeue(call_id, reason="operator_disconnected")

    async def assign(call_id: str) -> None:
        await queue.requeue(call_id, reason="not_connected")

    async def media(call_id: str) -> None:
        await queue.end(await calls.get(call_id), reason="media_failed", by="hub",
                        if_queued="", if_connected="failed")  # fmt: skip

    async def maxwait(call_id: str) -> None:
        await queue.end(await calls.get(call_id), reason="max_wait", by="hub",
                        if_queued="unanswered", if_connected="")  # fmt: skip

    async def callback(call_id: str) -> None:
        await queue.end(await calls.get(call_id), reason="kiosk_no_answer", by="hub",
                        if_queued="unanswered", if_connected="")  # fmt: skip

    return {
        "grace_kiosk": grace_kiosk,
        "grace_op": grace_op,
        "assign": assign,
        "media": media,
        "maxwait": maxwait,
        "callback": callback,
        "overflow": queue.overflow,
        "ring": queue.dispatcher.ring_timed_out,
        "wrapup": queue.wrap_up_over,
    }
