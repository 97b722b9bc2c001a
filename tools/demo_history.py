# ruff: noqa: RUF001 (the demo text is Chinese, with Chinese punctuation)
"""A month of a demo town's history, made through the hub's own stores with the clock
set back: calls (answered, abandoned, unanswered), their requests written up, worked
on, resolved and closed over the following days, villagers' ratings, due dates (some
missed). What the dashboard and the lists show is then exactly what the hub counted.

Used by ``tools.review_shots`` for the README's screenshot; never by the hub itself.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from server.accounts.accounts import Accounts, Operator
from server.accounts.kiosks import Kiosk
from server.queue.calls import CallStore
from server.store import keys
from server.tracking import hooks as tracking
from server.tracking.request_model import Changes

TOWN = ("shengtang", "圣堂镇")
KIOSKS = (  # id, name, village, share of the calls
    ("st-k1", "圣堂村一键通", "圣堂村", 5),
    ("st-k2", "石头村服务点", "石头村", 4),
    ("st-k3", "大田村村委会", "大田村", 3),
    ("st-k4", "良西村祠堂", "良西村", 3),
    ("st-k5", "沙湖村文化室", "沙湖村", 2),
    ("st-k6", "河口村小卖部", "河口村", 1),
)
OPERATORS = ("lihua", "chenmin", "wangfang")
SUPERVISOR = "zhangwei"
PASSWORD = "yijian-review"
# Calls by hour of day, China time: mornings and late afternoons.
HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 1, 3, 9, 12, 11, 8, 4, 3, 6, 9, 10, 8, 5, 3, 2, 1, 0, 0)
PROBLEMS = {
    "政务咨询": ("咨询新农合医保缴费的时间和标准。", "想了解高龄津贴怎么申请，需要哪些材料。",
                 "问宅基地确权登记什么时候开始。", "咨询孩子上学的户籍证明去哪里开。"),
    "民生求助": ("自来水水压低，二楼一直没有水。", "独居老人家里电线老化，想请人看看。",
                 "村里的公交站牌被风吹倒了。", "家里老人行动不便，想申请上门办理社保认证。"),
    "矛盾纠纷": ("邻居建房占用了公共通道，双方有争执。", "承包地边界有争议，想请村委会调解。",
                 "养鸡场气味大，周边住户意见很大。"),
    "环境卫生": ("垃圾收集点三天没有清运，气味很大。", "河边有人乱倒建筑垃圾。",
                 "村口水沟堵塞，下雨就积水。", "公厕没人打扫，很脏。"),
    "治安隐患": ("河边护栏松动，担心小孩落水。", "村道有大坑，晚上摩托车容易摔倒。",
                 "村口路灯坏了三盏，晚上出行不便。", "桥边的电线垂得很低。"),
    "其他": ("想给村里的文化室提些建议。", "询问今年龙舟赛的报名时间。"),
}  # fmt: skip
FIXES = (
    "已联系村委会，安排人员上门处理，问题已解决。",
    "已转交镇相关部门办理，已回复村民。",
    "工作人员已到现场处理完毕，村民表示认可。",
    "已电话回复村民，解答了相关政策。",
)
DAY_MS = 86_400_000


@dataclass
class DemoTown:
    town_id: str
    supervisor: str
    password: str
    calls: int


class FakeClock:
    """Sets what ``server.clock.now_ms`` answers, by standing in for ``time.time_ns``."""

    def __init__(self) -> None:
        self.real = time.time_ns
        self.ms: int | None = None

    def __call__(self) -> int:
        return self.real() if self.ms is None else self.ms * 1_000_000

    @contextmanager
    def installed(self) -> Iterator[FakeClock]:
        time.time_ns = self  # type: ignore[assignment]
        try:
            yield self
        finally:
            time.time_ns = self.real


async def seed(
    redis: aioredis.Redis, days: int = 30, per_day: float = 14.0, seed_: int = 7
) -> DemoTown:
    rnd = random.Random(seed_)
    accounts = Accounts(redis)
    await accounts.add_town(*TOWN)
    town_id = TOWN[0]
    await redis.hset(keys.town(town_id), "request_prefix", "ST")  # numbers read ST-2026-000123
    kiosks: list[Kiosk] = []
    for kiosk_id, name, village, _share in KIOSKS:
        await accounts.add_kiosk(kiosk_id, town_id, name, village)
        kiosks.append(await accounts.kiosk(kiosk_id))
    ops: list[Operator] = []
    for name in OPERATORS:
        await accounts.add_operator(name, town_id, "operator", PASSWORD)
        ops.append(await accounts.operator(name))
    await accounts.add_operator(SUPERVISOR, town_id, "supervisor", PASSWORD)
    boss = await accounts.operator(SUPERVISOR)

    calls = CallStore(redis)
    wired = tracking.wire(redis, calls)
    store = wired.requests
    clock = FakeClock()
    now = time.time_ns() // 1_000_000
    # Midnight, China time, `days` days ago: the first day of the history.
    start = (now + 8 * 3_600_000) // DAY_MS * DAY_MS - 8 * 3_600_000 - (days - 1) * DAY_MS
    moments = []
    for day in range(days):
        for _ in range(max(0, round(rnd.gauss(per_day, per_day / 3)))):
            hour = rnd.choices(range(24), weights=HOUR_WEIGHTS)[0]
            at = start + day * DAY_MS + hour * 3_600_000 + rnd.randrange(3_600_000)
            if at < now - 15 * 60_000:
                moments.append(at)
    moments.sort()
    weights = [k[3] for k in KIOSKS]
    later: list[tuple[int, int, str, Changes, Operator]] = []  # a heap of follow-up work
    order = itertools.count()  # breaks ties in the heap

    async def work_until(moment: int) -> None:
        while later and later[0][0] <= moment:
            when, _n, request_id, changes, actor = heapq.heappop(later)
            clock.ms = when
            await store.update(request_id, changes, actor)

    with clock.installed():
        for at in moments:
            await work_until(at)
            kiosk = rnd.choices(kiosks, weights=weights)[0]
            # A call from a kiosk with an open request joins it (the hub's rule for a
            # villager's follow-up); most calls at a shared kiosk are someone else's.
            follow_up = rnd.random() < 0.12
            if not follow_up:
                await redis.delete(keys.kiosk_open_request(kiosk.id))
            clock.ms = at
            call, _ = await calls.create(kiosk, secrets.token_hex(8))
            fate = rnd.random()
            if fate < 0.05:
                clock.ms = at + rnd.randrange(8_000, 60_000)
                await calls.end(call.id, reason="kiosk_hangup", by="kiosk")
                continue
            if fate < 0.09:
                clock.ms = at + 120_000
                await calls.end(call.id, reason="max_wait", by="hub", if_queued="unanswered")
                continue
            op = rnd.choice(ops)
            wait = int(rnd.lognormvariate(2.1, 0.6) * 1000)
            clock.ms = at + 1000
            await calls.mark_offered(call.id, op.username)
            clock.ms = at + wait
            await calls.claim(call.id, op, "demo")
            clock.ms += int(rnd.uniform(70, 420) * 1000)
            ended = await calls.end(call.id, reason="operator_hangup", by=op.username)
            assert ended is not None
            clock.ms += int(rnd.uniform(20, 150) * 1000)
            joined = await store.open_for_call(ended)
            if joined is not None and joined.summary:
                again = Changes(note="村民再次来电询问办理进度，已告知。")
                await store.save_from_call(ended, again, op)
                continue
            category = rnd.choices(list(PROBLEMS), weights=(5, 5, 2, 4, 3, 1))[0]
            due = at + 3 * DAY_MS if category in ("民生求助", "环境卫生", "治安隐患") else None
            rec = await store.save_from_call(
                ended, Changes(summary=rnd.choice(PROBLEMS[category]), category=category,
                               status="in_progress", due_at=due), op)  # fmt: skip
            if rnd.random() < 0.55:
                clock.ms += 5_000
                await store.rate(ended, "satisfied" if rnd.random() < 0.86 else "unsatisfied")
            age_days = (now - at) / DAY_MS
            if rnd.random() < min(0.95, 0.25 + age_days / 8):
                done = at + int(rnd.uniform(0.1, max(0.15, min(age_days, 4))) * DAY_MS)
                if done < now:
                    fix = Changes(status="resolved", note=rnd.choice(FIXES))
                    heapq.heappush(later, (done, next(order), rec.id, fix, op))
                    close = done + int(rnd.uniform(0.1, 2) * DAY_MS)
                    if rnd.random() < min(0.9, age_days / 12) and close < now:
                        closing = Changes(status="closed")
                        heapq.heappush(later, (close, next(order), rec.id, closing, boss))
            elif rnd.random() < 0.5:
                note_at = at + int(rnd.uniform(0.1, max(0.2, age_days)) * DAY_MS)
                if note_at < now:
                    note = Changes(note="已与村民联系，正在协调处理。")
                    heapq.heappush(later, (note_at, next(order), rec.id, note, op))
        await work_until(now)
    return DemoTown(town_id, SUPERVISOR, PASSWORD, len(moments))
