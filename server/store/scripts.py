"""Lua scripts for every multi-key change of a call, so each is one atomic step.

Events go to the call's stream inside the same script as the change they record, so
the log can never disagree with the record.
"""

from __future__ import annotations

from server.store.lua_keys import KEY_BUILDERS as LUA_KEYS
from server.store.lua_keys import LUA_PARTS

# KEYS: idem, kiosk_live, call, events, queue, calls, town_calls, kiosk_calls,
#       live_calls, active_towns, operator_live, timers, kiosk_calls_made
# ARGV: call_id, now_ms, kiosk_id, town_id, kiosk_name, village, idem_ttl_s, kind,
#       operator (a callback reserves the call for the operator who made it, who is
#       then busy; a press leaves it empty and queues the call),
#       maxwait_due_ms, overflow_town, overflow_due_ms ('' for none),
#       calls_per_min (the press limit; '' for none), callback_due_ms ('' for none)
# KEYS also: town_answers (for the estimated wait)
# -> {call_id, "new"|"existing", call hash (flat), place in the queue or false,
#     recent answer times} | {call_id, "busy"} | {"", "limited", seconds_left}
# What a press needs to answer the kiosk comes back in the same step. As a function,
# CREATE_FN, for the press script (server.store.press_script) too.
CREATE_FN = """
local function create_call(KEYS, ARGV)
local function told(id, outcome)
  local rank = redis.call('ZRANK', KEYS[5], id)
  return {id, outcome, redis.call('HGETALL', k_call(id)), rank and rank + 1 or false,
          redis.call('LRANGE', KEYS[14], 0, 9)}
end
local existing = redis.call('GET', KEYS[1])
if existing then return told(existing, 'existing') end
local live = redis.call('GET', KEYS[2])
if live then
  redis.call('SET', KEYS[1], live, 'EX', ARGV[7])
  return told(live, 'existing')
end
local id, now, operator = ARGV[1], ARGV[2], ARGV[9]
if operator ~= '' and redis.call('GET', KEYS[11]) then
  return {redis.call('GET', KEYS[11]), 'busy'}
end
-- the press limit: a kiosk places at most ARGV[13] calls a minute
if operator == '' and ARGV[13] ~= '' then
  local made = redis.call('INCR', KEYS[13])
  if made == 1 then redis.call('EXPIRE', KEYS[13], 60) end
  if made > tonumber(ARGV[13]) then return {'', 'limited', redis.call('TTL', KEYS[13])} end
end
redis.call('HSET', KEYS[3], 'id', id, 'kiosk_id', ARGV[3], 'town_id', ARGV[4],
  'kiosk_name', ARGV[5], 'village', ARGV[6], 'status', 'queued', 'created_at', now,
  'queued_at', now, 'kind', ARGV[8], 'operator', operator)
redis.call('XADD', KEYS[4], '*', 'type', 'created', 'at', now, 'kind', ARGV[8],
  'by', operator)
if operator == '' then
  redis.call('XADD', KEYS[4], '*', 'type', 'queued', 'at', now)
  -- Behind every call already waiting, whatever clock 'now' came from: a press that
  -- reached Redis later must not slip ahead of a kiosk already told its place.
  local score = tonumber(now)
  local tail = redis.call('ZRANGE', KEYS[5], -1, -1, 'WITHSCORES')
  if tail[2] and tonumber(tail[2]) >= score then score = tonumber(tail[2]) + 0.001 end
  redis.call('ZADD', KEYS[5], score, id)
else
  redis.call('SET', KEYS[11], id)
  redis.call('XADD', KEYS[4], '*', 'type', 'callback_ringing', 'at', now)
end
redis.call('ZADD', KEYS[6], 0, id)
redis.call('ZADD', KEYS[7], 0, id)
redis.call('ZADD', KEYS[8], 0, id)
redis.call('ZADD', KEYS[9], now, id)
redis.call('SADD', KEYS[10], ARGV[4])
redis.call('SET', KEYS[2], id)
redis.call('SET', KEYS[1], id, 'EX', ARGV[7])
-- its deadlines in the same step: a hub that dies right after leaves none missing
if ARGV[10] ~= '' then redis.call('ZADD', KEYS[12], ARGV[10], 'maxwait|' .. id) end
if ARGV[11] ~= '' then
  redis.call('ZADD', KEYS[12], ARGV[12], 'overflow|' .. id .. '|' .. ARGV[11])
end
if ARGV[14] ~= '' then redis.call('ZADD', KEYS[12], ARGV[14], 'callback|' .. id) end
return told(id, 'new')
end
"""
CREATE_CALL = LUA_KEYS + CREATE_FN + "return create_call(KEYS, ARGV)\n"

