"""The call log and the requests as files: CSV (UTF-8 with a BOM, so that Excel reads
Chinese correctly) and Open311 GeoReport v2 JSON. Rows are produced in batches as
they are read, so an export of any size streams in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis.asyncio as aioredis

from server.clock import iso, now_ms
from server.queue.records import CallRecord
from server.store import keys
from server.tracking.request_model import UNFINISHED, RequestRecord

BOM = "\ufeff"
BATCH = 500

CALL_COLUMNS = (
    "id", "town_id", "kiosk_id", "kiosk_name", "village", "status", "created_at",
    "answered_at", "ended_at", "operator", "end_reason", "wait_s", "talk_s",
    "request_number", "request_summary", "request_category", "request_status", "rating",
)  # fmt: skip
REQUEST_COLUMNS = (
    "number", "id", "town_id", "kiosk_id", "kiosk_name", "village", "kind", "status",
    "category", "summary", "assignee", "operator", "due_at", "overdue", "satisfaction",
    "created_at", "updated_at", "resolved_at", "call_ids",
)  # fmt: skip


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def call_row(call: CallRecord) -> list[str]:
    item = call.to_api()
    request = call.request or {}
    values = [*(item.get(c) for c in CALL_COLUMNS[:13]), item.get("request_number"),
              request.get("summary"), request.get("category"), request.get("status"),
              item.get("rating")]  # fmt: skip
    return [_cell(v) for v in values]


def request_row(rec: RequestRecord, at_ms: int) -> list[str]:
    item = rec.to_api(at_ms)
    item["call_ids"] = " ".join(rec.call_ids)
    return [_cell(item.get(c)) for c in REQUEST_COLUMNS]


def _lines(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


async def calls_csv(calls: AsyncIterator[CallRecord]) -> AsyncIterator[bytes]:
    yield (BOM + _lines([list(CALL_COLUMNS)])).encode()
    batch: list[list[str]] = []
    async for call in calls:
        batch.append(call_row(call))
        if len(batch) == BATCH:
            yield _lines(batch).encode()
            batch = []
    if batch:
        yield _lines(batch).encode()


async def requests_csv(recs: AsyncIterator[RequestRecord]) -> AsyncIterator[bytes]:
    at = now_ms()
    yield (BOM + _lines([list(REQUEST_COLUMNS)])).encode()
    batch: list[list[str]] = []
    async for rec in recs:
        batch.append(request_row(rec, at))
        if len(batch) == BATCH:
            yield _lines(batch).encode()
            batch = []
    if batch:
        yield _lines(batch).encode()


def open311(rec: RequestRecord, town_name: str, last_note: str | None) -> dict[str, Any]:
    """One GeoReport v2 service request."""
    status = "open" if rec.status in UNFINISHED else "closed"
    return {
        "service_request_id": rec.number,
        "status": status,
        "status_notes": last_note,
        "service_name": rec.category or None,
        "service_code": rec.category or None,
        "description": rec.summary,
        "agency_responsible": town_name,
        "service_notice": None,
        "requested_datetime": iso(rec.created_at),
        "updated_datetime": iso(rec.updated_at),
        "expected_datetime": iso(rec.due_at),
        "address": " ".join(p for p in (town_name, rec.village, rec.kiosk_name) if p),
        "address_id": rec.kiosk_id,
        "zipcode": None,
        "lat": float(rec.lat) if rec.lat else None,
        "long": float(rec.long) if rec.long else None,
        "media_url": None,
    }


async def open311_json(
    redis: aioredis.Redis, recs: AsyncIterator[RequestRecord]
) -> AsyncIterator[bytes]:
    names: dict[str, str] = {}
    first = True
    yield b"["
    batch: list[RequestRecord] = []

    async def flush() -> bytes:
        nonlocal first
        async with redis.pipeline(transaction=False) as pipe:
            for rec in batch:
                pipe.lindex(keys.request_notes(rec.id), -1)
            notes = await pipe.execute()
        parts = []
        for rec, note in zip(batch, notes, strict=True):
            if rec.town_id not in names:
                names[rec.town_id] = await redis.hget(keys.town(rec.town_id), "name") or ""
            text = json.loads(note)["text"] if note else None
            item = json.dumps(open311(rec, names[rec.town_id], text), ensure_ascii=False)
            parts.append(item if first else "," + item)
            first = False
        batch.clear()
        return "".join(parts).encode()

    async for rec in recs:
        batch.append(rec)
        if len(batch) == BATCH:
            yield await flush()
    if batch:
        yield await flush()
    yield b"]"
