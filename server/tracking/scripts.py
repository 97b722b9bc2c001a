"""The Lua scripts of request tracking and the numbers, and ``Recorder``, which turns
the stores' own write helpers into a script's arguments.

A request's writes are described once, by ``request_store.queue_create``; to open the
call's request in one step, the hub records them with placeholders ("marks") for what
only Redis knows at that moment (the number's sequence, the kiosk's position) and the
script replays them with the marks filled in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

# KEYS[1] the call's hash, KEYS[2] the town's request counter for the year
# (keys.request_counter), KEYS[3] the kiosk's hash (keys.kiosk).
# ARGV[1] the request number up to its sequence ("ST-2026-", as request_model.number),
# ARGV[2..4] the marks standing for the number, the kiosk's lat and long in the writes,
# then the writes: each its word count, then its words (Recorder.argv).
# Returns 1 having written the request, 0 when the call already had one.
CREATE_REQUEST = """
local known = redis.call('HGET', KEYS[1], 'request_id')
if known and known ~= '' then return 0 end
local seq = redis.call('INCR', KEYS[2])
local place = redis.call('HMGET', KEYS[3], 'lat', 'long')
local fill = {
  [ARGV[2]] = ARGV[1] .. string.format('%06d', seq),
  [ARGV[3]] = place[1] or '',
  [ARGV[4]] = place[2] or '',
}
local i = 5
while i <= #ARGV do
  local count, words = tonumber(ARGV[i]), {}
  for j = 1, count do
    local word = ARGV[i + j]
    for mark, value in pairs(fill) do
      word = string.gsub(word, mark, (string.gsub(value, '%%', '%%%%')))
    end
    words[j] = word
  end
  redis.call(unpack(words))
  i = i + count + 1
end
return 1
"""

# KEYS[1] the call's hash. ARGV[1] the day the call counts in, then (key, field, amount)
# triples for HINCRBY (stats.call_counts). Counts once: the day is kept in the call's
# ``counted``. Returns 1 having counted, 0 when the call had been counted already.
COUNT_CALL = """
local counted = redis.call('HGET', KEYS[1], 'counted')
if counted and counted ~= '' then return 0 end
for i = 2, #ARGV, 3 do
  redis.call('HINCRBY', ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
redis.call('HSET', KEYS[1], 'counted', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Marks:
    """Placeholders for CREATE_REQUEST to fill in: random, so no text holds them."""

    number: str
    lat: str
    long: str

    @classmethod
    def new(cls) -> Marks:
        return cls(*(f"@{secrets.token_hex(8)}@" for _ in range(3)))


class Writer(Protocol):
    """The write commands the stores' helpers queue: a pipeline's, or a Recorder's."""

    def hset(
        self, key: str, field: str | None = None, value: Any = None,
        mapping: dict[str, Any] | None = None,
    ) -> Any: ...  # fmt: skip
    def zadd(self, key: str, members: dict[str, float]) -> Any: ...
    def sadd(self, key: str, *members: str) -> Any: ...
    def rpush(self, key: str, *values: str) -> Any: ...
    def set(self, key: str, value: str) -> Any: ...
    def hincrby(self, key: str, field: str, amount: int = 1) -> Any: ...


class Recorder:
    """Takes the write commands a pipeline would, and keeps them for a script."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def _add(self, *words: Any) -> None:
        self.commands.append([str(word) for word in words])

    def hset(
        self, key: str, field: str | None = None, value: Any = None,
        mapping: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        pairs = {**(mapping or {}), **({field: value} if field is not None else {})}
        self._add("HSET", key, *(word for pair in pairs.items() for word in pair))

    def zadd(self, key: str, members: dict[str, float]) -> None:
        self._add("ZADD", key, *(word for m, score in members.items() for word in (score, m)))

    def sadd(self, key: str, *members: str) -> None:
        self._add("SADD", key, *members)

    def rpush(self, key: str, *values: str) -> None:
        self._add("RPUSH", key, *values)

    def set(self, key: str, value: str) -> None:
        self._add("SET", key, value)

    def hincrby(self, key: str, field: str, amount: int = 1) -> None:
        self._add("HINCRBY", key, field, amount)

    def argv(self) -> list[str]:
        return [word for command in self.commands for word in (str(len(command)), *command)]
