"""A change to a request: checked against the rules, worked out while the request is
watched, then queued into the transaction that writes it (``server.tracking.request_store``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from redis.asyncio.client import Pipeline

from server.accounts.accounts import Operator
from server.accounts.categories import Categories
from server.clock import iso, now_ms
from server.errors import BadRequest, BadState
from server.store import keys
from server.tracking import stats, text_index
from server.tracking.request_model import (
    FINISHED,
    UNFINISHED,
    Changes,
    RequestRecord,
    check_status_change,
    event,
    index_keys,
)


@dataclass
class Plan:
    """What one change writes, worked out before the transaction starts."""

    old: RequestRecord
    new: RequestRecord
    events: list[str] = field(default_factory=list)
    note: str | None = None
    old_text: str = ""
    new_text: str = ""
    drop_pointer: bool = False  # the kiosk's open-request pointer names this request


async def plan(
    pipe: Pipeline, categories: Categories, rec: RequestRecord, ch: Changes, actor: Operator
) -> Plan:
    """Check a change against the rules and work out what it writes."""
    at, by = now_ms(), actor.username
    new, events = rec, []
    if ch.note is not None and not ch.note.strip():
        raise BadRequest("a note needs some text", code="empty_note")
    if rec.anonymised_at is not None and (ch.note is not None or ch.summary):
        raise BadState(f"request {rec.number} was anonymised; it takes no new text",
                       code="request_anonymised")  # fmt: skip
    if ch.category is not None and ch.category != rec.category:
        if ch.category not in await categories.of(rec.town_id):
            raise BadRequest(f"{ch.category!r} is not a category of town {rec.town_id}",
                             code="bad_category")  # fmt: skip
        events.append(
            event("category_changed", by, at, **{"from": rec.category, "to": ch.category})
        )
        new = dataclasses.replace(new, category=ch.category)
    if ch.summary is not None and ch.summary != rec.summary:
        events.append(event("summary_changed", by, at, **{"from": rec.summary, "to": ch.summary}))
        new = dataclasses.replace(new, summary=ch.summary)
    if ch.assignee is not None and (ch.assignee or None) != rec.assignee:
        await _check_assignee(pipe, rec.town_id, ch.assignee)
        events.append(event("assigned", by, at, to=ch.assignee or None))
        new = dataclasses.replace(new, assignee=ch.assignee or None)
    due = None if ch.clear_due else (ch.due_at if ch.due_at is not None else rec.due_at)
    if due != rec.due_at:
        events.append(event("due_changed", by, at, to=iso(due)))
        new = dataclasses.replace(new, due_at=due)
    if ch.status is not None and ch.status != rec.status:
        check_status_change(rec, ch.status, actor.role, ch.note)
        resolved_at = rec.resolved_at if ch.status in FINISHED else None
        if ch.status == "resolved" or (ch.status == "closed" and resolved_at is None):
            resolved_at = at
        events.append(event("status_changed", by, at, **{"from": rec.status, "to": ch.status}))
        new = dataclasses.replace(new, status=ch.status, resolved_at=resolved_at)
    if ch.note is not None:
        events.append(event("note_added", by, at))
    if not events:
        return Plan(rec, rec)
    plan = Plan(rec, dataclasses.replace(new, updated_at=at), events)
    if ch.note is not None:
        plan.note = json.dumps({"author": by, "at": at, "text": ch.note}, ensure_ascii=False)
    if new.summary != rec.summary or ch.note is not None:
        notes = [
            json.loads(n)["text"] for n in await pipe.lrange(keys.request_notes(rec.id), 0, -1)
        ]
        plan.old_text = "\n".join([rec.summary, *notes])
        plan.new_text = "\n".join([new.summary, *notes, ch.note or ""])
    if new.status in FINISHED and rec.status in UNFINISHED:
        pointer = keys.kiosk_open_request(rec.kiosk_id)
        await pipe.watch(pointer)
        plan.drop_pointer = await pipe.get(pointer) == rec.id
    return plan


async def _check_assignee(pipe: Pipeline, town_id: str, username: str) -> None:
    if not username:
        return
    town = await pipe.hget(keys.operator(username), "town")
    if town != town_id:
        raise BadRequest(f"{username!r} is not an operator of town {town_id}",
                         code="bad_assignee")  # fmt: skip


def queue_plan(pipe: Pipeline, plan: Plan) -> None:
    old, new = plan.old, plan.new
    if not plan.events:
        return
    pipe.hset(keys.request(new.id), mapping=new.to_hash())
    before, after = index_keys(old), index_keys(new)
    for index in before - after:
        pipe.zrem(index, new.id)
    for index in after - before:
        pipe.zadd(index, {new.id: 0})
    pipe.rpush(keys.request_history(new.id), *plan.events)
    if plan.note is not None:
        pipe.rpush(keys.request_notes(new.id), plan.note)
    if plan.old_text != plan.new_text:
        old_tokens, new_tokens = (
            text_index.tokens(plan.old_text),
            text_index.tokens(plan.new_text),
        )
        for token in old_tokens - new_tokens:
            pipe.srem(keys.search_token(new.town_id, token), new.id)
        for token in new_tokens - old_tokens:
            pipe.sadd(keys.search_token(new.town_id, token), new.id)
    if new.status != old.status:
        stats.queue_request_status(pipe, new.town_id, new.day, old.status, new.status)
        if plan.drop_pointer:
            pipe.delete(keys.kiosk_open_request(new.kiosk_id))
        elif new.status in UNFINISHED and old.status in FINISHED:
            pipe.set(keys.kiosk_open_request(new.kiosk_id), new.id, nx=True)
    if new.due_at is not None and new.status in UNFINISHED:
        pipe.zadd(keys.town_due(new.town_id), {new.id: new.due_at})
    else:
        pipe.zrem(keys.town_due(new.town_id), new.id)
    if new.saved:
        view = json.dumps(new.call_view(), ensure_ascii=False)
        for call_id in new.call_ids:
            pipe.hset(keys.call(call_id), "request", view)
