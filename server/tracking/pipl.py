"""A villager's personal information, on their request (PIPL): one request anonymised or
deleted by a supervisor of its town or an admin, with a reason, in the audit log.

- **Anonymise** blanks the request's words: its summary, the text of its notes (their
  authors and times stay), the old and new summaries its history kept, its linked
  calls' copy of the summary, and its search tokens; it keeps the number, status,
  category, kiosk, village and times, so the lists and the numbers stay as they were.
  The request is marked (``anonymised_at``) and takes no new text afterwards.
- **Delete** removes the request, its notes, history, indexes and search tokens (the
  same writes as the retention job's, ``retention.queue_request_delete``) and unlinks
  its calls (their ``request_id``, ``request_number`` and copy of the request go; the
  calls stay, as the record that a call was made). The day counters (``keys.stats_day``)
  keep counting it, as they do past retention.

Each is one WATCH/MULTI transaction (``server.store.tx``), its audit entry inside it.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from server.accounts.audit import Actor, Audit
from server.clock import now_ms
from server.errors import BadRequest, NotFound
from server.store import keys
from server.store.tx import atomic
from server.tracking import text_index
from server.tracking.request_model import RequestRecord, event
from server.tracking.retention import queue_request_delete

MAX_REASON = 200


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise BadRequest(f"say why in 1-{MAX_REASON} characters; got {len(text)}",
                         code="reason_required")  # fmt: skip
    return text


def _blank_history(raw: str) -> str:
    """A history event with any words of the villager's taken out."""
    entry: dict[str, Any] = json.loads(raw)
    if entry.get("type") == "summary_changed":
        entry["from"], entry["to"] = "", ""
    if "text" in entry:  # a note's text, as older history events kept it
        entry["text"] = ""
    return json.dumps(entry, ensure_ascii=False)


def _blank_note(raw: str) -> str:
    return json.dumps({**json.loads(raw), "text": ""}, ensure_ascii=False)


class Pipl:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def _read(self, pipe: Pipeline, request_id: str) -> tuple[RequestRecord, list[str]]:
        data = await pipe.hgetall(keys.request(request_id))
        if not data:
            raise NotFound(f"no request {request_id!r}", code="request_not_found")
        notes = await pipe.lrange(keys.request_notes(request_id), 0, -1)
        return RequestRecord.from_hash(data), notes

    def _text(self, rec: RequestRecord, notes: list[str]) -> str:
        return "\n".join([rec.summary, *(json.loads(n)["text"] for n in notes)])

    async def anonymise(self, request_id: str, actor: Actor, reason: str) -> None:
        why = _reason(reason)
        watched = [
            keys.request(request_id),
            keys.request_notes(request_id),
            keys.request_history(request_id),
        ]  # rewritten whole: nothing may slip in

        async def work(pipe: Pipeline) -> None:
            rec, notes = await self._read(pipe, request_id)
            history = await pipe.lrange(keys.request_history(request_id), 0, -1)
            at = now_ms()
            pipe.multi()
            pipe.hset(keys.request(request_id), mapping={"summary": "", "anonymised_at": at})
            for key, entries in ((keys.request_notes(request_id), [_blank_note(n) for n in notes]),
                                 (keys.request_history(request_id),
                                  [*map(_blank_history, history),
                                   event("anonymised", actor.name, at)])):  # fmt: skip
                pipe.delete(key)
                if entries:
                    pipe.rpush(key, *entries)
            for token in text_index.tokens(self._text(rec, notes)):
                pipe.srem(keys.search_token(rec.town_id, token), request_id)
            view = json.dumps({"summary": "", "category": rec.category, "status": rec.status},
                              ensure_ascii=False)  # fmt: skip
            for call_id in rec.call_ids if rec.saved else ():  # unsaved: the calls show none
                pipe.hset(keys.call(call_id), "request", view)
            Audit.queue(pipe, actor, "request_anonymised", rec.town_id, rec.number,
                        request_id=rec.id, reason=why)  # fmt: skip

        await atomic(self.redis, watched, work)

    async def delete(self, request_id: str, actor: Actor, reason: str) -> None:
        why, watched = _reason(reason), [keys.request(request_id), keys.request_notes(request_id)]

        async def work(pipe: Pipeline) -> None:
            rec, notes = await self._read(pipe, request_id)
            pointer = keys.kiosk_open_request(rec.kiosk_id)
            await pipe.watch(pointer)
            ours = await pipe.get(pointer) == request_id
            pipe.multi()
            queue_request_delete(pipe, rec.town_id, request_id, rec, notes)
            if ours:
                pipe.delete(pointer)
            for call_id in rec.call_ids:
                pipe.hdel(keys.call(call_id), "request_id", "request_number", "request")
            Audit.queue(pipe, actor, "request_deleted", rec.town_id, rec.number,
                        request_id=rec.id, reason=why)  # fmt: skip

        await atomic(self.redis, watched, work)
