"""Key names for Lua scripts that can only know a key inside the script (an
operator found in a set, the call a kiosk already has): Lua functions built from the
builders in ``keys``, so each name is written in one place."""

from __future__ import annotations

from server.store import keys


def _lua(builder: object, *args: str) -> str:
    """A Lua expression for ``builder(*args)``, args being Lua variable names."""
    marks = [f"\x00{i}\x00" for i in range(len(args))]
    text = builder(*marks)  # type: ignore[operator]
    expr = "'" + text + "'"
    for mark, arg in zip(marks, args, strict=True):
        expr = expr.replace(mark, f"' .. {arg} .. '")
    return expr.replace(" .. ''", "").replace("'' .. ", "")


KEY_BUILDERS = f"""
local function k_town(t) return {_lua(keys.town, "t")} end
local function k_queue(t) return {_lua(keys.town_queue, "t")} end
local function k_overflow(t) return {_lua(keys.town_overflow, "t")} end
local function k_town_ops(t) return {_lua(keys.town_operators, "t")} end
local function k_presence(u) return {_lua(keys.presence, "u")} end
local function k_op_conns(u) return {_lua(keys.operator_conns, "u")} end
local function k_op_live(u) return {_lua(keys.operator_live, "u")} end
local function k_kiosk_live(k) return {_lua(keys.kiosk_live, "k")} end
local function k_call(c) return {_lua(keys.call, "c")} end
local function k_events(c) return {_lua(keys.call_events, "c")} end
local function k_offered(c) return {_lua(keys.call_offered, "c")} end
local function k_declined(c) return {_lua(keys.call_declined, "c")} end
local function k_inbox(ch) return {_lua(keys.inbox, "ch")} end
local function ch_operator(u) return {_lua(keys.operator_channel, "u")} end
local function ch_town(t) return {_lua(keys.town_channel, "t")} end
local TIMERS = '{keys.TIMERS}'
local INBOX_MAXLEN, INBOX_TTL = {keys.INBOX_MAXLEN}, {keys.INBOX_TTL_S}
"""
