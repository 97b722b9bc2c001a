"""A town's request categories: a JSON list of their own (``keys.town_categories``),
edited by supervisors; absent, the defaults. The town's other settings are in
``server.accounts.towns``.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from server.errors import BadRequest, NotFound
from server.store import keys

DEFAULT_CATEGORIES = ("政务咨询", "民生求助", "矛盾纠纷", "环境卫生", "治安隐患", "其他")
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 40


class Categories:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def of(self, town_id: str) -> list[str]:
        raw = await self.redis.get(keys.town_categories(town_id))
        return list(json.loads(raw)) if raw else list(DEFAULT_CATEGORIES)

    async def set(self, town_id: str, categories: list[str]) -> list[str]:
        if not await self.redis.exists(keys.town(town_id)):
            raise NotFound(f"no town {town_id!r}", code="town_not_found")
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
