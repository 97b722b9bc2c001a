"""Every Redis key Yijian uses, with its type, owner and lifetime.

All names start with ``yj:``. Nothing here expires unless it says so: calls and their
event logs are the service's record and are kept (retention comes with the request
tracking work).
"""

from __future__ import annotations

PREFIX = "yj:"

# set of town ids. Written by the admin CLI.
TOWNS = PREFIX + "towns"
# set of kiosk ids.
KIOSKS = PREFIX + "kiosks"
# set of operator usernames.
OPERATORS = PREFIX + "operators"
# zset call_id -> 0, all calls; ids sort by creation time (they start with the time).
CALLS = PREFIX + "calls"
# zset "call_id|side" -> deadline (ms): a queued call whose kiosk, or a live call whose
# operator, lost its connection; the sweep ends it when the deadline passes.
GRACE = PREFIX + "grace"


def town(town_id: str) -> str:
    """hash: name and settings of a town."""
    return f"{PREFIX}town:{town_id}"


def town_queue(town_id: str) -> str:
    """zset call_id -> enqueue time (ms): the town's waiting calls, FIFO by score."""
    return f"{PREFIX}town:{town_id}:queue"


def town_calls(town_id: str) -> str:
    """zset call_id -> 0: the town's calls, for the call log (lexical = time order)."""
    return f"{PREFIX}town:{town_id}:calls"


def town_presence(town_id: str) -> str:
    """hash username -> availability, as last set by the operator's console."""
    return f"{PREFIX}town:{town_id}:presence"


def kiosk(kiosk_id: str) -> str:
    """hash: town, name, village, token_hash (argon2id)."""
    return f"{PREFIX}kiosk:{kiosk_id}"


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


def operator(username: str) -> str:
    """hash: town, role, password_hash (argon2id)."""
    return f"{PREFIX}operator:{username}"


def operator_live(username: str) -> str:
    """string: the operator's live call id; deleted when the call ends."""
    return f"{PREFIX}operator:{username}:live"


def session(token_hash: str) -> str:
    """hash: username; expires after the session TTL. Keyed by sha256 of the cookie."""
    return f"{PREFIX}session:{token_hash}"


def call(call_id: str) -> str:
    """hash: the call record (see server.calls.CallRecord)."""
    return f"{PREFIX}call:{call_id}"


def call_events(call_id: str) -> str:
    """stream: the call's append-only event log, one entry per transition."""
    return f"{PREFIX}call:{call_id}:events"


def call_offered(call_id: str) -> str:
    """set: operators this call has rung (so each is logged once)."""
    return f"{PREFIX}call:{call_id}:offered"


# Pub/sub channels (not stored).
def town_channel(town_id: str) -> str:
    return f"{PREFIX}ev:town:{town_id}"


def kiosk_channel(kiosk_id: str) -> str:
    return f"{PREFIX}ev:kiosk:{kiosk_id}"


def conn_channel(conn_id: str) -> str:
    return f"{PREFIX}ev:conn:{conn_id}"


def operator_channel(username: str) -> str:
    return f"{PREFIX}ev:operator:{username}"
