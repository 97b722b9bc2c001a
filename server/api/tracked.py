"""REST routes of request tracking: the request list, one request, its changes and
notes, and a town's categories. Thin: the rules live in ``server.tracking.request_store``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from server.accounts.categories import Categories
from server.accounts.towns import Towns
from server.api.deps import AccessDep, AuditDep, needs
from server.clock import parse_iso
from server.errors import BadRequest
from server.tracking.pipl import MAX_REASON, Pipl
from server.tracking.request_model import (
    KINDS,
    REQUEST_STATUSES,
    Changes,
    RequestRecord,
)
from server.tracking.request_query import MAX_LIMIT, RequestFilter, RequestQuery
from server.tracking.request_store import RequestStore

router = APIRouter(prefix="/api", tags=["requests"])
Status = Literal["open", "in_progress", "resolved", "closed"]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")]


def _requests(request: Request) -> RequestStore:
    return request.app.state.requests  # type: ignore[no-any-return]


def _query(request: Request) -> RequestQuery:
    return request.app.state.request_query  # type: ignore[no-any-return]


def _towns(request: Request) -> Towns:
    return request.app.state.towns  # type: ignore[no-any-return]


def _categories(request: Request) -> Categories:
    return request.app.state.categories  # type: ignore[no-any-return]


RequestsDep = Annotated[RequestStore, Depends(_requests)]
QueryDep = Annotated[RequestQuery, Depends(_query)]
TownsDep = Annotated[Towns, Depends(_towns)]
CategoriesDep = Annotated[Categories, Depends(_categories)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestPatch(Body):
    summary: str | None = Field(default=None, min_length=1, max_length=2000)
    category: str | None = Field(default=None, min_length=1, max_length=40)
    status: Status | None = None
    assignee: str | None = Field(default=None, max_length=64)  # null or "" unassigns
    due_at: str | None = Field(default=None, max_length=40)  # ISO 8601; null or "" clears
    note: str | None = Field(default=None, min_length=1, max_length=4000)


class NoteBody(Body):
    text: str = Field(min_length=1, max_length=4000)


class ReasonBody(Body):
    """Why a villager's request is anonymised or deleted: kept in the audit log, so it
    names no one (e.g. "villager asked on the hotline, 5 May")."""

    reason: str = Field(min_length=1, max_length=MAX_REASON)


class CategoriesBody(Body):
    categories: list[str] = Field(min_length=1, max_length=50)


def parse_time(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 time; got {value!r}", code="bad_time"
        ) from None


def visible_request(who: AccessDep, rec: RequestRecord) -> RequestRecord:
    who.see(rec.town_id, "request", rec.id)
    return rec


def choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}; got {value!r}",
                         code=f"bad_{name}")  # fmt: skip
    return value


async def request_filter(
    who: AccessDep,
    towns: TownsDep,
    town: str | None = None,
    village: str | None = None,
    kiosk: str | None = None,
    operator_: Annotated[str | None, Query(alias="operator")] = None,
    assignee: str | None = None,
    status: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    since: str | None = None,
    until: str | None = None,
    overdue: bool | None = None,
) -> RequestFilter:
    """The request list's filters, scoped to what the operator may see."""
    town_id = who.scope(town)
    return RequestFilter(
        town_id=town_id, town_ids=tuple(await towns.town_ids()) if town_id is None else (),
        village=village or None, kiosk_id=kiosk or None, operator=operator_ or None,
        assignee=assignee or None, status=choice(status or None, REQUEST_STATUSES, "status"),
        category=category or None, kind=choice(kind or None, KINDS, "kind"), q=q or None,
        since_ms=parse_time(since, "since"), until_ms=parse_time(until, "until"), overdue=overdue,
    )  # fmt: skip


FilterDep = Annotated[RequestFilter, Depends(request_filter)]


