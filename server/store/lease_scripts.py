"""A hub's periodic work over all of its kiosk sockets, as scripts over batches: a
batch of kiosks is one command, not one per kiosk, so ten thousand idle kiosks cost
the hub twenty short round trips every few seconds instead of one long stall of its
event loop (and Redis a short step per batch, not one long one)."""

from __future__ import annotations

from server.store import keys
from server.store.lua_keys import KEY_BUILDERS, lua_builder

BATCH = 250  # kiosks per script call: a short step for Redis and for the hub

SPOKE_TTL_S = 60  # a kiosk's record of when its sockets spoke outlives what reads it

# The sockets come as one text argument, a line per socket ("kiosk_id conn_id spoke"),
# not as thousands of arguments: the hub's client packs one string in a fraction of the
# time (ids never hold spaces). Every few seconds for every kiosk, that is most of the
# cost of holding ten thousand of them.

# ARGV[1] lease end (ms), ARGV[2] the hub's id, ARGV[3] lines "kiosk_id conn_id spoke
# renew": spoke the time (ms) the socket last spoke, or '-' if silent since the last
# round; renew '1' to renew its lease, in the kiosk's own set and in the hub-wide one
# the reaper reads. Records when each socket spoke, and on which hub.
RENEW_KIOSK_LEASES = (
    KEY_BUILDERS
    + f"""
local function k_kiosk_conns(k) return {lua_builder(keys.kiosk_conns, "k")} end
local function k_kiosk_spoke(k) return {lua_builder(keys.kiosk_spoke, "k")} end
local function lease(k, c) return {lua_builder(keys.lease, "'k'", "k", "c")} end
local untl, hub, n = ARGV[1], ARGV[2], 0
for k, c, spoke, renew in string.gmatch(ARGV[3], '(%S+) (%S+) (%S+) (%S+)') do
  if renew == '1' then
    redis.call('ZADD', k_kiosk_conns(k), untl, c)
    redis.call('ZADD', LEASES, untl, lease(k, c))
  end
  if spoke ~= '-' then
    redis.call('HSET', k_kiosk_spoke(k), c, spoke .. ' ' .. hub)
    redis.call('EXPIRE', k_kiosk_spoke(k), {SPOKE_TTL_S})
  end
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
