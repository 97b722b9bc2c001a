"""The answer and the end of a call, each one Lua script with everything that goes
with it, so a step costs one round trip and a hub that dies halfway leaves nothing
half done: the claim also indexes the call under its operator, notes the answer time
(the estimated wait) and starts the media deadline; the end also indexes the final
status and starts the operator's wrap-up. Both give back the town's settings hash
beside the call, so the caller reads nothing more to go on.

The keys are built inside (``lua_keys``): a call knows its town and its overflow
towns only once read.
"""

from __future__ import annotations

from server.store.lua_keys import LUA_PARTS

# ARGV: call_id, operator, now_ms, conn_id, the operator's town, answers kept,
#       media_grace_s default
# -> {"ok", call hash, town hash} | {"taken", status, operator} | {"busy", live call}
#    | {"missing"} (no such call, or not one of the operator's town or its guests)
CLAIM_CALL = (
    LUA_PARTS
    + """
local id, u, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local call = k_call(id)
local f = redis.call('HMGET', call, 'status', 'operator', 'town_id', 'overflow')
local status, reserved, town, overflow = f[1], f[2] or '', f[3], f[4] or ''
if not status then return {'missing'} end
if ARGV[5] ~= town and not string.find(',' .. overflow .. ',', ',' .. ARGV[5] .. ',', 1, true) then
  return {'missing'}
end
if status ~= 'queued' then return {'taken', status, reserved} end
if reserved ~= '' and reserved ~= u then return {'taken', 'connected', reserved} end
local busy = redis.call('GET', k_op_live(u))
if busy and busy ~= id then return {'busy', busy} end
redis.call('ZREM', k_queue(town), id)
for t in string.gmatch(overflow, '[^,]+') do redis.call('ZREM', k_overflow(t), id) end
redis.call('HSET', call, 'status', 'connected', 'operator', u, 'answered_at', now,
  'operator_conn', ARGV[4])
redis.call('SET', k_op_live(u), id)
redis.call('ZREM', TIMERS, 'maxwait|' .. id, 'grace_kiosk|' .. id, 'callback|' .. id)
redis.call('XADD', k_events(id), '*', 'type', 'answered', 'at', now, 'operator', u)
redis.call('ZADD', k_cx_operator(u), 0, id)
redis.call('LPUSH', k_answers(town), now)
redis.call('LTRIM', k_answers(town), 0, tonumber(ARGV[6]) - 1)
local settings = redis.call('HGETALL', k_town(town))
local grace = tonumber(as_table(settings).media_grace_s or '') or tonumber(ARGV[7])
redis.call('ZADD', TIMERS, now + math.floor(grace * 1000), 'assign|' .. id)
return {'ok', redis.call('HGETALL', call), settings}
"""
)

# ARGV: call_id, now_ms, reason, by, status_if_queued, status_if_connected, operator
#       (as the caller read it; '*': whoever it is), wrap_up_s default, final statuses
#       (comma-separated), kiosk (end it only if it is this kiosk's call; '' for any)
# An empty status_if_* leaves a call in that state alone ({"skip", status}). An
# answered call's operator starts their wrap-up (their own town's ``wrap_up_s``).
# -> {"ok", final_status, call hash, town hash} | {"already", status}
#    | {"skip", status} | {"missing"} | {"stale"} | {"not_yours"}
# As a function, END_FN, for the hang-up script that also dispatches
# (server.store.hangup_script).
END_FN = """
local function end_call(ARGV)
local id, now = ARGV[1], tonumber(ARGV[2])
local call = k_call(id)
local f = redis.call('HMGET', call, 'status', 'operator', 'town_id', 'overflow',
                     'kiosk_id', 'answered_at')
local status, operator, town, overflow = f[1], f[2] or '', f[3], f[4] or ''
if not status then return {'missing'} end
if (ARGV[10] or '') ~= '' and f[5] ~= ARGV[10] then return {'not_yours'} end
local final
if status == 'queued' then final = ARGV[5]
elseif status == 'connected' then final = ARGV[6]
else return {'already', status} end
if final == '' then return {'skip', status} end
if ARGV[7] ~= '*' and operator ~= ARGV[7] then return {'stale'} end
redis.call('HSET', call, 'status', final, 'ended_at', now, 'end_reason', ARGV[3])
redis.call('ZREM', k_queue(town), id)
for t in string.gmatch(overflow, '[^,]+') do redis.call('ZREM', k_overflow(t), id) end
if redis.call('GET', k_kiosk_live(f[5])) == id then redis.call('DEL', k_kiosk_live(f[5])) end
if operator ~= '' and redis.call('GET', k_op_live(operator)) == id then
  redis.call('DEL', k_op_live(operator))
end
redis.call('ZREM', TIMERS, 'grace_kiosk|' .. id, 'grace_op|' .. id, 'maxwait|' .. id,
  'media|' .. id, 'assign|' .. id, 'callback|' .. id)
redis.call('ZREM', LIVE_CALLS, id)
redis.call('XADD', k_events(id), '*', 'type', 'ended', 'at', now, 'status', final,
  'reason', ARGV[3], 'by', ARGV[4])
if string.find(',' .. ARGV[9] .. ',', ',' .. final .. ',', 1, true) then
  redis.call('ZADD', k_cx_status(town, final), 0, id)
end
if operator ~= '' and (f[6] or '') ~= '' then  -- the operator's wrap-up
  local home = redis.call('HGET', k_operator(operator), 'town') or town
  local wrap = tonumber(redis.call('HGET', k_town(home), 'wrap_up_s') or '') or tonumber(ARGV[8])
  if wrap > 0 then
    local untl = now + math.floor(wrap * 1000)
    redis.call('HSET', k_presence(operator), 'wrap_until', untl, 'idle_since', untl, 'missed', 0)
    redis.call('ZADD', TIMERS, untl, 'wrapup|' .. operator .. '|' .. home)
  else
    redis.call('HSET', k_presence(operator), 'wrap_until', 0, 'idle_since', now)
  end
end
return {'ok', final, redis.call('HGETALL', call), redis.call('HGETALL', k_town(town))}
end
"""
END_CALL = LUA_PARTS + END_FN + "return end_call(ARGV)\n"
