"""An end and the dispatch it calls for as one Lua script: the call ended
(``call_scripts.END_FN``), both sides told, and its town rung anew
(``dispatch_script``), in one atomic step, so the rings a hang-up stops are on their
way when the script returns (one round trip, as a press is).

The dispatch needs the town's strategy and ring timeout, which the hub keeps with a
digest of the town's hash (``press_script.SAME_TOWN_FN``, as a press checks them); if
the town changed, or the call is not of the town the hub named, the call is ended
all the same and the reply says the dispatch was not done, for the hub to do it.
"""

from __future__ import annotations

from server.store.call_scripts import END_FN
from server.store.dispatch_script import DISPATCH_FN
from server.store.lua_keys import LUA_PARTS
from server.store.press_script import SAME_TOWN_FN

# ARGV: END_CALL's 10, then the town the hub expects the call in, its field names
#       and digest (press_script), strategy, ring_timeout_s
# -> END_CALL's reply; when it ended the call, with a 5th item: DISPATCH's reply (''
#    or the head call id) when the dispatch was done here, false when it was not
HANG_UP = (
    LUA_PARTS
    + END_FN
    + DISPATCH_FN
    + SAME_TOWN_FN
    + """
local ended = end_call(ARGV)
if ended[1] ~= 'ok' then return ended end
local call = as_table(ended[3])
local town = ARGV[11]
if call.town_id ~= town or not same_town(k_town(town), ARGV[12], ARGV[13]) then
  ended[5] = false
  return ended
end
-- both sides hear it first, as the hub's own ``ended_message`` says it
local told = cjson.encode({type = 'call_ended', call_id = call.id, status = call.status,
                           reason = call.end_reason or ''})
local tell = {{ch_kiosk(call.kiosk_id), told}}
local operator = call.operator or ''
if operator ~= '' then tell[2] = {ch_operator(operator), told} end
ended[5] = dispatch({town, ARGV[2], ARGV[14], ARGV[15], '', '1', cjson.encode(tell), operator})
return ended
"""
)
