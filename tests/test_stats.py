"""The numbers and the exports against a recount of the call log itself."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta

from server.accounts.towns import Towns
from server.queue.calls import CallStore
from server.store import keys
from server.tracking import hooks as tracking
from server.tracking.request_model import index_keys
from tests.support import ROOT, TIMEOUT, yijian_cmd
from tests.tracking_support import collect, seed_calls

CST = timedelta(hours=8)


def ms(iso_text: str) -> int:
    return int(datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp() * 1000)


async def test_the_dashboard_matches_a_recount_of_the_call_log(make_town, login, redis, accounts):
    town = await make_town()
    await seed_calls(redis, town.id, 240)
    http = await login(town.operators[0])
    now = datetime.now(UTC)
    window = {
        "since": (now - timedelta(days=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }
    stats = (await http.get("/api/stats", params={"town": town.id, **window})).json()
    calls = await collect(http, "/api/calls", {"limit": 200})
    requests = await collect(http, "/api/requests", {"limit": 200})

    answered = [c for c in calls if c["answered_at"]]
    waits = sorted(round(c["wait_s"] * 1000) for c in answered)
    hours = Counter((datetime.fromisoformat(c["created_at"].replace("Z", "+00:00")) + CST).hour
                    for c in calls)  # fmt: skip
    statuses = Counter(c["status"] for c in calls)
    recount = {
        "calls": len(calls), "answered": len(answered), "abandoned": statuses["abandoned"],
        "unanswered": statuses["unanswered"], "answer_rate": len(answered) / len(calls),
        "avg_wait_s": sum(waits) / 1000 / len(answered),
        "p90_wait_s": waits[math.ceil(0.9 * len(waits)) - 1] / 1000,
        "service_level": sum(w <= 15_000 for w in waits) / len(calls),
        "service_level_threshold_s": 15.0,
        "avg_talk_s": sum(ms(c["ended_at"]) - ms(c["answered_at"]) for c in answered)
        / 1000 / len(answered),
        "requests_collected": len(requests),
        "requests_resolved": sum(r["status"] in ("resolved", "closed") for r in requests),
        "requests_open": sum(r["status"] in ("open", "in_progress") for r in requests),
        "requests_overdue": 0,
        "calls_per_kiosk": dict(Counter(c["kiosk_id"] for c in calls)),
        "calls_by_hour": [hours[h] for h in range(24)],
    }  # fmt: skip
    assert {k: stats[k] for k in recount} == recount
    assert sum(day["calls"] for day in stats["series"]) == len(calls)


async def test_the_csv_exports_open_in_pythons_csv_with_chinese_intact(
    make_town, login, redis, accounts
):
    town = await make_town()
    await seed_calls(redis, town.id, 30)
    http = await login(town.operators[0])

    calls_csv = await http.get("/api/calls/export.csv")
    requests_csv = await http.get("/api/requests/export.csv", params={"q": "路灯"})
    calls_rows = list(csv.DictReader(io.StringIO(calls_csv.content.decode("utf-8-sig"))))
    request_rows = list(csv.DictReader(io.StringIO(requests_csv.content.decode("utf-8-sig"))))
    listed = await collect(http, "/api/requests", {"q": "路灯"})

    assert (
        calls_csv.content.startswith(b"\xef\xbb\xbf")
        and requests_csv.content[:3] == b"\xef\xbb\xbf"
    )
    assert calls_csv.headers["content-type"].startswith("text/csv")
    assert [r["id"] for r in calls_rows] == [c["id"] for c in await collect(http, "/api/calls", {})]
    assert [r["summary"] for r in request_rows] == [r["summary"] for r in listed]
    assert request_rows and all("村口路灯坏了三盏" in r["summary"] for r in request_rows)


async def test_open311_lists_service_requests_with_georeport_fields(
    make_town, login, redis, accounts
):
    town = await make_town()
    await redis.hset(keys.kiosk(f"{town.id}-sk0"), mapping={"lat": "22.19", "long": "112.3"})
    await seed_calls(redis, town.id, 12, kiosks=1)
    http = await login(town.operators[0])

    body = (await http.get("/api/open311/requests.json", params={"status": "closed"})).json()
    listed = await collect(http, "/api/requests", {})

    assert [r["service_request_id"] for r in body] == [
        r["number"] for r in listed if r["status"] in ("resolved", "closed")]  # fmt: skip
    georeport = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                 "description", "agency_responsible", "requested_datetime", "updated_datetime",
                 "address", "lat", "long", "media_url"}  # fmt: skip
    assert body and georeport <= set(body[0])
    assert (body[0]["status"], body[0]["lat"], body[0]["long"]) == ("closed", 22.19, 112.3)
    assert {r["agency_responsible"] for r in body} == {f"测试镇 {town.id}"}


async def test_a_call_whose_end_went_uncounted_is_counted_once_by_the_catch_up(
    make_town, login, redis, accounts
):
    town = await make_town()
    kiosk = await accounts.kiosk(next(iter(town.kiosks)))
    bare = CallStore(redis)  # no hooks: as if the hub died right after the end
    call, _ = await bare.create(kiosk, "lost-count-1")
    await bare.end(call.id, reason="max_wait", by="hub", if_queued="unanswered")
    wired = tracking.wire(redis, CallStore(redis), Towns(redis))
    http = await login(town.operators[0])

    before = (await http.get("/api/stats", params={"town": town.id})).json()["calls"]
    first = await wired.catch_up(call.created_at)
    again = await wired.catch_up(call.created_at)
    after = (await http.get("/api/stats", params={"town": town.id})).json()

    assert (before, first >= 1, again, after["calls"], after["unanswered"]) == (0, True, 0, 1, 1)
    assert after["requests_collected"] == 1


async def test_admin_kiosk_add_keeps_the_kiosks_place_for_open311(make_town, redis_url, redis):
    town = await make_town()
    done = await asyncio.to_thread(
        subprocess.run,
        yijian_cmd("admin", "--redis-url", redis_url, "kiosk", "add", f"{town.id}-geo",
                   "--town", town.id, "--name", "村口", "--lat", "22.19", "--long", "112.3"),
        capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert await redis.hmget(keys.kiosk(f"{town.id}-geo"), ["lat", "long"]) == ["22.19", "112.3"]


async def test_the_answer_opens_a_numbered_indexed_request_and_the_end_counts_the_call_once(
    make_town, redis, accounts
):
    town = await make_town(request_prefix="HK")
    kiosk = await accounts.kiosk(next(iter(town.kiosks)))
    operator = await accounts.operator(town.operators[0])
    await redis.hset(keys.kiosk(kiosk.id), mapping={"lat": "22.19", "long": "112.3"})
    towns, bare = Towns(redis), CallStore(redis)  # the hooks told by hand, as CallStore will
    wired = tracking.wire(redis, CallStore(redis), towns)
    settings = await towns.settings(town.id)
    call, _ = await bare.create(kiosk, "hooked-1")
    await wired.call_answered(await bare.claim(call.id, operator, "conn-1"), settings)
    ended = await bare.end(call.id, reason="operator_hangup", by=operator.username)
    assert ended is not None
    await wired.call_ended(ended, settings)
    await wired.call_ended(ended, settings)

    rec = await wired.requests.get(ended.extra["request_id"])
    listed = [await redis.zscore(index, rec.id) == 0 for index in index_keys(rec)]
    counters = await redis.hgetall(keys.stats_day(town.id, settings.day(call.created_at)))
    history = await wired.requests.history(rec.id)
    assert (rec.number, ended.extra["request_number"], rec.lat, rec.long, rec.operator) == (
        f"HK-{settings.local(rec.created_at).year}-000001", rec.number, "22.19", "112.3",
        operator.username)  # fmt: skip
    assert (all(listed), len(listed), await redis.get(keys.kiosk_open_request(kiosk.id))) == (
        True, 6, rec.id)  # fmt: skip
    assert (history[0]["type"], history[0]["number"]) == ("created", rec.number)
    assert (counters["calls"], counters["answered"], counters["rq_open"]) == ("1", "1", "1")
