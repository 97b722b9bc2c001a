"""A hub's leases and its periodic work over its kiosk sockets, as scripts: the hub's
one lease covers all the kiosk sockets it holds, and what is done per socket (who
spoke, whose credentials to check) goes a batch per command, so ten thousand idle
kiosks cost the hub one renewal every couple of seconds, not one per kiosk."""

from __future__ import annotations

from server.store import keys
from server.store.lua_keys import KEY_BUILDERS, lua_builder

BATCH = 250  # kiosks per script call: a short step for Redis and for the hub

SPOKE_TTL_S = 60  # a kiosk's record of when its sockets spoke outlives what reads it

# A kiosk socket is held while its hub lives: its entry in the kiosk's own set is
# scored HELD (never lapsing by itself), and listed in the hub's set, which the hub's
# one lease covers. Renewing ten thousand kiosks is one command every couple of
# seconds, not ten thousand.
HELD = 2**52  # ms: far past any clock

_LEASE_KEYS = (
    KEY_BUILDERS
    + f"""
local function k_kiosk_conns(k) return {lua_builder(keys.kiosk_conns, "k")} end
local function k_kiosk_spoke(k) return {lua_builder(keys.kiosk_spoke, "k")} end
local function k_hub_kiosks(h) return {lua_builder(keys.hub_kiosks, "h")} end
local function k_hub_alive(h) return {lua_builder(keys.hub_alive, "h")} end
local function hub_lease(h) return {lua_builder(keys.lease, "'h'", "h")} end
"""
)

# ARGV: hub_id, now_ms, lease end (ms), alive mark's life (ms)
# -> 'ok' (renewed) | 'lapsed' (a reaper is removing its sockets: left alone, not
#    renewed under it) | 'gone' (reaped, or never held: the hub registers its sockets)
RENEW_HUB = (
    _LEASE_KEYS
    + """
local hub, now = ARGV[1], tonumber(ARGV[2])
redis.call('SET', k_hub_alive(hub), 1, 'PX', ARGV[4])
local score = redis.call('ZSCORE', LEASES, hub_lease(hub))
if score and tonumber(score) >= now then
  redis.call('ZADD', LEASES, ARGV[3], hub_lease(hub))
  return 'ok'
end
if score or redis.call('EXISTS', k_hub_kiosks(hub)) == 1 then return 'lapsed' end
return 'gone'
"""
)

# The sockets of a hub whose lease lapsed, a batch at a time: each leaves its kiosk's
# set; a kiosk left with no live socket whose call waits is returned, for its grace.
# ARGV: hub_id, now_ms, batch -> {sockets left, call ids...}; the lease goes with the
# last socket. A lease renewed meanwhile (no hub renews a lapsed one): {-1}.
REAP_HUB = (
    _LEASE_KEYS
    + """
local hub, now = ARGV[1], tonumber(ARGV[2])
local held = k_hub_kiosks(hub)
local score = redis.call('ZSCORE', LEASES, hub_lease(hub))
if score and tonumber(score) >= now then return {-1} end
local calls = {}
for _, m in ipairs(redis.call('SRANDMEMBER', held, tonumber(ARGV[3]))) do
  local k, c = string.match(m, '^(%S+) (%S+)$')
  if k then
    redis.call('ZREM', k_kiosk_conns(k), c)
    redis.call('HDEL', k_kiosk_spoke(k), c)
    if redis.call('ZCOUNT', k_kiosk_conns(k), now, '+inf') == 0 then
      local call = redis.call('GET', k_kiosk_live(k))
      if call and redis.call('HGET', k_call(call), 'status') == 'queued' then
        calls[#calls + 1] = call
      end
    end
  end
  redis.call('SREM', held, m)
end
local left = redis.call('SCARD', held)
if left == 0 then redis.call('ZREM', LEASES, hub_lease(hub)) end
return {left, unpack(calls)}
"""
)

# ARGV[1] the hub's id, ARGV[2] lines "kiosk_id conn_id spoke": the time (ms) each
# socket last spoke, for those that spoke since the last round (a line per socket in
# one text argument: thousands of arguments cost the hub more to pack than Redis to
# read). Records when each socket spoke, and on which hub (edge.one_socket).
RECORD_SPOKE = (
    _LEASE_KEYS
    + f"""
local hub, n = ARGV[1], 0
for k, c, spoke in string.gmatch(ARGV[2], '(%S+) (%S+) (%S+)') do
  redis.call('HSET', k_kiosk_spoke(k), c, spoke .. ' ' .. hub)
  redis.call('EXPIRE', k_kiosk_spoke(k), {SPOKE_TTL_S})
  n = n + 1
end
return n
"""
)

# ARGV[1] lines "kiosk_id epoch" (the epoch its socket was opened under)
# -> the 1-based line numbers whose kiosk was revoked or changed since
STALE_KIOSKS = (
    KEY_BUILDERS
    + f"""
local function k_kiosk(k) return {lua_builder(keys.kiosk, "k")} end
local stale, n = {{}}, 0
for k, epoch in string.gmatch(ARGV[1], '(%S+) (%S+)') do
  n = n + 1
  local f = redis.call('HMGET', k_kiosk(k), 'epoch', 'revoked')
  if f[2] == '1' or tonumber(f[1] or 0) ~= tonumber(epoch) then stale[#stale + 1] = n end
end
return stale
"""
)
