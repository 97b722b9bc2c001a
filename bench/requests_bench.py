"""Request tracking at scale: seed a year of calls with their requests across towns,
then time what a supervisor does, each against a floor measured in the same run.

- ``log_page``: one page (50) of a town's call log for one month;
- ``text_search``: one page of a town's requests whose text holds 路灯;
- ``month_dashboard``: a town's numbers for one month;
- ``csv_export``: 10,000 rows of a town's call log as CSV.

A floor is the raw Redis reads that answer needs, done directly with the same client
(the index range and the records' HGETALLs, pipelined), so the ratio shows what the
hub's own work costs on top. Each figure is the median of several runs.

    python -m bench requests [--calls N] [--towns N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench import bulk
from server.accounts.towns import Towns
from server.clock import now_ms
from server.store import index_scan, keys
from server.store.redis_conn import EmbeddedRedis, redis_server_binary
from server.tracking import exports
from server.tracking.calllog import CallFilter, CallLog
from server.tracking.request_query import RequestFilter, RequestQuery
from server.tracking.stats import Range, Stats
from server.tracking.text_index import parse_query

BATCH = 10_000
REPEAT = 7
WORKERS = 2  # the machines have two cores


def seed_towns(socket_path: str, towns: int, mine: list[int], per_town: int, now: int) -> str:
    """One worker process: generate its towns' calls, in time order per town, and pipe
    them to Redis through ``redis-cli --pipe``. Returns redis-cli's summary line."""
    made = bulk.make_towns(towns)
    cli = Path(redis_server_binary()).with_name("redis-cli")
    pipe = subprocess.Popen([str(cli), "-s", socket_path, "--pipe"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert pipe.stdin is not None
    out = bulk.Grouped()
    for t in mine:
        rng = random.Random(t)
        times = sorted(rng.randrange(now - 365 * bulk.DAY_MS, now - 3_600_000)
                       for _ in range(per_town))  # fmt: skip
        for n, at in enumerate(times, 1):
            bulk.one_call(out, rng, made[t], at, now)
            if n % BATCH == 0:
                pipe.stdin.write(out.resp())
        pipe.stdin.write(out.resp())
    report, _ = pipe.communicate()
    return report.decode().strip().splitlines()[-1]


async def seed(redis: aioredis.Redis, socket_path: str, calls: int, towns: int) -> float:
    started = time.perf_counter()
    await bulk.register(redis, bulk.make_towns(towns))
    now, workers = now_ms(), min(WORKERS, towns)
    with ProcessPoolExecutor(workers) as pool:
        jobs = [pool.submit(seed_towns, socket_path, towns, list(range(w, towns, workers)),
                            calls // towns, now) for w in range(workers)]  # fmt: skip
        for job in jobs:
            report = job.result()
            print(f"  {report}")
            if "errors: 0" not in report:
                raise RuntimeError(f"seeding failed: {report}")
    return time.perf_counter() - started


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    runs = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        await work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


async def hgetall_all(redis: aioredis.Redis, names: list[str]) -> list[dict[str, str]]:
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(name)
        return await pipe.execute()  # type: ignore[no-any-return]


async def measure(redis: aioredis.Redis) -> dict[str, Any]:
    towns = Towns(redis)
    log, query, stats = CallLog(redis), RequestQuery(redis), Stats(redis, towns)
    cfg = await towns.settings("bt03")
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = int(month.replace(month=month.month - 1 if month.month > 1 else 12,
                              year=month.year if month.month > 1 else month.year - 1)
                .timestamp() * 1000)  # fmt: skip
    until = int(month.timestamp() * 1000)
    results: dict[str, Any] = {}

    flt = CallFilter(town_id=cfg.id, since_ms=since, until_ms=until)
    lower, upper = index_scan.lex_range(since, until, None)

    async def page_floor() -> None:
        ids = await redis.zrevrangebylex(keys.town_calls(cfg.id), upper, lower, start=0, num=51)
        await hgetall_all(redis, [keys.call(i) for i in ids])

    results["log_page"] = (await timed(lambda: log.page(flt, 50)), await timed(page_floor))

    rflt = RequestFilter(town_id=cfg.id, q="路灯")
    tokens = sorted(parse_query("路灯").tokens)
    hits, _ = await query.page(rflt, 50)

    async def search_floor() -> None:
        await redis.sinter([keys.search_token(cfg.id, t) for t in tokens])
        await hgetall_all(redis, [keys.request(r.id) for r in hits])

    results["text_search"] = (await timed(lambda: query.page(rflt, 50)), await timed(search_floor))
    results["text_search_hits"] = len(hits)

    rng = Range(since, until)
    days = sorted({cfg.day(t) for t in range(since, until, 3_600_000)})

    async def dashboard_floor() -> None:
        names = [k for d in days for k in (keys.stats_day(cfg.id, d), keys.stats_waits(cfg.id, d))]
        await hgetall_all(redis, names)

    results["month_dashboard"] = (
        await timed(lambda: stats.summary([cfg.id], rng)),
        await timed(dashboard_floor),
    )

    export = CallFilter(town_id=cfg.id)

    async def csv_export() -> int:
        size = 0
        async for chunk in exports.calls_csv(log.all(export, 10_000)):
            size += len(chunk)
        return size

    async def export_floor() -> None:
        ids = await redis.zrevrangebylex(keys.town_calls(cfg.id), "+", "-", start=0, num=10_000)
        for start in range(0, len(ids), 500):
            await hgetall_all(redis, [keys.call(i) for i in ids[start : start + 500]])

    results["csv_export"] = (await timed(csv_export), await timed(export_floor))
    return results


async def run(calls: int, towns: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yijian-bench-") as folder:
        server = EmbeddedRedis(Path(folder))
        server.start()
        try:
            redis = aioredis.Redis.from_url(server.url, decode_responses=True)
            await redis.config_set("appendonly", "no")  # measuring reads, not the disk
            print(f"seeding {calls:,} calls across {towns} towns")
            seed_s = await seed(redis, str(server.socket_path), calls, towns)
            memory = (await redis.info("memory"))["used_memory"]
            measured = await measure(redis)
            await redis.aclose()
        finally:
            server.stop()
    out: dict[str, Any] = {
        "requests_seed_calls": calls // towns * towns,
        "requests_seed_towns": towns,
        "requests_seed_s": round(seed_s, 1),
        "requests_redis_mib": round(memory / 2**20),
    }
    for name in ("log_page", "text_search", "month_dashboard", "csv_export"):
        took, floor = measured[name]
        out[f"requests_{name}_ms"] = round(took * 1000, 2)
        out[f"requests_{name}_floor_ms"] = round(floor * 1000, 2)
        out[f"requests_{name}_ratio"] = round(took / floor, 2)
    out["requests_text_search_hits"] = measured["text_search_hits"]
    return out


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench requests")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--towns", type=int, default=20)
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.calls, args.towns))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"  {name:<{width}}  {value}")
    return results
