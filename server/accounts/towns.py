"""A town's settings: what its administrator sets with ``yijian admin town set``, read
by the queue, request tracking and the numbers alike.

Stored beside the town's name in its hash (``keys.town``), as strings; read through
``TownSettings`` so every value is checked once. ``docs/queue.md`` explains the queue's,
``docs/requests.md`` the request number prefix, the service level and the local time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.errors import BadRequest, Forbidden, NotFound
from server.store import keys

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class TownSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # The town's id, filled in by ``Towns.settings``; not a setting.
    id: str = Field(default="", exclude=True)

    ring_timeout_s: float = Field(default=20, gt=0, le=600)
    max_wait_s: float = Field(default=120, gt=0, le=3600)
    wrap_up_s: float = Field(default=30, ge=0, le=3600)
    grace_s: float = Field(default=20, ge=0, le=600)
    media_grace_s: float = Field(default=30, gt=0, le=600)
    max_missed_rings: int = Field(default=2, ge=1, le=100)
    strategy: Literal["ringall", "longest_idle"] = "ringall"
    overflow_to: str = ""
    overflow_after_s: float = Field(default=60, gt=0, le=3600)
    # Towns whose calls may overflow here (comma-separated ids): this town's consent,
    # given by its supervisor or an admin. Another town's overflow_to needs it.
    accept_overflow_from: str = ""
    # New calls a kiosk may place in a minute; past that a press is refused.
    kiosk_calls_per_min: int = Field(default=6, ge=1, le=1000)
    # Working hours as "HH:MM-HH:MM" (may wrap past midnight), in utc_offset_h's time;
    # empty means always open.
    hours: str = ""
    utc_offset_h: float = Field(default=8, ge=-12, le=14)  # China Standard Time
    auto_answer_s: float = Field(default=10, ge=0, le=120)
    service_level_s: float = Field(default=15, gt=0, le=600)
    # Request numbers start with it; empty: the town id upper-cased (docs/requests.md).
    request_prefix: str = Field(default="", max_length=16, pattern=r"^[A-Za-z0-9_-]*$")
    # A kiosk silent this long (no heartbeat, no message, no connection) raises an
    # offline alert on the town's fleet view (docs/kiosk.md).
    offline_alert_s: float = Field(default=600, ge=1, le=7 * 86400)

    @field_validator("overflow_to")
    @classmethod
    def _town_id(cls, value: str) -> str:
        if value and not re.match(r"^[A-Za-z0-9_-]{1,64}$", value):
            raise ValueError(f"expected a town id, found {value!r}")
        return value

    @field_validator("accept_overflow_from")
    @classmethod
    def _town_ids(cls, value: str) -> str:
        ids = [t.strip() for t in value.split(",") if t.strip()]
        for town_id in ids:
            if not re.match(r"^[A-Za-z0-9_-]{1,64}$", town_id):
                raise ValueError(f"expected town ids separated by commas, found {town_id!r}")
        return ",".join(ids)

    def accepts_overflow_from(self, town_id: str) -> bool:
        return town_id in self.accept_overflow_from.split(",")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _HOURS.match(value) if value else None
        if value and not (
            match and int(match[1]) < 24 and int(match[3]) < 24
            and int(match[2]) < 60 and int(match[4]) < 60
        ):  # fmt: skip
            raise ValueError(f"expected HH:MM-HH:MM, found {value!r}")
        return value

    def open_at(self, at_ms: int) -> bool:
        """Whether ``at_ms`` falls in the working hours."""
        if not self.hours:
            return True
        match = _HOURS.match(self.hours)
        assert match is not None
        start = int(match[1]) * 60 + int(match[2])
        end = int(match[3]) * 60 + int(match[4])
        minute = int((at_ms / 60_000 + self.utc_offset_h * 60) % (24 * 60))
        return start <= minute < end if start <= end else minute >= start or minute < end

    @property
    def number_prefix(self) -> str:
        """What the town's request numbers start with."""
        return self.request_prefix or self.id.upper()

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


SETTING_NAMES = tuple(name for name in TownSettings.model_fields if name != "id")


