"""What request tracking and the numbers read from a town: its categories, its request
number prefix, its service-level threshold and its local time.

The scalar settings sit in the town's hash (``keys.town``) beside the queue settings
and are set the same way (``yijian admin town set TOWN KEY VALUE``); the categories
are a JSON list of their own (``keys.town_categories``), edited by supervisors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from server.errors import BadRequest, NotFound
from server.store import keys

DEFAULT_CATEGORIES = ("政务咨询", "民生求助", "矛盾纠纷", "环境卫生", "治安隐患", "其他")
DEFAULT_SERVICE_LEVEL_S = 15.0  # GB/T 33358: answered within 15 s
DEFAULT_UTC_OFFSET_H = 8.0  # China Standard Time
DEFAULT_WRAP_UP_S = 30.0  # as the queue's wrap_up_s
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 40


@dataclass(frozen=True)
class TownConfig:
    id: str
    request_prefix: str
    service_level_s: float
    utc_offset_h: float
    wrap_up_s: float = DEFAULT_WRAP_UP_S

    @property
    def offset(self) -> timedelta:
        return timedelta(hours=self.utc_offset_h)

    def local(self, at_ms: int) -> datetime:
        """The town's wall-clock time at ``at_ms`` (a naive datetime)."""
        return datetime.fromtimestamp(at_ms / 1000, UTC).replace(tzinfo=None) + self.offset

    def day(self, at_ms: int) -> str:
        return self.local(at_ms).strftime("%Y-%m-%d")

    def day_start_ms(self, day: str) -> int:
        """The instant the town's local ``day`` (YYYY-MM-DD) begins."""
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC) - self.offset
        return int(start.timestamp() * 1000)


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


class TownConfigs:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def get(self, town_id: str) -> TownConfig:
        name, prefix, sl, offset, wrap = await self.redis.hmget(
            keys.town(town_id),
            ["name", "request_prefix", "service_level_s", "utc_offset_h", "wrap_up_s"],
        )
        if name is None:
            raise NotFound(f"no town {town_id!r}", code="town_not_found")
        return TownConfig(
            id=town_id,
            request_prefix=prefix or town_id.upper(),
            service_level_s=_float(sl, DEFAULT_SERVICE_LEVEL_S),
            utc_offset_h=_float(offset, DEFAULT_UTC_OFFSET_H),
            wrap_up_s=_float(wrap, DEFAULT_WRAP_UP_S),
        )

    async def town_ids(self) -> list[str]:
        return sorted(await self.redis.smembers(keys.TOWNS))

    async def categories(self, town_id: str) -> list[str]:
        raw = await self.redis.get(keys.town_categories(town_id))
        return list(json.loads(raw)) if raw else list(DEFAULT_CATEGORIES)

    async def set_categories(self, town_id: str, categories: list[str]) -> list[str]:
        await self.get(town_id)  # the town must exist
        cleaned: list[str] = []
        for category in categories:
            text = category.strip()
            if not text or len(text) > MAX_CATEGORY_CHARS:
                raise BadRequest(
                    f"a category must have 1-{MAX_CATEGORY_CHARS} characters; got {category!r}",
                    code="bad_category",
                )
            if text not in cleaned:
                cleaned.append(text)
        if not 1 <= len(cleaned) <= MAX_CATEGORIES:
            raise BadRequest(
                f"a town needs 1-{MAX_CATEGORIES} categories; got {len(cleaned)}",
                code="bad_category",
            )
        await self.redis.set(keys.town_categories(town_id), json.dumps(cleaned, ensure_ascii=False))
        return cleaned
