"""The town's dispatch as one Lua script: who rings for which call, decided and
written in one atomic step, with each changed operator told what to show.

One step needs no lock: two hubs asking at once run two whole passes one after the
other, each seeing all that came before it, so no request is lost. The script reads
the town's operators, their presence, leases and live calls, and the first waiting
calls (its own and the calls overflowing into it); writes each changed ring (the
presence, the ring timer, the call's ``offered`` event); and delivers to each
changed operator a ``sync`` that carries what their consoles need — the presence,
the call now ringing with its place, and how the one that stopped ended — so no
console reads Redis again to show it. What the town's operators are told goes out
as one message on the town's operators' channel (``deliver_all``), each part still
in its operator's channel's inbox for a hub that missed it.

Its keys are built inside the script (the operators are only known there), by the
builders of ``lua_keys``, made from ``keys`` itself so the names live in one place.
"""

from __future__ import annotations

from server.store.lua_keys import LUA_PARTS

# ARGV: town_id, now_ms, strategy, ring_timeout_s, check ('1': first make sure someone
#       is logged in here or down the agreed overflow chain), announce ('1': tell the
#       town's channel its queue changed, as it does anyway when a stale entry left it:
#       the waiting kiosks' places may have improved), tell (JSON [[channel, message JSON], ...]:
#       delivered first), sync (operators, comma-separated, told their presence after)
# -> 'nobody' (check failed; nothing done) | the head call id | ''
# As a function, DISPATCH_FN, for the press script (server.store.press_script) too.
DISPATCH_FN = """
local function dispatch(ARGV)
local town, now = ARGV[1], tonumber(ARGV[2])
local strategy, ring_ms = ARGV[3], math.floor(tonumber(ARGV[4]) * 1000)

-- first what the caller asked to tell (the step that led here: the kiosk told its
-- call was answered or ended), so it arrives before the rings it changes
for _, told in ipairs(cjson.decode(ARGV[7] or '[]')) do deliver(told[1], told[2]) end

local function anyone_here(t, seen)
  for _, u in ipairs(redis.call('SMEMBERS', k_town_ops(t))) do
    if alive(u, now) then return true end
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

-- the waiting calls, longest waiting first: the town's queue and the calls that
-- overflow into it, by first enqueue time; up to ``limit`` of them
local dropped = false  -- a stale entry left the queue: the places behind it moved
local function waiting(limit)
  while true do
    local both = {}
    for _, zset in ipairs({k_queue(town), k_overflow(town)}) do
      local flat = redis.call('ZRANGE', zset, 0, limit - 1, 'WITHSCORES')
      for i = 1, #flat, 2 do both[#both + 1] = {flat[i], tonumber(flat[i + 1])} end
    end
    table.sort(both, function(a, b)
      if a[2] ~= b[2] then return a[2] < b[2] end
      return a[1] < b[1]
    end)
    local out, stale = {}, false
    for _, entry in ipairs(both) do
      if #out >= limit then break end
      if redis.call('HGET', k_call(entry[1]), 'status') == 'queued' then
        out[#out + 1] = entry[1]
      else  -- a stale entry (a script missed it): drop it so it cannot block the queue
        redis.call('ZREM', k_queue(town), entry[1])
        redis.call('ZREM', k_overflow(town), entry[1])
        stale, dropped = true, true
      end
    end
    if not stale or #out >= limit then return out end
  end
end

local ops = redis.call('SMEMBERS', k_town_ops(town))
table.sort(ops)
local people, free = {}, {}
for _, u in ipairs(ops) do
  local p = presence_of(u, now)
  people[u] = p
  if p.alive and p.availability == 'available' and p.live_call == ''
      and tonumber(p.wrap_until or 0) <= now then
    free[#free + 1] = u
  end
end
-- longest free first (then by name): they get the calls that waited longest
table.sort(free, function(a, b)
  local ia, ib = tonumber(people[a].idle_since or 0), tonumber(people[b].idle_since or 0)
  if ia ~= ib then return ia < ib end
  return a < b
end)

-- Autofill: the first m = min(free, waiting) calls ring at once, so free operators
-- answer several waiting calls in parallel. ringall: the free operators are shared
-- out over those calls (all of them on the head when one call waits), earlier calls
-- first; longest_idle: one operator per call, who has not let it ring out yet.
local calls = waiting(math.max(1, #free))
local head = calls[1]
local targets = {}  -- username -> the call ringing for them
local m = math.min(#calls, #free)
if m > 0 then
  local quota = {}
  for i = 1, m do
    if strategy == 'ringall' then
      quota[calls[i]] = math.floor(#free / m) + ((i <= #free % m) and 1 or 0)
    else
      quota[calls[i]] = 1
    end
  end
  local rest = {}
  for _, u in ipairs(free) do  -- whoever rings for one of them keeps it while it has room
    local c = people[u].ringing or ''
    if quota[c] and quota[c] > 0 then
      targets[u], quota[c] = c, quota[c] - 1
    else
      rest[#rest + 1] = u
    end
  end
  for i = 1, m do
    local c = calls[i]
    while quota[c] > 0 and #rest > 0 do
      local pick = 1
      if strategy ~= 'ringall' then
        pick = nil
        for j, u in ipairs(rest) do
          if redis.call('SISMEMBER', k_declined(c), u) == 0 then pick = j break end
        end
        if not pick then redis.call('DEL', k_declined(c)) pick = 1 end  -- all let it ring out
      end
      targets[rest[pick]], quota[c] = c, quota[c] - 1
      table.remove(rest, pick)
    end
  end
end

local views = {}  -- call id -> its view and place at home, as JSON (made once)
local told = {}  -- what the town's operators' channels are told, in one publication
local synced = {}
local function sync(u, p, ring, stopped)
  told[#told + 1] = {ch_operator(u), '{"kind":"sync","presence":' .. cjson.encode(p)
    .. ',"ring":' .. (ring or 'null') .. ',"stopped":' .. cjson.encode(stopped) .. '}'}
  synced[u] = true
end
for _, u in ipairs(ops) do
  local p = people[u]
  local old, want = p.ringing or '', targets[u] or ''
  if old ~= want then
    redis.call('HSET', k_presence(u), 'ringing', want, 'ring_since', want ~= '' and now or 0)
    local stopped = cjson.null
    if old ~= '' then
      redis.call('ZREM', TIMERS, 'ring|' .. town .. '|' .. old .. '|' .. u)
      local s = redis.call('HMGET', k_call(old), 'status', 'operator')
      stopped = {call_id = old, status = s[1] or '', operator = s[2] or ''}
    end
    if want ~= '' then
      if redis.call('SADD', k_offered(want), u) == 1 then
        redis.call('XADD', k_events(want), '*', 'type', 'offered', 'at', now, 'operator', u)
      end
      redis.call('ZADD', TIMERS, now + ring_ms, 'ring|' .. town .. '|' .. want .. '|' .. u)
      if not views[want] then
        local view = as_table(redis.call('HGETALL', k_call(want)))
        local rank = redis.call('ZRANK', k_queue(view.town_id), want)
        views[want] = cjson.encode({call = view, position = rank and rank + 1 or cjson.null})
      end
    end
    p.ringing, p.ring_since = want, tostring(want ~= '' and now or 0)
    sync(u, p, views[want], stopped)
  end
end
-- then the operators the caller changed (their presence, unless a ring change above
-- told it already); one of another town (an overflow's) on their own channel
for u in string.gmatch(ARGV[8] or '', '[^,]+') do
  if people[u] and not synced[u] then
    sync(u, presence_of(u, now), nil, cjson.null)
  elseif not people[u] then
    deliver(ch_operator(u), cjson.encode({kind = 'sync', presence = presence_of(u, now)}))
  end
end
deliver_all(ch_town_ops(town), told)
if ARGV[6] == '1' or dropped then deliver(ch_town(town), '{"kind":"queue_changed"}') end
return head or ''
end
"""
DISPATCH = LUA_PARTS + DISPATCH_FN + "return dispatch(ARGV)\n"
