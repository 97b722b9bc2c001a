"""Paints one screen state: its colour, its icon, its words; or the call's video.

Every state but the call is the same layout, scaled to the screen: the icon in the
upper part, the title large under it, the detail below. High contrast (white on a
dark ground) and a ground colour per kind of state, so that a villager who cannot
read still tells "waiting" from "ended" from "no network". During the call the
operator fills the screen, the villager's own picture sits small in a corner, and a
dark band at the top carries the words.
"""

# ruff: noqa: RUF001 - Chinese text takes full-width punctuation

from __future__ import annotations

from collections.abc import Callable

import pygame
import pygame.freetype

from kiosk_client.screen import icons
from kiosk_client.screen.fonts import FontFile

Icon = Callable[[pygame.Surface, icons.Point, float], None]

NAVY, TEAL, SLATE = (14, 30, 66), (6, 62, 72), (32, 36, 48)
NIGHT, ALARM = (36, 20, 64), (96, 18, 18)
DETAIL = (255, 232, 150)

# state: (ground colour, icon)
LOOK: dict[str, tuple[icons.Colour, Icon]] = {
    "idle": (NAVY, icons.button),
    "calling": (NAVY, icons.calling),
    "queued": (NAVY, icons.hourglass),
    "connected": (SLATE, icons.video),
    "operator_lost": (SLATE, icons.offline),
    "incoming": (TEAL, icons.incoming),
    "ended": (SLATE, icons.check),
    "rating": (SLATE, icons.rating),
    "thanks": (SLATE, icons.heart),
    "cancelled": (SLATE, lambda s, c, z: icons.cross(s, icons.GREY, c, z)),
    "unanswered": (SLATE, icons.clock),
    "out_of_hours": (NIGHT, lambda s, c, z: icons.moon(s, c, z, NIGHT)),
    "declined": (SLATE, icons.declined),
    "offline": (ALARM, icons.offline),
    "offline_calling": (ALARM, icons.with_badge(icons.offline, "handset")),
    "offline_in_call": (ALARM, icons.with_badge(icons.offline, "camera")),
    "offline_expired": (ALARM, icons.with_badge(icons.offline, "cross")),
    "revoked": (SLATE, lambda s, c, z: icons.cross(s, (236, 96, 96), c, z)),
}
VIDEO_STATES = frozenset({"connected", "operator_lost"})
_BREAK_AFTER = "，。；：？！、）"
_NO_LINE_START = "，。；：？！、）”"


