"""Every Redis key Yijian uses, with its type, owner and lifetime.

All names start with ``yj:``. Nothing here expires unless it says so: calls, their
event logs and requests are the service's record and are kept until the retention
job (``server.tracking.retention``) deletes them past ``YIJIAN_RETENTION_DAYS``.
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
# zset "kind|arg|arg..." -> due time (ms): every deadline of the queue (ring timeouts,
# maximum waits, overflow, wrap-up, grace, media). Whichever hub removes an entry
# first handles it (server.queue.timers).
TIMERS = PREFIX + "timers"
# zset call_id -> created (ms): calls that are queued or connected.
LIVE_CALLS = PREFIX + "live"
# zset "k|kiosk_id|conn_id" or "o|username|conn_id" -> lease expiry (ms): every
# socket's lease, beside its owner's own set (kiosk_conns, operator_conns), so the
# reaper finds the lapsed ones (a hub that died, a socket gone silent) in one range
# read, in proportion to what lapsed. Written with the owner's set; removed by the
# socket's close or by the reaper once it has handled the lapse.
LEASES = PREFIX + "leases"


def lease(side: str, owner: str, conn_id: str) -> str:
    """A member of LEASES: side "k" (kiosk) or "o" (operator)."""
    return f"{side}|{owner}|{conn_id}"


# set of town ids that have live calls: the periodic dispatch visits these.
ACTIVE_TOWNS = PREFIX + "active_towns"


def town(town_id: str) -> str:
    """hash: name and settings of a town."""
    return f"{PREFIX}town:{town_id}"


def town_queue(town_id: str) -> str:
    """zset call_id -> enqueue time (ms): the town's waiting calls, FIFO by score."""
    return f"{PREFIX}town:{town_id}:queue"


def town_calls(town_id: str) -> str:
    """zset call_id -> 0: the town's calls, for the call log (lexical = time order)."""
    return f"{PREFIX}town:{town_id}:calls"


def town_operators(town_id: str) -> str:
    """set of the town's operator usernames. Written by the admin CLI."""
    return f"{PREFIX}town:{town_id}:operators"


def town_overflow(town_id: str) -> str:
    """zset call_id -> enqueue time (ms): other towns' calls that also ring here."""
    return f"{PREFIX}town:{town_id}:overflow"


def town_answers(town_id: str) -> str:
    """list of recent answer times (ms), newest first, capped: the estimated wait."""
    return f"{PREFIX}town:{town_id}:answers"


def kiosk(kiosk_id: str) -> str:
    """hash: town, name, village, token_hash (HMAC-SHA-256 under TOKEN_KEY; an older
    argon2id hash is upgraded at the next handshake), epoch (bumped by every rotation
    or revocation: a socket opened under another epoch is closed), revoked ("1"),
    revoked_hash (the revoked token's hash, so that token is told ``kiosk_revoked``)."""
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
    """hash: town, role, password_hash (argon2id), epoch (bumped by every change of
    password, role, town or state: sessions and sockets of an older epoch end),
    disabled ("1")."""
    return f"{PREFIX}operator:{username}"


def operator_sessions(username: str) -> str:
    """set of session token hashes of the operator, so a change can end them all.
    Members whose session expired are removed at the next login."""
    return f"{PREFIX}operator:{username}:sessions"


def kiosk_calls_made(kiosk_id: str) -> str:
    """string (integer): calls the kiosk placed in the current minute (the press
    limit); expires after 60 s. Written by the create-call script."""
    return f"{PREFIX}kiosk:{kiosk_id}:calls_made"


def login_failures(scope: str, value: str) -> str:
    """string (integer): failed logins for an account (scope "user") or from an
    address ("addr") in the current window; expires with the window."""
    return f"{PREFIX}throttle:login:{scope}:{value}"


# string: the key of the kiosk tokens' HMAC-SHA-256, 32 random bytes in hex, made on
# first use (SET NX). Kept for good: without it no kiosk token verifies.
TOKEN_KEY = PREFIX + "secret:token_key"


def presence(username: str) -> str:
    """hash: availability, ringing (call id), ring_since, missed, idle_since, wrap_until."""
    return f"{PREFIX}operator:{username}:presence"


def operator_conns(username: str) -> str:
    """zset conn_id -> lease expiry (ms): the operator's open consoles, renewed by
    their hub while they answer pings; expired members mean a vanished hub or tab."""
    return f"{PREFIX}operator:{username}:conns"


def kiosk_conns(kiosk_id: str) -> str:
    """zset conn_id -> lease expiry (ms): the kiosk's signalling connections."""
    return f"{PREFIX}kiosk:{kiosk_id}:conns"


def call_declined(call_id: str) -> str:
    """set: operators who let this call's ring time out (longest_idle re-offers)."""
    return f"{PREFIX}call:{call_id}:declined"


def operator_live(username: str) -> str:
    """string: the operator's live call id; deleted when the call ends."""
    return f"{PREFIX}operator:{username}:live"


def session(token_hash: str) -> str:
    """hash: username, created (ms), epoch (the operator's at login); expires after the
    session TTL. Keyed by sha256 of the cookie."""
    return f"{PREFIX}session:{token_hash}"


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


def channel_of_inbox(stream: str) -> str:
    return stream.removeprefix(f"{PREFIX}inbox:")


def town_channel(town_id: str) -> str:
    return f"{PREFIX}ev:town:{town_id}"


def kiosk_channel(kiosk_id: str) -> str:
    return f"{PREFIX}ev:kiosk:{kiosk_id}"


def conn_channel(conn_id: str) -> str:
    return f"{PREFIX}ev:conn:{conn_id}"


def operator_channel(username: str) -> str:
    return f"{PREFIX}ev:operator:{username}"


