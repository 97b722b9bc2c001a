"""What the villager is told at each state, in plain Chinese, on standard error.

A full-screen UI will show the same words later; until then the log carries them.
"""

# ruff: noqa: RUF001 - Chinese text takes full-width punctuation

from __future__ import annotations

import logging

from kiosk_client.status import Status

villager = logging.getLogger("kiosk_client.prompt")

PRESS_TO_CALL = "请按按钮呼叫镇里"
CALLING_AHEAD = "正在呼叫，您前面还有 {ahead} 位，请稍候"
CALLING_NEXT = "正在呼叫，马上就好，请稍候"
CONNECTED = "已接通，请对着屏幕说话"
OPERATOR_LOST = "镇里的网络断了一下，正在重新接通，请稍候"
ENDED = "通话结束，谢谢"
RATE = "通话结束，谢谢。对这次服务满意吗？请按“满意”或“不满意”"
CALL_YOU_BACK = "现在暂时无人接听，镇里会尽快给您回电"
RECONNECTING = "网络断开，正在重新连接…"
RESUMING = "网络断开，正在恢复通话…"


CALLBACK = "镇里回电，马上为您接通；不方便请按按钮拒接"
WAIT_ABOUT = "，预计等待约 {minutes} 分钟"


def words_for(status: Status) -> str:
    wait = status.extra.get("estimated_wait_s")
    about = WAIT_ABOUT.format(minutes=max(1, round(wait / 60))) if wait else ""
    match status.state:
        case "idle" if status.extra.get("incoming_call"):
            return CALLBACK
        case "idle":
            return PRESS_TO_CALL
        case "queued" if status.position is not None and status.position > 1:
            return CALLING_AHEAD.format(ahead=status.position - 1) + about
        case "queued":
            return CALLING_NEXT
        case "connected" if status.extra.get("operator_lost"):
            return OPERATOR_LOST
        case "connected":
            return CONNECTED
        case "ended" if status.extra.get("call_status") == "unanswered":
            return CALL_YOU_BACK
        case "ended" if status.extra.get("call_status") == "completed":
            return RATE
        case "ended":
            return ENDED
        case "offline":
            return RECONNECTING if status.call_id is None else RESUMING
        case _:
            raise ValueError(f"no words for kiosk state {status.state!r}")


def prompt(status: Status) -> None:
    villager.info("%s", words_for(status))
