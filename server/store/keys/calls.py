"""Redis keys of the calls and their queue (owned by ``server.queue``): the call records
and event logs, the towns' queues, the timers, presence and the sockets' leases; and the
bus's channels and inboxes (``server.store.bus``).
"""

from __future__ import annotations

from server.store.keys.prefix import PREFIX

# zset call_id -> 0, all calls; ids sort by creation time (they start with the time).
CALLS = PREFIX + "calls"
# zset "call_id|side" -> deadline (ms): a queued call whose kiosk, or a live call whose
# operator, lost its connection; the sweep ends it when the deadline passes.
GRACE = PREFIX + "grace"
# zset "kind|arg|arg..." -> due time (ms): every deadline of the queue (ring timeouts,
# maximum waits, overflow, wrap-up, grace, media). Whichever hub removes an entry
# first handles it (server.queue.timers).
TIMERS = PREFIX + "timers"
# zset call_id -> created (ms): calls that are queued or connected.
LIVE_CALLS = PREFIX + "live"
# zset "o|username|conn_id" or "h|hub_id|" -> lease expiry (ms): every console's lease,
# beside its owner's own set (operator_conns), and every hub's, whose kiosk sockets
# (hub_kiosks) live as long as it renews it; so the reaper finds the lapsed ones (a
# hub that died, a console gone silent) in one range read, in proportion to what
# lapsed. Removed by the socket's close, or by the reaper once it has handled the lapse.
LEASES = PREFIX + "leases"


def lease(side: str, owner: str, conn_id: str = "") -> str:
    """A member of LEASES: side "o" (a console) or "h" (a hub, no conn_id)."""
    return f"{side}|{owner}|{conn_id}"


# set of town ids that have live calls: the periodic dispatch visits these.
ACTIVE_TOWNS = PREFIX + "active_towns"


def town_queue(town_id: str) -> str:
    """zset call_id -> enqueue time (ms): the town's waiting calls, FIFO by score."""
    return f"{PREFIX}town:{town_id}:queue"


def town_calls(town_id: str) -> str:
    """zset call_id -> 0: the town's calls, for the call log (lexical = time order)."""
    return f"{PREFIX}town:{town_id}:calls"


def town_overflow(town_id: str) -> str:
    """zset call_id -> enqueue time (ms): other towns' calls that also ring here."""
    return f"{PREFIX}town:{town_id}:overflow"


def town_answers(town_id: str) -> str:
    """list of recent answer times (ms), newest first, capped: the estimated wait."""
    return f"{PREFIX}town:{town_id}:answers"


def kiosk_calls(kiosk_id: str) -> str:
    """zset call_id -> 0: the kiosk's calls."""
    return f"{PREFIX}kiosk:{kiosk_id}:calls"


def kiosk_live(kiosk_id: str) -> str:
    """string: the kiosk's live (queued or connected) call id; deleted when it ends."""
    return f"{PREFIX}kiosk:{kiosk_id}:live"


def idempotency(kiosk_id: str, key: str) -> str:
    """string: call id made for this press; expires after IDEMPOTENCY_TTL_S."""
    return f"{PREFIX}kiosk:{kiosk_id}:idem:{key}"


IDEMPOTENCY_TTL_S = 24 * 3600


def kiosk_calls_made(kiosk_id: str) -> str:
    """string (integer): calls the kiosk placed in the current minute (the press
    limit); expires after 60 s. Written by the create-call script."""
    return f"{PREFIX}kiosk:{kiosk_id}:calls_made"


def presence(username: str) -> str:
    """hash: availability, ringing (call id), ring_since, missed, idle_since, wrap_until."""
    return f"{PREFIX}operator:{username}:presence"


def operator_conns(username: str) -> str:
    """zset conn_id -> lease expiry (ms): the operator's open consoles, renewed by
    their hub while they answer pings; expired members mean a vanished hub or tab."""
    return f"{PREFIX}operator:{username}:conns"


def operator_conn_addresses(username: str) -> str:
    """hash conn_id -> the client address that console connected from (the audit log's
    answers name it); expires CONN_ADDRESS_TTL_S after the consoles' last renewal."""
    return f"{PREFIX}operator:{username}:addresses"


CONN_ADDRESS_TTL_S = 3600


def kiosk_conns(kiosk_id: str) -> str:
    """zset conn_id -> HELD (far in the future): the kiosk's signalling connections,
    each held while its hub's lease lives (hub_kiosks; the reaper removes the sockets
    of a hub whose lease lapsed)."""
    return f"{PREFIX}kiosk:{kiosk_id}:conns"


def kiosk_spoke(kiosk_id: str) -> str:
    """hash conn_id -> "SPOKE_MS HUB_ID": when that socket last spoke, as its hub
    records every couple of seconds, and which hub holds it: whether a socket of the
    kiosk on another hub is alive (edge.one_socket)."""
    return f"{PREFIX}kiosk:{kiosk_id}:spoke"


def hub_kiosks(hub_id: str) -> str:
    """set of "kiosk_id conn_id": the kiosk sockets the hub holds, whose leases are the
    hub's own (``lease("h", hub_id)`` in LEASES): one renewal for all of them."""
    return f"{PREFIX}hub:{hub_id}:kiosks"


def hub_alive(hub_id: str) -> str:
    """string, expiring a few seconds after its hub last renewed it: the hub runs."""
    return f"{PREFIX}hub:{hub_id}:alive"


def call_declined(call_id: str) -> str:
    """set: operators who let this call's ring time out (longest_idle re-offers)."""
    return f"{PREFIX}call:{call_id}:declined"


def operator_live(username: str) -> str:
    """string: the operator's live call id; deleted when the call ends."""
    return f"{PREFIX}operator:{username}:live"


def call(call_id: str) -> str:
    """hash: the call record (see server.queue.calls.CallRecord)."""
    return f"{PREFIX}call:{call_id}"


def call_events(call_id: str) -> str:
    """stream: the call's append-only event log, one entry per transition."""
    return f"{PREFIX}call:{call_id}:events"


def call_offered(call_id: str) -> str:
    """set: operators this call has rung (so each is logged once)."""
    return f"{PREFIX}call:{call_id}:offered"


# Pub/sub channels. Each channel's messages are also kept, briefly, in its stream
# (``inbox``), so a hub that missed one can read it (server.store.bus).
HUB_CHANNEL = PREFIX + "ev:hub"  # every hub listens; nothing is sent on it today
INBOX_MAXLEN = 200  # messages kept per channel (about; trimmed with '~')
INBOX_TTL_S = 3600  # a channel's stream expires an hour after its last message


def inbox(channel: str) -> str:
    """stream of {m: JSON message}: what was published on the channel, for hubs that
    missed it; capped at INBOX_MAXLEN, expires INBOX_TTL_S after its last message."""
    return f"{PREFIX}inbox:{channel}"


def town_channel(town_id: str) -> str:
    return f"{PREFIX}ev:town:{town_id}"


def kiosk_channel(kiosk_id: str) -> str:
    return f"{PREFIX}ev:kiosk:{kiosk_id}"


def conn_channel(conn_id: str) -> str:
    return f"{PREFIX}ev:conn:{conn_id}"


def operator_channel(username: str) -> str:
    return f"{PREFIX}ev:operator:{username}"


def town_operators_channel(town_id: str) -> str:
    """Where a dispatch publishes, in one message, what it tells the town's operators'
    channels (each message still in its own channel's inbox; ``server.store.bus``)."""
    return f"{PREFIX}ev:ops:{town_id}"