# --- request tracking, call-log indexes, numbers (server.tracking) -------------------
# Owned by the request-tracking modules. Records (requests, their notes and history, and
# the calls' extra indexes) live until the retention job (server.tracking.retention) deletes them
# past YIJIAN_RETENTION_DAYS; the aggregate counters (stats_*) are kept for good.
# Index zsets have every score 0 and members that start with the time, so a lexical
# range is a time range (as for the call indexes above).

# zset request_id -> 0: every request.
REQUESTS = PREFIX + "requests"
# string: the retention job's lock; expires after a run's worth of time.
RETENTION_LOCK = PREFIX + "retention:lock"
# string: set once every call made before request tracking existed has been counted,
# indexed and given its request (the first catch-up goes back to the beginning).
TRACKING_BACKFILLED = PREFIX + "tracking:backfilled"


def request(request_id: str) -> str:
    """hash: the request record (see server.tracking.request_store.RequestRecord)."""
    return f"{PREFIX}request:{request_id}"


def request_notes(request_id: str) -> str:
    """list of JSON {author, at, text}: the request's append-only notes."""
    return f"{PREFIX}request:{request_id}:notes"


def request_history(request_id: str) -> str:
    """list of JSON {type, at, by, ...}: every change of the request, in order."""
    return f"{PREFIX}request:{request_id}:history"


def request_index(dim: str, *values: str) -> str:
    """zset request_id -> 0: the requests with this value of a filter dimension
    (town; kiosk; village: town, village; status: town, status; category: town,
    category; operator; assignee)."""
    return f"{PREFIX}rq:{dim}:" + ":".join(values)


def request_counter(town_id: str, year: int) -> str:
    """string (integer): the last request number given in a town in a year."""
    return f"{PREFIX}town:{town_id}:rq_seq:{year}"


def town_due(town_id: str) -> str:
    """zset request_id -> due time (ms): the town's unfinished requests that have a
    due date; those scored in the past are overdue."""
    return f"{PREFIX}town:{town_id}:rq_due"


def kiosk_open_request(kiosk_id: str) -> str:
    """string: the kiosk's open request, which its next calls join; deleted when the
    request is resolved or closed."""
    return f"{PREFIX}kiosk:{kiosk_id}:open_request"


def town_categories(town_id: str) -> str:
    """string (JSON list): the town's request categories; absent means the defaults."""
    return f"{PREFIX}town:{town_id}:categories"


def search_token(town_id: str, token: str) -> str:
    """set of request ids whose summary or notes hold this token (a CJK character
    bigram or a lower-cased ASCII word), per town."""
    return f"{PREFIX}town:{town_id}:rq_q:{token}"


def call_index(dim: str, *values: str) -> str:
    """zset call_id -> 0: extra call-log indexes, written when a call is answered or
    ends (operator; village: town, village; status: town, final status)."""
    return f"{PREFIX}cx:{dim}:" + ":".join(values)


def stats_day(town_id: str, day: str) -> str:
    """hash: a town's counters for one local day (YYYY-MM-DD) of call creation
    (see server.tracking.stats). Kept past retention."""
    return f"{PREFIX}stats:{town_id}:{day}"


def stats_waits(town_id: str, day: str) -> str:
    """hash wait_ms -> count: that day's answered calls by exact wait, for the p90 and
    the service level. Kept past retention."""
    return f"{PREFIX}stats:{town_id}:{day}:waits"


# --- the fleet: each kiosk's health, and the town's alerts (server.tracking.fleet) ---
# Owned by server.tracking.fleet: written by the kiosk edge (heartbeats, any message,
# joining and leaving) and by the fleet's periodic alert job. Small (a few fields per
# kiosk), kept for as long as the kiosk exists.

# hash town_id -> ms: how far back (a last-seen time) the alert job has looked in each
# town, so each run reads only the kiosks that fell silent since the last.
FLEET_CHECKED = PREFIX + "fleet:checked"
# string: set once the kiosks made before the fleet existed are in their town's set.
FLEET_BACKFILLED = PREFIX + "fleet:backfilled"


def town_kiosks(town_id: str) -> str:
    """set of the town's kiosk ids. Written by ``Accounts.add_kiosk`` (a kiosk moved
    to another town leaves the old town's set)."""
    return f"{PREFIX}town:{town_id}:kiosks"


def kiosk_health(kiosk_id: str) -> str:
    """hash: version, button_stuck ("1" or ""), button_fault (the reason, or ""),
    heartbeat_at (ms), self_test (JSON list of {device, result, detail}),
    self_test_at (ms, the hub's clock), self_test_passed ("1" or "0"). Rewritten by
    every heartbeat."""
    return f"{PREFIX}kiosk:{kiosk_id}:health"


def fleet_seen(town_id: str) -> str:
    """zset kiosk_id -> last seen (ms): a heartbeat or any message, its connecting and
    its leaving, and (by the alert job) a live connection. Never-seen kiosks are absent."""
    return f"{PREFIX}town:{town_id}:fleet:seen"


def fleet_offline(town_id: str) -> str:
    """zset kiosk_id -> last seen (ms): the kiosks with an offline alert, silent longer
    than the town's ``offline_alert_s``. Added by the alert job; removed when the
    kiosk is seen again."""
    return f"{PREFIX}town:{town_id}:fleet:offline"


# --- security: the towns' security alerts (server.edge.one_socket) -------------------


def security_alerts(town_id: str) -> str:
    """stream of {at (ms), alert (JSON: kind, kiosk_id, address, detail)}: the town's
    security alerts (``kiosk_already_connected``: a second connection with one kiosk's
    token refused; ``kiosk_connected_twice``: let in while another hub holds one), for
    the fleet view. Appended by server.edge.one_socket; about the newest 1000 kept."""
    return f"{PREFIX}town:{town_id}:security:alerts"
