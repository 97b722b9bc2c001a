"""A town's fleet as its supervisors see it: every kiosk with its health and alerts.

Read in two round trips whatever the town's size: one pipeline for the kiosks (their
record, health, last seen, alert, connection and newest call), one for those calls.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel

from server.clock import iso, now_ms
from server.store import keys
from yijian.protocol import DeviceCheck


class LastCall(BaseModel):
    id: str
    status: str
    created_at: str | None
    ended_at: str | None


class SelfTestView(BaseModel):
    at: str | None  # by the hub's clock
    passed: bool
    devices: list[DeviceCheck]


class Alert(BaseModel):
    kind: Literal["offline", "self_test_failed"]
    since: str | None  # offline: last seen; self_test_failed: when the test ran
    detail: str = ""


class KioskHealth(BaseModel):
    id: str
    town_id: str
    name: str
    village: str
    revoked: bool
    online: bool  # a live connection lease (keys.kiosk_conns)
    last_seen: str | None  # None: never seen since the fleet began
    last_call: LastCall | None
    self_test: SelfTestView | None
    button_stuck: bool
    button_fault: str | None
    version: str | None
    alerts: list[Alert]


async def town_fleet(redis: aioredis.Redis, town_id: str) -> list[KioskHealth]:
    ids = sorted(await redis.smembers(keys.town_kiosks(town_id)))
    now = now_ms()
    async with redis.pipeline(transaction=False) as pipe:
        for kiosk_id in ids:
            pipe.hgetall(keys.kiosk(kiosk_id))
            pipe.hgetall(keys.kiosk_health(kiosk_id))
            pipe.zscore(keys.fleet_seen(town_id), kiosk_id)
            pipe.zscore(keys.fleet_offline(town_id), kiosk_id)
            pipe.zcount(keys.kiosk_conns(kiosk_id), now, "+inf")
            pipe.zrevrange(keys.kiosk_calls(kiosk_id), 0, 0)
        found = await pipe.execute()
    rows = [found[i : i + 6] for i in range(0, len(found), 6)]
    newest = [row[5][0] if row[5] else None for row in rows]
    async with redis.pipeline(transaction=False) as pipe:
        for call_id in newest:
            if call_id is not None:
                pipe.hmget(keys.call(call_id), ["status", "created_at", "ended_at"])
        calls = iter(await pipe.execute())
    fleet = []
    for kiosk_id, row, call_id in zip(ids, rows, newest, strict=True):
        record, health, seen, offline, conns, _ = row
        last_call = _last_call(call_id, next(calls)) if call_id is not None else None
        if record.get("town") == town_id:  # else moved since the set was read
            fleet.append(_kiosk(kiosk_id, town_id, record, health, seen, offline, conns,
                                last_call))  # fmt: skip
    return fleet


def _last_call(call_id: str, fields: list[str | None]) -> LastCall | None:
    status, created, ended = fields
    if status is None:  # deleted by retention
        return None
    return LastCall(id=call_id, status=status, created_at=iso(created), ended_at=iso(ended))


def _kiosk(
    kiosk_id: str, town_id: str, record: dict[str, str], health: dict[str, str],
    seen: float | None, offline: float | None, conns: int, last_call: LastCall | None,
) -> KioskHealth:  # fmt: skip
    self_test = None
    alerts = []
    if offline is not None:
        alerts.append(Alert(kind="offline", since=iso(int(offline))))
    if health.get("self_test"):
        devices = [DeviceCheck(**c) for c in json.loads(health["self_test"])]
        at = iso(health.get("self_test_at"))
        self_test = SelfTestView(at=at, passed=health.get("self_test_passed") == "1",
                                 devices=devices)  # fmt: skip
        if not self_test.passed:
            failed = [f"{c.device}: {c.detail}" for c in devices if c.result == "failed"]
            alerts.append(Alert(kind="self_test_failed", since=at, detail="; ".join(failed)))
    fields: dict[str, Any] = {
        "id": kiosk_id, "town_id": town_id, "name": record.get("name", ""),
        "village": record.get("village", ""), "revoked": record.get("revoked") == "1",
        "online": conns > 0, "last_seen": iso(int(seen)) if seen is not None else None,
        "last_call": last_call, "self_test": self_test,
        "button_stuck": health.get("button_stuck") == "1",
        "button_fault": health.get("button_fault") or None,
        "version": health.get("version") or None, "alerts": alerts,
    }  # fmt: skip
    return KioskHealth(**fields)
