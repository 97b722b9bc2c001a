"""REST routes for reporting: the numbers (``/api/stats``) and the exports (two CSV
files and Open311 GeoReport v2 JSON), each for any filter the lists take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from server.api.deps import AccessDep, AuditDep, CallLogDep, needs
from server.api.tracked import FilterDep, QueryDep, TownsDep, choice, parse_time
from server.clock import iso, now_ms
from server.errors import BadRequest
from server.queue.records import STATUSES
from server.tracking import exports
from server.tracking.calllog import CallFilter
from server.tracking.request_model import UNFINISHED, RequestRecord
from server.tracking.stats import Range, Stats

router = APIRouter(prefix="/api", tags=["reports"])
MAX_EXPORT_ROWS = 100_000
DEFAULT_RANGE_MS = 30 * 86_400_000
ExportLimit = Annotated[int, Query(ge=1, le=MAX_EXPORT_ROWS)]
# The exports' own answers, declared so the OpenAPI document says what comes back.
CSV: dict[int | str, Any] = {
    200: {
        "description": "UTF-8 CSV with a BOM, one row per record",
        "content": {"text/csv; charset=utf-8": {"schema": {"type": "string"}}},
    }
}
OPEN311: dict[int | str, Any] = {
    200: {
        "description": "Open311 GeoReport v2 service requests",
        "content": {
            "application/json; charset=utf-8": {
                "schema": {"type": "array", "items": {"type": "object"}}
            }
        },
    }
}


def _stats(request: Request) -> Stats:
    return request.app.state.stats  # type: ignore[no-any-return]


async def call_filter(
    who: AccessDep,
    towns: TownsDep,
    town: str | None = None,
    kiosk: str | None = None,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
    village: str | None = None,
    operator_: Annotated[str | None, Query(alias="operator")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> CallFilter:
    """The call log's filters, scoped to what the operator may see."""
    town_id = who.scope(town)
    return CallFilter(
        town_id=town_id, kiosk_id=kiosk or None, status=choice(status or None, STATUSES, "status"),
        since_ms=parse_time(since, "since"), until_ms=parse_time(until, "until"),
        village=village or None, operator=operator_ or None, q=q or None,
        town_ids=tuple(await towns.town_ids()) if town_id is None and q else (),
    )  # fmt: skip


CallFilterDep = Annotated[CallFilter, Depends(call_filter)]


def _download(body: Any, media_type: str, name: str) -> StreamingResponse:
    return StreamingResponse(
        body, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


async def _audit_export(audit: AuditDep, what: str, town_id: str | None, request: Request) -> None:
    """Who took which records out: the filters' names and values, but not a text query
    (``q``), which may hold a villager's words."""
    given = {k: v for k, v in request.query_params.items() if k != "q"}
    await audit("export", town_id, what, filters=given, q="q" in request.query_params)


@router.get("/calls/export.csv", **needs("operator", CSV))
async def export_calls(
    flt: CallFilterDep, log: CallLogDep, audit: AuditDep, request: Request,
    limit: ExportLimit = MAX_EXPORT_ROWS,
) -> StreamingResponse:  # fmt: skip
    await _audit_export(audit, "calls.csv", flt.town_id, request)
    rows = log.all(flt, limit)
    return _download(exports.calls_csv(rows), "text/csv; charset=utf-8", "calls.csv")


@router.get("/requests/export.csv", **needs("operator", CSV))
async def export_requests(
    flt: FilterDep, query: QueryDep, audit: AuditDep, request: Request,
    limit: ExportLimit = MAX_EXPORT_ROWS,
) -> StreamingResponse:  # fmt: skip
    await _audit_export(audit, "requests.csv", flt.town_id, request)
    rows = query.all(flt, limit)
    return _download(exports.requests_csv(rows), "text/csv; charset=utf-8", "requests.csv")


@router.get("/open311/requests.json", **needs("operator", OPEN311))
async def export_open311(
    flt: FilterDep,
    query: QueryDep,
    request: Request,
    audit: AuditDep,
    limit: ExportLimit = MAX_EXPORT_ROWS,
    start_date: str | None = None,
    end_date: str | None = None,
) -> StreamingResponse:
    """GeoReport v2's ``GET requests.json``; its ``start_date``/``end_date`` work
    beside ``since``/``until``, and ``status=open|closed`` takes its meaning."""
    await _audit_export(audit, "open311", flt.town_id, request)
    since, until = parse_time(start_date, "start_date"), parse_time(end_date, "end_date")
    flt = replace(flt, since_ms=since if since is not None else flt.since_ms,
                  until_ms=until if until is not None else flt.until_ms)  # fmt: skip
    wanted = request.query_params.get("status")
    if wanted in ("open", "closed"):  # GeoReport's two statuses, not ours
        rows = _by_open311_status(query.all(replace(flt, status=None), limit), wanted)
    else:
        rows = query.all(flt, limit)
    return StreamingResponse(
        exports.open311_json(request.app.state.redis, rows),
        media_type="application/json; charset=utf-8",
    )


async def _by_open311_status(
    rows: AsyncIterator[RequestRecord], wanted: str
) -> AsyncIterator[RequestRecord]:
    async for rec in rows:
        if (rec.status in UNFINISHED) == (wanted == "open"):
            yield rec


@router.get("/stats", **needs("operator"))
async def get_stats(
    who: AccessDep,
    towns: TownsDep,
    stats: Annotated[Stats, Depends(_stats)],
    town: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    town_id = who.scope(town)
    until_ms = parse_time(until, "until") or now_ms()
    since_ms = parse_time(since, "since")
    since_ms = until_ms - DEFAULT_RANGE_MS if since_ms is None else since_ms
    if since_ms >= until_ms:
        raise BadRequest("since must come before until", code="bad_range")
    town_ids = [town_id] if town_id else await towns.town_ids()
    figures = await stats.summary(town_ids, Range(since_ms, until_ms))
    return {"town": town_id, "since": iso(since_ms), "until": iso(until_ms), **figures}
