"""The Chinese font the screen draws with, found on the system through fontconfig.

SDL's own font has no Chinese glyphs, and ``fc-match`` always answers with *some*
font, a Latin one when no CJK font is installed; so the answer is checked against
the fonts fontconfig lists as covering simplified Chinese. Noto Sans CJK comes as a
collection (``.ttc``) whose faces are Japanese, Korean, Simplified and Traditional
Chinese: the face index matters, or some characters take their Japanese shapes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from kiosk_client.screen import ScreenUnavailable

# Bold first: a kiosk is read from a step away, often by old eyes.
PREFERRED = ("Noto Sans CJK SC:bold", "WenQuanYi Micro Hei:bold", "Noto Sans CJK SC", ":bold")
PACKAGES = "fonts-noto-cjk or fonts-wqy-microhei"


class FontMissing(ScreenUnavailable):
    """No font on this system can draw Chinese."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int  # the face inside a collection


def find_cjk_font() -> FontFile:
    """The best bold font for simplified Chinese, or ``FontMissing`` naming the package."""
    if shutil.which("fc-match") is None:
        raise FontMissing(f"fontconfig's fc-match is not installed (apt-get install fontconfig "
                          f"and {PACKAGES})")  # fmt: skip
    covering = _run("fc-list", ":lang=zh-cn", "--format", "%{file}\n").splitlines()
    if not covering:
        raise FontMissing(f"no font that can draw Chinese is installed: apt-get install {PACKAGES}")
    for pattern in PREFERRED:
        found = _run("fc-match", "--format", "%{file}|%{index}", f"{pattern}:lang=zh-cn")
        path, _, index = found.partition("|")
        if path in covering:
            return FontFile(path, int(index or 0))
    return FontFile(covering[0], 0)


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
