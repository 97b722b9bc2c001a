"""Retention deletes calls and requests past the period and everything that points at
them, and keeps the numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.store import keys
from server.tracking.retention import DAY_MS, Retention
from server.tracking.text_index import parse_query
from tests.tracking_support import collect, seed_calls


async def test_past_the_period_records_go_and_the_counters_stay(make_town, login, redis, accounts):
    town = await make_town()
    seeded = await seed_calls(redis, town.id, 40)
    http = await login(town.operators[0])
    now = datetime.now(UTC)
    window = {"town": town.id, "since": (now - timedelta(days=1)).isoformat(),
              "until": (now + timedelta(hours=1)).isoformat()}  # fmt: skip
    before = (await http.get("/api/stats", params=window)).json()
    newest = max(c.ended_at or c.created_at for c in seeded.calls)
    requests = await collect(http, "/api/requests", {})

    kept = await Retention(redis, days=1, interval_s=60).sweep(newest, towns=[town.id])
    swept = await Retention(redis, days=1, interval_s=60).sweep(newest + 2 * DAY_MS, [town.id])

    after = (await http.get("/api/stats", params=window)).json()
    tokens = [keys.search_token(town.id, t) for t in parse_query("路灯").tokens]
    assert (kept.calls, kept.requests) == (0, 0)
    assert (swept.calls, swept.requests) == (len(seeded.calls), len(requests))
    assert await collect(http, "/api/calls", {}) == []
    assert await collect(http, "/api/requests", {}) == []
    assert not await redis.exists(*(keys.call(c.id) for c in seeded.calls))
    assert await redis.sinter(tokens) == set()
    assert (after["calls"], after["requests_collected"]) == (
        before["calls"],
        before["requests_collected"],
    )
