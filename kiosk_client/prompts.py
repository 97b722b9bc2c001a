"""What the villager is told at each screen state: the one source of the kiosk's words.

Each screen state has a large title, a smaller detail line and a spoken prompt. The
screen (``kiosk_client.screen``) shows the title and the detail; the voice plays the
state's WAV file, which ``tools.make_prompts`` generates from ``spoken``; the log
carries the same words. Numbers (the queue place, the wait) are on the screen only:
a prompt is a file a town can replace with a recording, so its words never change.
"""

# ruff: noqa: RUF001 - Chinese text takes full-width punctuation

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk_client.status import Status

villager = logging.getLogger("kiosk_client.prompt")


@dataclass(frozen=True)
class Words:
    title: str  # the big line; it alone tells the state
    detail: str  # the smaller line under it; may hold {ahead}, {minutes}, {hours}
    spoken: str  # the prompt file's words


# One entry per screen state, in the order a villager meets them; the name is the
# prompt file's name too (``voice/cmn/queued.wav``).
WORDS: dict[str, Words] = {
    "idle": Words("按下按钮，联系镇里", "镇里的工作人员会和您视频通话", "按下按钮，联系镇里"),
    "calling": Words("正在呼叫镇里", "请稍候，不用再按", "正在呼叫镇里，请稍候"),
    "queued": Words("正在排队，请稍候", "您前面还有 {ahead} 位{wait}", "正在排队，请稍候"),
    "connected": Words("已接通", "请对着屏幕说话", "已接通，请对着屏幕说话"),
    "operator_lost": Words(
        "镇里的网络断了一下", "正在重新接通，请稍候", "镇里的网络断了一下，正在重新接通，请稍候"
    ),
    "incoming": Words(
        "镇里给您回电", "马上为您接通；不方便请按按钮拒接", "镇里给您回电，马上为您接通"
    ),
    "ended": Words("通话结束，谢谢", "有事请随时再按按钮", "通话结束，谢谢"),
    "rating": Words(
        "对这次服务满意吗？",
        "满意请按一下按钮，不满意请按住两秒",
        "通话结束。满意请按一下按钮，不满意请按住按钮两秒",
    ),
    "thanks": Words("谢谢您的评价", "镇里会继续改进服务", "谢谢您的评价"),
    "cancelled": Words("已取消呼叫", "有事请随时再按按钮", "已取消呼叫"),
    "unanswered": Words(
        "现在暂时无人接听", "镇里会尽快给您回电", "现在暂时无人接听，镇里会尽快给您回电"
    ),
    "out_of_hours": Words(
        "现在是下班时间", "上班时间 {hours}，请到时再按按钮", "现在是下班时间，请在上班时间再按按钮"
    ),
    "declined": Words("已拒接镇里的回电", "有事请随时再按按钮", "已拒接镇里的回电"),
    "offline": Words("网络断了，正在重新连接", "连上以后就可以呼叫", "网络断了，正在重新连接"),
    "offline_calling": Words(
        "网络断了，正在重新连接",
        "您的呼叫已记下，连上后马上发出",
        "网络断了，您的呼叫会在连上后发出",
    ),
    "offline_in_call": Words(
        "网络断了，正在恢复通话", "请稍候，不要走开", "网络断了，正在恢复通话，请稍候"
    ),
    "offline_expired": Words(
        "网络断了，呼叫没有发出", "连上以后请再按按钮", "网络断了，呼叫没有发出，连上以后请再按按钮"
    ),
    "revoked": Words(
        "这台设备已停用", "请联系镇里的工作人员", "这台设备已停用，请联系镇里的工作人员"
    ),
}

QUEUE_NEXT = "下一位就是您{wait}"
WAIT_ABOUT = "，预计等待约 {minutes} 分钟"
HOURS_UNKNOWN = "请在上班时间再按按钮"


def screen_state(status: Status) -> str:
    """The screen state (a key of ``WORDS``) that shows ``status``."""
    extra = status.extra
    match status.state:
        case "idle" if extra.get("incoming_call"):
            return "incoming"
        case "idle" if extra.get("rated"):
            return "thanks"
        case "idle" if status.view == "calling":
            return "calling"
        case "idle":
            return "idle"
        case "queued":
            return "queued"
        case "connected" if extra.get("operator_lost"):
            return "operator_lost"
        case "connected":
            return "connected"
        case "ended":
            return _ended(extra.get("end_reason"), extra.get("call_status"))
        case "offline" if status.view == "revoked":  # the hub revoked the kiosk's token
            return "revoked"
        case "offline" if status.view == "in_call":  # only signalling is down
            return "connected"
        case "offline" if status.call_id is not None:
            return "offline_in_call"
        case "offline" if status.view == "expired":
            return "offline_expired"
        case "offline" if status.view == "calling":
            return "offline_calling"
        case "offline":
            return "offline"
        case _:
            raise ValueError(f"no screen for kiosk state {status.state!r}")


def _ended(reason: object, call_status: object) -> str:
    if reason == "closed":  # the hub ends a call outside the town's working hours
        return "out_of_hours"
    if reason == "kiosk_declined":
        return "declined"
    if call_status == "unanswered":
        return "unanswered"
    if call_status == "abandoned":
        return "cancelled"
    if call_status == "completed":
        return "rating"
    return "ended"


def lines_for(status: Status) -> tuple[str, str, str]:
    """``(state, title, detail)`` for ``status``, the numbers filled in."""
    state = screen_state(status)
    words = WORDS[state]
    detail = words.detail
    if state == "queued":
        wait_s = status.extra.get("estimated_wait_s")
        wait = WAIT_ABOUT.format(minutes=max(1, round(wait_s / 60))) if wait_s else ""
        ahead = (status.position or 1) - 1
        detail = (
            QUEUE_NEXT.format(wait=wait) if ahead < 1 else detail.format(ahead=ahead, wait=wait)
        )
    elif state == "out_of_hours":
        hours = status.extra.get("hours")
        detail = detail.format(hours=hours) if hours else HOURS_UNKNOWN
    return state, words.title, detail


def words_for(status: Status) -> str:
    _, title, detail = lines_for(status)
    return f"{title}{'' if title.endswith(('？', '。')) else '。'}{detail}"


def prompt(status: Status) -> None:
    villager.info("%s", words_for(status))
