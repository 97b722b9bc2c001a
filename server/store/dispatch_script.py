"""The town's dispatch as one Lua script: who rings for which call, decided and
written in one atomic step, with each changed operator told what to show.

One step needs no lock: two hubs asking at once run two whole passes one after the
other, each seeing all that came before it, so no request is lost. The script reads
the town's operators, their presence, leases and live calls, and the head of the
queue (its own and the calls overflowing into it); writes each changed ring (the
presence, the ring timer, the call's ``offered`` event); and delivers to each
changed operator a ``sync`` that carries what their consoles need — the presence,
the call now ringing with its place, and how the one that stopped ended — so no
console reads Redis again to show it.

Its keys are built inside the script (the operators are only known there), by the
builders of ``lua_keys``, made from ``keys`` itself so the names live in one place.
"""

from __future__ import annotations

from server.store.lua_keys import KEY_BUILDERS

# ARGV: town_id, now_ms, strategy, ring_timeout_s, check ('1': first make sure someone
#       is logged in here or down the agreed overflow chain), announce ('1': tell the
#       town's channel its queue changed)
# -> 'nobody' (check failed; nothing done) | the head call id | ''
DISPATCH = (
    KEY_BUILDERS
    + """
local town, now = ARGV[1], tonumber(ARGV[2])
local strategy, ring_ms = ARGV[3], math.floor(tonumber(ARGV[4]) * 1000)

local function deliver(channel, msg)
  local inbox = k_inbox(channel)
  local newest = redis.call('XREVRANGE', inbox, '+', '-', 'COUNT', 1)
  local prev = newest[1] and newest[1][1] or '0-0'
  local id = redis.call('XADD', inbox, 'MAXLEN', '~', INBOX_MAXLEN, '*', 'm', msg)
  redis.call('EXPIRE', inbox, INBOX_TTL)
  redis.call('PUBLISH', channel, '{"id":"' .. id .. '","prev":"' .. prev .. '","m":' .. msg .. '}')
end

local function as_table(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function alive(u)
  return redis.call('ZCOUNT', k_op_conns(u), now, '+inf') > 0
end

local function anyone_here(t, seen)
  for _, u in ipairs(redis.call('SMEMBERS', k_town_ops(t))) do
    if alive(u) then return true end
  end
  seen[t] = true
  local nxt = redis.call('HGET', k_town(t), 'overflow_to')
  if nxt and nxt ~= '' and not seen[nxt] then
    local agreed = redis.call('HGET', k_town(nxt), 'accept_overflow_from') or ''
    if string.find(',' .. agreed .. ',', ',' .. t .. ',', 1, true) then
      return anyone_here(nxt, seen)
    end
  end
  return false
end

if ARGV[5] == '1' and not anyone_here(town, {}) then return 'nobody' end

-- the head: the longest-waiting queued call of the town's queue and its guests
local head = nil
while true do
  local own = redis.call('ZRANGE', k_queue(town), 0, 0, 'WITHSCORES')
  local guest = redis.call('ZRANGE', k_overflow(town), 0, 0, 'WITHSCORES')
  local id = nil
  if own[1] and (not guest[1] or tonumber(own[2]) <= tonumber(guest[2])) then id = own[1]
  elseif guest[1] then id = guest[1] end
  if not id then break end
  if redis.call('HGET', k_call(id), 'status') == 'queued' then head = id break end
  -- a stale entry (a script missed it): drop it so it cannot block the queue
  redis.call('ZREM', k_queue(town), id)
  redis.call('ZREM', k_overflow(town), id)
end

local ops = redis.call('SMEMBERS', k_town_ops(town))
table.sort(ops)
local people, free = {}, {}
for _, u in ipairs(ops) do
  local p = as_table(redis.call('HGETALL', k_presence(u)))
  p.alive = alive(u)
  p.live_call = redis.call('GET', k_op_live(u)) or ''
  people[u] = p
  if p.alive and p.availability == 'available' and p.live_call == ''
      and tonumber(p.wrap_until or 0) <= now then
    free[#free + 1] = u
  end
end

local targets = {}
if head and #free > 0 then
  if strategy == 'ringall' then
    for _, u in ipairs(free) do targets[u] = true end
  else  -- longest_idle: the one ringing keeps it; else the longest free not yet declined
    local pick = nil
    for _, u in ipairs(free) do if people[u].ringing == head then pick = u end end
    if not pick then
      local fresh = {}
      for _, u in ipairs(free) do
        if redis.call('SISMEMBER', k_declined(head), u) == 0 then fresh[#fresh + 1] = u end
      end
      if #fresh == 0 then redis.call('DEL', k_declined(head)) fresh = free end
      for _, u in ipairs(fresh) do
        local idle = tonumber(people[u].idle_since or 0)
        local best = pick and tonumber(people[pick].idle_since or 0)
        if not pick or idle < best or (idle == best and u < pick) then pick = u end
      end
    end
    targets[pick] = true
  end
end

local head_view, head_position = nil, nil
for _, u in ipairs(ops) do
  local p = people[u]
  local old, want = p.ringing or '', (targets[u] and head) or ''
  if old ~= want then
    redis.call('HSET', k_presence(u), 'ringing', want, 'ring_since', want ~= '' and now or 0)
    local stopped = cjson.null
    if old ~= '' then
      redis.call('ZREM', TIMERS, 'ring|' .. town .. '|' .. old .. '|' .. u)
      local s = redis.call('HMGET', k_call(old), 'status', 'operator')
      stopped = {call_id = old, status = s[1] or '', operator = s[2] or ''}
    end
    local ring = cjson.null
    if want ~= '' then
      if redis.call('SADD', k_offered(want), u) == 1 then
        redis.call('XADD', k_events(want), '*', 'type', 'offered', 'at', now, 'operator', u)
      end
      redis.call('ZADD', TIMERS, now + ring_ms, 'ring|' .. town .. '|' .. want .. '|' .. u)
      if not head_view then
        head_view = as_table(redis.call('HGETALL', k_call(want)))
        local rank = redis.call('ZRANK', k_queue(head_view.town_id), want)
        head_position = rank and rank + 1 or cjson.null
      end
      ring = {call = head_view, position = head_position}
    end
    p.ringing, p.ring_since = want, tostring(want ~= '' and now or 0)
    deliver(ch_operator(u), cjson.encode({kind = 'sync', presence = p, ring = ring,
                                          stopped = stopped}))
  end
end
if ARGV[6] == '1' then deliver(ch_town(town), '{"kind":"queue_changed"}') end
return head or ''
"""
)
