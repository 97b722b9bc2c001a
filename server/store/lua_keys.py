"""What Lua scripts share: key names for scripts that can only know a key inside the
script (an operator found in a set, the call a kiosk already has), as Lua functions
built from the builders in ``keys``, so each name is written in one place; and the
two steps several scripts take (``DELIVER_FN``: a message to a channel, repairable;
``PRESENCE_FN``: an operator's presence as a console's ``sync`` carries it)."""

from __future__ import annotations

from server.store import keys


def lua_builder(builder: object, *args: str) -> str:
    """A Lua expression for ``builder(*args)``, args being Lua expressions (variable
    names, or quoted literals)."""
    marks = [f"\x00{i}\x00" for i in range(len(args))]
    text = builder(*marks)  # type: ignore[operator]
    expr = "'" + text + "'"
    for mark, arg in zip(marks, args, strict=True):
        expr = expr.replace(mark, f"' .. {arg} .. '")
    return expr.replace(" .. ''", "").replace("'' .. ", "")


def _by_operator(username: str) -> str:
    return keys.call_index("operator", username)


def _by_status(town_id: str, status: str) -> str:
    return keys.call_index("status", town_id, status)


KEY_BUILDERS = f"""
local function k_town(t) return {lua_builder(keys.town, "t")} end
local function k_answers(t) return {lua_builder(keys.town_answers, "t")} end
local function k_operator(u) return {lua_builder(keys.operator, "u")} end
local function k_cx_operator(u) return {lua_builder(_by_operator, "u")} end
local function k_cx_status(t, s) return {lua_builder(_by_status, "t", "s")} end
local function ch_kiosk(k) return {lua_builder(keys.kiosk_channel, "k")} end
local function k_queue(t) return {lua_builder(keys.town_queue, "t")} end
local function k_overflow(t) return {lua_builder(keys.town_overflow, "t")} end
local function k_town_ops(t) return {lua_builder(keys.town_operators, "t")} end
local function k_presence(u) return {lua_builder(keys.presence, "u")} end
local function k_op_conns(u) return {lua_builder(keys.operator_conns, "u")} end
local function k_op_live(u) return {lua_builder(keys.operator_live, "u")} end
local function k_kiosk_live(k) return {lua_builder(keys.kiosk_live, "k")} end
local function k_call(c) return {lua_builder(keys.call, "c")} end
local function k_events(c) return {lua_builder(keys.call_events, "c")} end
local function k_offered(c) return {lua_builder(keys.call_offered, "c")} end
local function k_declined(c) return {lua_builder(keys.call_declined, "c")} end
local function k_inbox(ch) return {lua_builder(keys.inbox, "ch")} end
local function ch_operator(u) return {lua_builder(keys.operator_channel, "u")} end
local function ch_town(t) return {lua_builder(keys.town_channel, "t")} end
local function ch_town_ops(t) return {lua_builder(keys.town_operators_channel, "t")} end
local TIMERS, LIVE_CALLS, LEASES = '{keys.TIMERS}', '{keys.LIVE_CALLS}', '{keys.LEASES}'
local INBOX_MAXLEN, INBOX_TTL = {keys.INBOX_MAXLEN}, {keys.INBOX_TTL_S}
"""

# Append to the channel's inbox, then publish {"id", "prev", "m"}: ``prev`` lets a
# receiver see that it missed one (server.store.bus). ``msg`` is JSON text.
# ``deliver_all`` publishes several channels' messages as one {"batch": [{"ch", "id",
# "prev", "m"}, ...]} on ``fan`` (a channel every hub following them listens to),
# each still appended to its own channel's inbox: one publication, one read, for
# what a dispatch tells the town's operators.
DELIVER_FN = """
local function stamp(channel, msg)
  local inbox = k_inbox(channel)
  local newest = redis.call('XREVRANGE', inbox, '+', '-', 'COUNT', 1)
  local prev = newest[1] and newest[1][1] or '0-0'
  local id = redis.call('XADD', inbox, 'MAXLEN', '~', INBOX_MAXLEN, '*', 'm', msg)
  redis.call('EXPIRE', inbox, INBOX_TTL)
  return id, '"id":"' .. id .. '","prev":"' .. prev .. '","m":' .. msg .. '}'
end

local function deliver(channel, msg)
  local id, tail = stamp(channel, msg)
  redis.call('PUBLISH', channel, '{' .. tail)
  return id
end

local function deliver_all(fan, batch)  -- batch: {{channel, msg}, ...}
  if #batch == 0 then return end
  local parts = {}
  for i, item in ipairs(batch) do
    local _, tail = stamp(item[1], item[2])
    parts[i] = '{"ch":' .. cjson.encode(item[1]) .. ',' .. tail
  end
  redis.call('PUBLISH', fan, '{"batch":[' .. table.concat(parts, ',') .. ']}')
end

local function as_table(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
"""

# An operator's shared presence (server.queue.presence) as one table: its hash, with
# ``alive`` (a console's lease runs) and ``live_call``.
PRESENCE_FN = """
local function alive(u, now)
  return redis.call('ZCOUNT', k_op_conns(u), now, '+inf') > 0
end

local function presence_of(u, now)
  local p = as_table(redis.call('HGETALL', k_presence(u)))
  p.alive = alive(u, now)
  p.live_call = redis.call('GET', k_op_live(u)) or ''
  return p
end
"""

LUA_PARTS = KEY_BUILDERS + DELIVER_FN + PRESENCE_FN
