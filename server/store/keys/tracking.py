"""Redis keys of request tracking, the call log's indexes, the numbers, the fleet and
the towns' security alerts (owned by ``server.tracking``, and the security alerts by
``server.edge.one_socket``)."""

from __future__ import annotations

from server.store.keys.prefix import PREFIX

# --- request tracking, call-log indexes, numbers (server.tracking) -------------------
# Owned by the request-tracking modules. Records (requests, their notes and history, and
# the calls' extra indexes) live until the retention job (server.tracking.retention) deletes them
# past YIJIAN_RETENTION_DAYS; the aggregate counters (stats_*) are kept for good.
# Index zsets have every score 0 and members that start with the time, so a lexical
# range is a time range (as for the call indexes in ``keys.calls``).

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
    token refused while the first is alive, on any hub), for the fleet view. Appended
    by server.edge.one_socket; about the newest 1000 kept."""
    return f"{PREFIX}town:{town_id}:security:alerts"


# --- the audit log (server.accounts.audit) ---------------------------------------------
# Appended by server.accounts.audit.Audit: who did what, when, from where. Append-only
# (nothing rewrites an entry); each stream is capped at about AUDIT_MAXLEN entries
# (XADD MAXLEN ~), the oldest going first. Not touched by the retention job: the log
# must outlive the records it speaks of (a deleted request's entry stays).

# About how many entries each audit stream keeps (XADD MAXLEN ~): at ~300 bytes an
# entry, ~30 MB a town at most; a busy town's months.
AUDIT_MAXLEN = 100_000
# stream: the admins' audit log: what concerns no one town (admins' logins and logouts,
# failed logins of unknown names, exports across every town, the CLI's new towns).
AUDIT_ADMIN = PREFIX + "audit:admin"


def audit(town_id: str) -> str:
    """stream of {at, actor, role, address, action, target, details (JSON)}: the town's
    audit log (server.accounts.audit)."""
    return f"{PREFIX}town:{town_id}:audit"
