"""Times in Yijian: stored as integer milliseconds since the epoch, shown as ISO 8601 UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(ms: int | str | None) -> str | None:
    if ms in (None, ""):
        return None
    moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> int:
    """ISO 8601 (with or without zone; naive means UTC) to milliseconds."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