@router.get("/requests", **needs("operator"))
async def list_requests(
    flt: FilterDep,
    query: QueryDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    items, next_cursor = await query.page(flt, limit, cursor)
    return {"items": [r.to_api() for r in items], "next_cursor": next_cursor}


async def _full(store: RequestStore, rec: RequestRecord) -> dict[str, Any]:
    return {
        **rec.to_api(),
        "notes": await store.notes(rec.id),
        "history": await store.history(rec.id),
    }


@router.get("/requests/{request_id}", **needs("operator"))
async def get_request(
    request_id: str, who: AccessDep, store: RequestsDep, audit: AuditDep
) -> dict[str, Any]:
    rec = visible_request(who, await store.get(request_id))
    await audit("request_viewed", rec.town_id, rec.number, request_id=rec.id)
    return await _full(store, rec)


@router.patch("/requests/{request_id}", **needs("operator"))
async def patch_request(
    request_id: str, body: RequestPatch, who: AccessDep, store: RequestsDep, audit: AuditDep
) -> dict[str, Any]:
    rec = visible_request(who, await store.get(request_id))
    given = body.model_fields_set
    changes = Changes(
        summary=body.summary, category=body.category, status=body.status, note=body.note,
        assignee=(body.assignee or "") if "assignee" in given else None,
        due_at=parse_time(body.due_at, "due_at"),
        clear_due="due_at" in given and not body.due_at,
    )  # fmt: skip
    changed = await store.update(request_id, changes, who.operator)
    # which fields, never their words: the text stays in the request alone (PIPL)
    await audit("request_changed", rec.town_id, rec.number, request_id=rec.id,
                fields=sorted(given))  # fmt: skip
    return await _full(store, changed)


@router.post("/requests/{request_id}/notes", status_code=201, **needs("operator"))
async def add_note(
    request_id: str, body: NoteBody, who: AccessDep, store: RequestsDep, audit: AuditDep
) -> dict[str, Any]:
    rec = visible_request(who, await store.get(request_id))
    changed = await store.add_note(request_id, body.text, who.operator)
    await audit("request_changed", rec.town_id, rec.number, request_id=rec.id, fields=["note"])
    return await _full(store, changed)


def _pipl(request: Request) -> Pipl:
    return Pipl(request.app.state.redis)


PiplDep = Annotated[Pipl, Depends(_pipl)]


@router.post("/requests/{request_id}/anonymise", **needs("supervisor"))
async def anonymise_request(
    request_id: str, body: ReasonBody, who: AccessDep, store: RequestsDep, pipl: PiplDep,
    audit: AuditDep,
) -> dict[str, Any]:  # fmt: skip
    """PIPL: blank the request's words everywhere, keep its number, status and times."""
    rec = visible_request(who, await store.get(request_id))
    await pipl.anonymise(rec.id, audit.actor, body.reason)
    return await _full(store, await store.get(rec.id))


@router.delete("/requests/{request_id}", status_code=204, **needs("supervisor"))
async def delete_request(
    request_id: str, body: ReasonBody, who: AccessDep, store: RequestsDep, pipl: PiplDep,
    audit: AuditDep,
) -> None:  # fmt: skip
    """PIPL: remove the request, its history and its search entries; unlink its calls."""
    rec = visible_request(who, await store.get(request_id))
    await pipl.delete(rec.id, audit.actor, body.reason)


@router.get("/towns/{town_id}/categories", **needs("operator"))
async def get_categories(
    town_id: str, who: AccessDep, towns: TownsDep, categories: CategoriesDep
) -> dict[str, Any]:
    who.town(town_id)
    await towns.settings(town_id)  # the town must exist
    return {"town_id": town_id, "categories": await categories.of(town_id)}


@router.put("/towns/{town_id}/categories", **needs("supervisor"))
async def put_categories(
    town_id: str, body: CategoriesBody, who: AccessDep, categories: CategoriesDep,
    audit: AuditDep,
) -> dict[str, Any]:  # fmt: skip
    who.town(town_id, "supervisor", "edit categories")
    saved = await categories.set(town_id, body.categories)
    await audit("categories_changed", town_id, town_id, categories=saved)
    return {"town_id": town_id, "categories": saved}