# Put a connected call back at the head of its town's queue (its operator vanished,
# or media never came up): never counted as completed.
# KEYS: call, queue, operator_live, events, timers
# ARGV: call_id, now_ms, reason, operator, maxwait_due_ms ('' for none)
# -> {"ok"} | {"skip", status} | {"stale"} | {"missing"}
REQUEUE_CALL = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'connected' then return {'skip', status} end
if (redis.call('HGET', KEYS[1], 'operator') or '') ~= ARGV[4] then return {'stale'} end
local id, now = ARGV[1], ARGV[2]
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local score = tonumber(redis.call('HGET', KEYS[1], 'created_at'))
if head[2] and tonumber(head[2]) <= score then score = tonumber(head[2]) - 1 end
redis.call('ZADD', KEYS[2], score, id)
redis.call('HSET', KEYS[1], 'status', 'queued', 'operator', '', 'operator_conn', '',
  'answered_at', '')
if redis.call('GET', KEYS[3]) == id then redis.call('DEL', KEYS[3]) end
redis.call('ZREM', KEYS[5], 'grace_op|' .. id, 'media|' .. id, 'assign|' .. id)
-- the claim cleared its max-wait deadline: a fresh one runs from now
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[5], ARGV[5], 'maxwait|' .. id) end
redis.call('XADD', KEYS[4], '*', 'type', 'requeued', 'at', now, 'reason', ARGV[3],
  'operator', ARGV[4])
return {'ok'}
"""

# KEYS: offered set, events    ARGV: operator, now_ms
# Logs the first time a call rings an operator, however many tabs or hubs ring it.
MARK_OFFERED = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'type', 'offered', 'at', ARGV[2], 'operator', ARGV[1])
  return 1
end
return 0
"""

# The queue's deadlines (server.queue.timers). KEYS: timers; ARGV: now_ms, lease score, batch.
# Due timers are not removed but pushed to the lease score (a whole millisecond plus a
# quarter, which no deadline has), so exactly one hub takes each, and one that dies
# while running it leaves it to run again once the lease is over.
CLAIM_TIMERS = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, name in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], name) end
return due
"""

# KEYS: timers; ARGV: name, lease score. Done: remove it, unless it was set again
# (the handler moved it to a new deadline) meanwhile.
TIMER_DONE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


# ARGV: channel, message JSON -> the new entry's id (``DELIVER_FN``). The message is
# built by hand, not with cjson, which would turn an empty list into an object.
DELIVER = LUA_PARTS + "return deliver(ARGV[1], ARGV[2])"

# What a hub missed (server.store.bus): ARGV[1] lines "channel last_id" (one text, not
# thousands of arguments: cheap to pack for every channel a hub follows)
# -> {channel, its inbox's entries after last_id ({id, {field, value}}), ...}, only
#    the channels that have any
MISSED = (
    LUA_KEYS
    + """
local out = {}
for ch, last in string.gmatch(ARGV[1], '(%S+) (%S+)') do
  local found = redis.call('XRANGE', k_inbox(ch), '(' .. last, '+')
  if #found > 0 then
    out[#out + 1] = ch
    out[#out + 1] = found
  end
end
return out
"""
)

# ARGV: username, now_ms: the operator's consoles are told their presence as it is.
SYNC_OPERATOR = (
    LUA_PARTS
    + """
local u = ARGV[1]
return deliver(ch_operator(u), cjson.encode({kind = 'sync', presence = presence_of(u, ARGV[2])}))
"""
)


# KEYS: town queue, town answers, town; ARGV: max_wait_s default, kiosk ids...
# -> {recent answer times, max_wait_s, call id or '' per kiosk, place or 0 per kiosk}:
# the places of one hub's waiting kiosks, in one step however many they are.
PLACES = (
    LUA_KEYS
    + """
local ids, places = {}, {}
for i = 2, #ARGV do
  local call = redis.call('GET', k_kiosk_live(ARGV[i])) or ''
  local rank = call ~= '' and redis.call('ZRANK', KEYS[1], call) or false
  ids[#ids + 1] = call
  places[#places + 1] = rank and rank + 1 or 0
end
local max_wait = redis.call('HGET', KEYS[3], 'max_wait_s') or ARGV[1]
return {redis.call('LRANGE', KEYS[2], 0, 9), max_wait, ids, places}
"""
)


# KEYS: a lock; ARGV: the holder's token. Releases the lock only if it is still ours
# (it may have expired and been taken by another hub meanwhile).
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
