"""A hub's periodic work over all of its kiosk sockets, as scripts over batches: a
batch of a thousand kiosks is one command, not a thousand, so ten thousand idle
kiosks cost the hub ten short round trips every few seconds instead of one long
stall of its event loop (and Redis a short step per batch, not one long one)."""

from __future__ import annotations

from server.store import keys
from server.store.lua_keys import KEY_BUILDERS, lua_builder

BATCH = 1000  # kiosks per script call

SPOKE_TTL_S = 60  # a kiosk's record of when its sockets spoke outlives what reads it

# ARGV: lease end (ms), then kiosk_id, conn_id, spoke (ms, or '' if silent since the
# last renewal) triples: renew each socket's lease, in the kiosk's own set and in the
# hub-wide one the reaper reads, and record when it last spoke.
RENEW_KIOSK_LEASES = (
    KEY_BUILDERS
    + f"""
local function k_kiosk_conns(k) return {lua_builder(keys.kiosk_conns, "k")} end
local function k_kiosk_spoke(k) return {lua_builder(keys.kiosk_spoke, "k")} end
local function lease(k, c) return {lua_builder(keys.lease, "'k'", "k", "c")} end
local untl = ARGV[1]
for i = 2, #ARGV, 3 do
  redis.call('ZADD', k_kiosk_conns(ARGV[i]), untl, ARGV[i + 1])
  redis.call('ZADD', LEASES, untl, lease(ARGV[i], ARGV[i + 1]))
  if ARGV[i + 2] ~= '' then
    redis.call('HSET', k_kiosk_spoke(ARGV[i]), ARGV[i + 1], ARGV[i + 2])
    redis.call('EXPIRE', k_kiosk_spoke(ARGV[i]), {SPOKE_TTL_S})
  end
end
return (#ARGV - 1) / 3
"""
)

# ARGV: kiosk_id, epoch pairs (the epoch its socket was opened under)
# -> the 1-based pair numbers whose kiosk was revoked or changed since
STALE_KIOSKS = (
    KEY_BUILDERS
    + f"""
local function k_kiosk(k) return {lua_builder(keys.kiosk, "k")} end
local stale = {{}}
for i = 1, #ARGV, 2 do
  local f = redis.call('HMGET', k_kiosk(ARGV[i]), 'epoch', 'revoked')
  if f[2] == '1' or tonumber(f[1] or 0) ~= tonumber(ARGV[i + 1]) then
    stale[#stale + 1] = (i + 1) / 2
  end
end
return stale
"""
)
