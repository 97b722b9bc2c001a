"""A kiosk's press as one Lua script: the call made and queued (``scripts.CREATE_FN``)
and, if it is new and the town open, the town's dispatch (``dispatch_script``) in
the same atomic step, so the press costs one round trip and its rings are on their
way when the kiosk is told its place.

The deadlines a new call gets (``max_wait_s``, the overflow), the press limit and
the dispatch's strategy come from the town's settings. The hub keeps the settings
it last read, validated, with a digest of the town's hash (``server.accounts.towns``);
the script first checks that digest against the hash as it is now, and if anything
changed does nothing and returns the hash, so the hub reads the settings again and
presses once more. The settings are always parsed by the hub, never in Lua.
"""

from __future__ import annotations

from server.store.dispatch_script import DISPATCH_FN
from server.store.lua_keys import LUA_PARTS
from server.store.scripts import CREATE_FN

# Whether the town's hash is still the one the hub digested: the same fields (names
# comma-separated, sorted) and a sha1 of "name\0value\0name\0value..." in that order.
SAME_TOWN_FN = """
local function same_town(town_key, names_csv, digest)
  local names = {}
  for f in string.gmatch(names_csv, '[^,]+') do names[#names + 1] = f end
  if #names == 0 or redis.call('HLEN', town_key) ~= #names then return false end
  local values = redis.call('HMGET', town_key, unpack(names))
  local parts = {}
  for i, f in ipairs(names) do
    if not values[i] then return false end
    parts[#parts + 1] = f
    parts[#parts + 1] = values[i]
  end
  return redis.sha1hex(table.concat(parts, '\\0')) == digest
end
"""

# KEYS: CREATE_CALL's. ARGV: CREATE_CALL's 14, then the town's field names and
#       digest (as above), open ('1': within its hours now: dispatch a new call),
#       strategy, ring_timeout_s
# -> {'', 'stale', the town's hash (flat)} when the settings changed (nothing done);
#    else CREATE_CALL's reply, with a new call's dispatch outcome (DISPATCH's reply:
#    'nobody' | head call id | '') appended as its 6th item when it was dispatched
PRESS = (
    LUA_PARTS
    + CREATE_FN
    + DISPATCH_FN
    + SAME_TOWN_FN
    + """
local town = ARGV[4]
if not same_town(k_town(town), ARGV[15], ARGV[16]) then
  return {'', 'stale', redis.call('HGETALL', k_town(town))}
end
local placed = create_call(KEYS, ARGV)
if placed[2] == 'new' and ARGV[17] == '1' then
  -- a call at the tail moves nobody's place up: nothing to announce
  placed[6] = dispatch({town, ARGV[2], ARGV[18], ARGV[19], '1', '', '[]', ''})
end
return placed
"""
)