@dataclass(frozen=True)
class Known:
    """A town's settings as this hub last read them, and what a script checks to know
    they are still the town's (``server.store.press_script``): the hash's field names,
    sorted and comma-separated, and a sha1 of its names and values in that order."""

    settings: TownSettings
    names: str
    digest: str


def town_digest(data: dict[str, str]) -> tuple[str, str]:
    names = sorted(data)
    flat = "\0".join(part for name in names for part in (name, data[name]))
    return ",".join(names), hashlib.sha1(flat.encode()).hexdigest()


class Towns:
    """Reads and writes town settings. A missing value means the default."""

    def __init__(self, redis: aioredis.Redis, defaults: dict[str, Any] | None = None) -> None:
        self.redis = redis
        # Hub-wide defaults (e.g. YIJIAN_GRACE_S) under each town's own values.
        self.defaults = defaults or {}
        self._known: dict[str, Known] = {}  # checked by digest before each use

    async def settings(self, town_id: str) -> TownSettings:
        return self.parse(town_id, await self.redis.hgetall(keys.town(town_id)))

    async def known(self, town_id: str) -> Known:
        """The town's settings as last read here, for a script that checks them
        (``learn`` what it finds when they changed); read now if never read."""
        if town_id not in self._known:
            self.learn(town_id, await self.redis.hgetall(keys.town(town_id)))
        return self._known[town_id]

    def learn(self, town_id: str, data: dict[str, str]) -> Known:
        """Keep the town's settings as read (raises if they are not valid)."""
        settings = self.parse(town_id, data)
        known = self._known[town_id] = Known(settings, *town_digest(data))
        return known

    def parse(self, town_id: str, data: dict[str, str]) -> TownSettings:
        """The settings from the town's hash as read (by a script that read it too)."""
        if not data:
            raise NotFound(f"no town {town_id!r}", code="town_not_found")
        return TownSettings.model_validate({**self.defaults, **data, "id": town_id})

    async def town_ids(self) -> list[str]:
        return sorted(await self.redis.smembers(keys.TOWNS))

    def default(self, name: str) -> Any:
        """What a setting is where a town has not set it (for scripts that read one)."""
        return self.defaults.get(name, TownSettings.model_fields[name].default)

    async def set(
        self, town_id: str, name: str, value: str, *, admin: bool = False
    ) -> TownSettings:
        """Change one setting. ``overflow_to`` needs the other town's consent
        (``accept_overflow_from``); an admin (the CLI) gives it on that town's behalf."""
        if name not in SETTING_NAMES:
            raise BadRequest(
                f"unknown setting {name!r}; known: {', '.join(SETTING_NAMES)}", code="bad_setting"
            )
        current = await self.redis.hgetall(keys.town(town_id))
        if not current:
            raise NotFound(f"no town {town_id!r}", code="town_not_found")
        if name == "overflow_to" and value:
            if value == town_id:
                raise BadRequest("a town cannot overflow to itself", code="bad_setting")
            await self._consent(town_id, value, admin)
        try:
            settings = TownSettings.model_validate(
                {**self.defaults, **current, name: value, "id": town_id}
            )
        except ValidationError as exc:
            detail = "; ".join(e["msg"] for e in exc.errors())
            raise BadRequest(f"bad value for {name}: {detail}", code="bad_setting") from None
        await self.redis.hset(keys.town(town_id), name, value)
        return settings

    async def _consent(self, town_id: str, target: str, admin: bool) -> None:
        """Whether ``target`` takes ``town_id``'s overflow; an admin records its consent.
        To anyone else an unknown town and one that did not agree look the same."""
        accepted = await self.redis.hget(keys.town(target), "accept_overflow_from")
        if accepted is not None and town_id in accepted.split(","):
            return
        if not admin:
            raise Forbidden(
                f"town {target!r} has not agreed to take {town_id!r}'s calls: its supervisor "
                f"adds {town_id!r} to its accept_overflow_from first", code="overflow_not_agreed",
            )  # fmt: skip
        if not await self.redis.exists(keys.town(target)):
            raise NotFound(f"no town {target!r} to overflow to", code="town_not_found")
        joined = ",".join(t for t in [*(accepted or "").split(","), town_id] if t)
        await self.redis.hset(keys.town(target), "accept_overflow_from", joined)