class Painter:
    """Draws states onto surfaces of one size with one font."""

    def __init__(self, size: tuple[int, int], font: FontFile) -> None:
        if not pygame.freetype.get_init():
            pygame.freetype.init()
        self.size = size
        self._font = pygame.freetype.Font(font.path, 12, font_index=font.index)
        self._font.antialiased = True
        w, h = size
        self.title_px = max(28, min(int(h * 0.12), int(w * 0.08)))
        self.detail_px = max(20, int(self.title_px * 0.62))

    def paint(
        self,
        target: pygame.Surface,
        state: str,
        title: str,
        detail: str,
        operator: pygame.Surface | None = None,
        own: pygame.Surface | None = None,
    ) -> None:
        if state in VIDEO_STATES:
            self._paint_call(target, state, title, detail, operator, own)
            return
        ground, icon = LOOK[state]
        w, h = self.size
        target.fill(ground)
        icon_side = min(h * 0.4, w * 0.3)
        big = self._block(title, self.title_px, lines=2)
        small = self._block(detail, self.detail_px, lines=2)
        gap = h * 0.04
        y = (h - (icon_side + gap + big[2] + gap / 2 + small[2])) / 2  # the whole, centred
        icon(target, (w / 2, y + icon_side / 2), icon_side)
        y = self._text(target, big, icons.WHITE, y + icon_side + gap)
        self._text(target, small, DETAIL, y + gap / 2)
        if own is not None:  # the villager's picture while they wait: the camera is on
            self._corner(target, own, "摄像头已打开")

    def _paint_call(
        self,
        target: pygame.Surface,
        state: str,
        title: str,
        detail: str,
        operator: pygame.Surface | None,
        own: pygame.Surface | None,
    ) -> None:
        w, h = self.size
        target.fill((0, 0, 0))
        if operator is not None:
            target.blit(*_fit(operator, (w, h)))
        else:
            icons.camera(target, icons.GREY, (w / 2, h / 2), h * 0.3)
        if state == "operator_lost":
            shade = pygame.Surface((w, h), pygame.SRCALPHA)
            shade.fill((0, 0, 0, 200))
            target.blit(shade, (0, 0))
            side = h * 0.3
            icons.offline(target, (w / 2, h * 0.3), side)
            y = self._text(target, self._block(title, self.title_px, 1), icons.WHITE, h * 0.5)
            self._text(target, self._block(detail, self.detail_px, 1), DETAIL, y + h * 0.02)
        else:
            band_h = int(self.detail_px * 1.9)
            band = pygame.Surface((w, band_h), pygame.SRCALPHA)
            band.fill((0, 0, 0, 190))
            target.blit(band, (0, 0))
            icons.camera(target, icons.GREEN, (band_h * 0.8, band_h / 2), band_h * 0.8)
            self._line(target, f"{title}  {detail}", self.detail_px, icons.WHITE,
                       (band_h * 1.5, (band_h - self.detail_px * 1.2) / 2))  # fmt: skip
        if own is not None:
            self._corner(target, own, None)

    def _corner(self, target: pygame.Surface, own: pygame.Surface, label: str | None) -> None:
        w, h = self.size
        box = (int(w * 0.24), int(h * 0.24))
        picture, _ = _fit(own, box)
        x = w - picture.get_width() - int(w * 0.02)
        y = h - picture.get_height() - int(h * 0.03)
        pygame.draw.rect(target, icons.WHITE, picture.get_rect(topleft=(x, y)).inflate(8, 8))
        target.blit(picture, (x, y))
        if label:
            px = max(16, int(self.detail_px * 0.5))
            width = self._font.get_rect(label, size=px).width
            self._line(target, label, px, icons.WHITE, (x + (picture.get_width() - width) / 2,
                                                        y - px * 1.6))  # fmt: skip

    def _block(self, text: str, px: int, lines: int) -> tuple[list[str], int, float]:
        """``text`` wrapped to the screen's width, smaller when it would need more than
        ``lines`` lines: ``(lines, size, height)``."""
        w, _ = self.size
        while True:
            wrapped = wrap(self._font, text, px, w * 0.9)
            if len(wrapped) <= lines or px <= 16:
                break
            px = int(px * 0.9)
        return wrapped, px, len(wrapped) * self._font.get_sized_height(px) * 1.1

    def _text(
        self, target: pygame.Surface, block: tuple[list[str], int, float], colour: icons.Colour,
        top: float,
    ) -> float:  # fmt: skip
        """A block of lines, each centred; returns the y under the last."""
        wrapped, px, height = block
        w, _ = self.size
        for i, line in enumerate(wrapped):
            width = self._font.get_rect(line, size=px).width
            self._line(target, line, px, colour, ((w - width) / 2, top + i * height / len(wrapped)))
        return top + height

    def _line(
        self,
        target: pygame.Surface,
        text: str,
        px: int,
        colour: icons.Colour,
        at: tuple[float, float],
    ) -> None:
        surface, _ = self._font.render(text, colour, size=px)
        # render() crops to the ink; put the line's ascender, not the ink's top, at y
        top = self._font.get_sized_ascender(px) - self._font.get_rect(text, size=px).top
        target.blit(surface, (at[0], at[1] + top))


def wrap(font: pygame.freetype.Font, text: str, px: int, width: float) -> list[str]:
    """Break Chinese text to ``width``: anywhere, but after punctuation when it can,
    and never with punctuation first on a line."""
    lines: list[str] = []
    line = ""
    for char in text:
        if (
            line
            and font.get_rect(line + char, size=px).width > width
            and char not in _NO_LINE_START
        ):
            cut = max(line.rfind(p) for p in _BREAK_AFTER) + 1
            if cut <= len(line) // 2:
                cut = len(line)
            lines.append(line[:cut].strip())
            line = line[cut:]
        line += char
    if line.strip():
        lines.append(line.strip())
    return lines


def _fit(picture: pygame.Surface, box: tuple[int, int]) -> tuple[pygame.Surface, tuple[int, int]]:
    """``picture`` scaled to fit ``box`` with its shape kept, and where to put it centred."""
    pw, ph = picture.get_size()
    scale = min(box[0] / pw, box[1] / ph)
    size = (max(1, int(pw * scale)), max(1, int(ph * scale)))
    scaled = pygame.transform.smoothscale(picture, size)
    return scaled, ((box[0] - size[0]) // 2, (box[1] - size[1]) // 2)
