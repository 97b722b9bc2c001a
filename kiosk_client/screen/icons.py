"""One icon per screen state, drawn with pygame's primitives into a square.

Each ``draw_*`` takes the surface, the square's centre and its side; shapes are
thick and few, so that they read from a step away on a small screen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pygame

Colour = tuple[int, int, int]
Point = tuple[float, float]

WHITE: Colour = (255, 255, 255)
GREEN: Colour = (46, 204, 113)
AMBER: Colour = (255, 193, 7)
CYAN: Colour = (64, 210, 255)
RED: Colour = (235, 64, 52)
GREY: Colour = (190, 196, 205)
MOON: Colour = (255, 236, 150)


def _arc_points(c: Point, r: float, start: float, end: float, steps: int = 40) -> list[Point]:
    """Points along a circle, angles in degrees, counter-clockwise on the screen."""
    return [
        (c[0] + r * math.cos(math.radians(a)), c[1] - r * math.sin(math.radians(a)))
        for a in (start + (end - start) * i / steps for i in range(steps + 1))
    ]


def thick_arc(
    surf: pygame.Surface, colour: Colour, c: Point, r: float, width: float, start: float, end: float
) -> None:
    outer = _arc_points(c, r + width / 2, start, end)
    inner = _arc_points(c, r - width / 2, start, end)
    pygame.draw.polygon(surf, colour, outer + inner[::-1])


def thick_line(surf: pygame.Surface, colour: Colour, a: Point, b: Point, width: float) -> None:
    pygame.draw.line(surf, colour, a, b, int(width))
    for end in (a, b):  # round caps
        pygame.draw.circle(surf, colour, end, width / 2)


def handset(surf: pygame.Surface, colour: Colour, c: Point, s: float, tilt: float = 0) -> None:
    """A telephone handset: a thick arc with an earpiece and a mouthpiece."""
    r, w = s * 0.32, s * 0.13
    start, end = 20 + tilt, 160 + tilt  # an arch: earpiece and mouthpiece face down
    centre = (c[0], c[1] + s * 0.14)
    thick_arc(surf, colour, centre, r, w, start, end)
    for angle in (start, end):
        x = centre[0] + r * math.cos(math.radians(angle))
        y = centre[1] - r * math.sin(math.radians(angle))
        pygame.draw.circle(surf, colour, (x, y), w * 1.05)


def waves(surf: pygame.Surface, colour: Colour, c: Point, s: float, both: bool) -> None:
    for i in (1, 2):
        r = s * (0.18 + 0.14 * i)
        thick_arc(surf, colour, c, r, s * 0.05, 30, 70)
        if both:
            thick_arc(surf, colour, c, r, s * 0.05, 110, 150)


def camera(surf: pygame.Surface, colour: Colour, c: Point, s: float) -> None:
    body = pygame.Rect(0, 0, s * 0.6, s * 0.42)
    body.center = (int(c[0] - s * 0.1), int(c[1]))
    pygame.draw.rect(surf, colour, body, border_radius=int(s * 0.07))
    x = body.right + s * 0.02
    lens = [(x, c[1] - s * 0.04), (x + s * 0.26, c[1] - s * 0.18), (x + s * 0.26, c[1] + s * 0.18),
            (x, c[1] + s * 0.04)]  # fmt: skip
    pygame.draw.polygon(surf, colour, lens)


def no_network(surf: pygame.Surface, colour: Colour, c: Point, s: float) -> None:
    base = (c[0], c[1] + s * 0.3)
    for i in (1, 2, 3):
        thick_arc(surf, colour, base, s * 0.15 * i, s * 0.07, 45, 135)
    pygame.draw.circle(surf, colour, base, s * 0.06)
    thick_line(
        surf, RED, (c[0] - s * 0.4, c[1] - s * 0.35), (c[0] + s * 0.4, c[1] + s * 0.4), s * 0.09
    )


def button(surf: pygame.Surface, c: Point, s: float) -> None:
    pygame.draw.circle(surf, WHITE, c, s * 0.46, int(s * 0.05))
    pygame.draw.circle(surf, GREEN, c, s * 0.36)
    pygame.draw.circle(surf, (120, 240, 170), (c[0] - s * 0.1, c[1] - s * 0.1), s * 0.1)


def calling(surf: pygame.Surface, c: Point, s: float) -> None:
    handset(surf, CYAN, (c[0] - s * 0.1, c[1] + s * 0.05), s * 0.9)
    waves(surf, CYAN, (c[0] - s * 0.1, c[1]), s, both=False)


def incoming(surf: pygame.Surface, c: Point, s: float) -> None:
    handset(surf, CYAN, c, s * 0.9)
    waves(surf, CYAN, (c[0], c[1] - s * 0.05), s, both=True)


def hourglass(surf: pygame.Surface, c: Point, s: float) -> None:
    x0, x1 = c[0] - s * 0.28, c[0] + s * 0.28
    top, bottom, mid = c[1] - s * 0.4, c[1] + s * 0.4, c[1]
    pygame.draw.polygon(surf, AMBER, [(x0, top), (x1, top), (c[0] + s * 0.04, mid),
                                      (c[0] - s * 0.04, mid)], int(s * 0.05))  # fmt: skip
    pygame.draw.polygon(surf, AMBER, [(c[0] - s * 0.04, mid), (c[0] + s * 0.04, mid), (x1, bottom),
                                      (x0, bottom)])  # fmt: skip
    for y in (top, bottom):
        thick_line(surf, WHITE, (x0 - s * 0.06, y), (x1 + s * 0.06, y), s * 0.07)


def check(surf: pygame.Surface, c: Point, s: float) -> None:
    pygame.draw.circle(surf, GREEN, c, s * 0.44, int(s * 0.06))
    points = [
        (c[0] - s * 0.2, c[1]),
        (c[0] - s * 0.05, c[1] + s * 0.16),
        (c[0] + s * 0.22, c[1] - s * 0.16),
    ]
    for a, b in itertools.pairwise(points):
        thick_line(surf, GREEN, a, b, s * 0.08)


def cross(surf: pygame.Surface, colour: Colour, c: Point, s: float) -> None:
    pygame.draw.circle(surf, colour, c, s * 0.44, int(s * 0.06))
    d = s * 0.18
    thick_line(surf, colour, (c[0] - d, c[1] - d), (c[0] + d, c[1] + d), s * 0.08)
    thick_line(surf, colour, (c[0] - d, c[1] + d), (c[0] + d, c[1] - d), s * 0.08)


def face(surf: pygame.Surface, colour: Colour, c: Point, s: float, happy: bool) -> None:
    pygame.draw.circle(surf, colour, c, s * 0.42, int(s * 0.06))
    for dx in (-0.14, 0.14):
        pygame.draw.circle(surf, colour, (c[0] + dx * s, c[1] - s * 0.1), s * 0.06)
    if happy:
        thick_arc(surf, colour, (c[0], c[1] + s * 0.02), s * 0.2, s * 0.06, 200, 340)
    else:
        thick_arc(surf, colour, (c[0], c[1] + s * 0.3), s * 0.18, s * 0.06, 30, 150)


def rating(surf: pygame.Surface, c: Point, s: float) -> None:
    face(surf, GREEN, (c[0] - s * 0.5, c[1]), s * 0.8, happy=True)
    face(surf, RED, (c[0] + s * 0.5, c[1]), s * 0.8, happy=False)


def heart(surf: pygame.Surface, c: Point, s: float) -> None:
    r, top = s * 0.2, c[1] - s * 0.1  # two round lobes over a point
    for dx in (-r, r):
        pygame.draw.circle(surf, RED, (c[0] + dx, top), r * 1.05)
    edge = (r * 2.04, top)  # each lobe's outermost point: the sides run on from there
    pygame.draw.polygon(surf, RED, [(c[0] - edge[0], edge[1]), (c[0] + edge[0], edge[1]),
                                    (c[0], c[1] + s * 0.4)])  # fmt: skip


def clock(surf: pygame.Surface, c: Point, s: float) -> None:
    pygame.draw.circle(surf, AMBER, c, s * 0.42, int(s * 0.06))
    thick_line(surf, WHITE, c, (c[0], c[1] - s * 0.27), s * 0.06)
    thick_line(surf, WHITE, c, (c[0] + s * 0.2, c[1] + s * 0.05), s * 0.06)
    corner = (c[0] + s * 0.36, c[1] + s * 0.32)  # a call back, on a badge of its own
    pygame.draw.circle(surf, (30, 30, 30), corner, s * 0.2)
    handset(surf, CYAN, (corner[0], corner[1] + s * 0.03), s * 0.3)


def moon(surf: pygame.Surface, c: Point, s: float, background: Colour) -> None:
    pygame.draw.circle(surf, MOON, c, s * 0.36)
    pygame.draw.circle(surf, background, (c[0] + s * 0.16, c[1] - s * 0.1), s * 0.32)
    for dx, dy, r in ((0.3, 0.18, 0.04), (0.38, -0.3, 0.03), (0.1, 0.38, 0.025)):
        pygame.draw.circle(surf, MOON, (c[0] + dx * s, c[1] + dy * s), r * s)


def declined(surf: pygame.Surface, c: Point, s: float) -> None:
    handset(surf, GREY, (c[0], c[1] + s * 0.05), s * 0.9)
    thick_line(
        surf, RED, (c[0] - s * 0.38, c[1] - s * 0.38), (c[0] + s * 0.38, c[1] + s * 0.38), s * 0.09
    )


def with_badge(
    base: Callable[[pygame.Surface, Point, float], None], badge: str
) -> Callable[..., None]:
    """``base`` with a small handset, camera or cross at its lower left."""

    def draw(surf: pygame.Surface, c: Point, s: float) -> None:
        base(surf, c, s)
        corner = (c[0] - s * 0.42, c[1] + s * 0.3)
        pygame.draw.circle(surf, (30, 30, 30), corner, s * 0.22)
        if badge == "handset":
            handset(surf, CYAN, (corner[0], corner[1] + s * 0.03), s * 0.32)
        elif badge == "cross":
            cross(surf, CYAN, corner, s * 0.3)
        else:
            camera(surf, CYAN, corner, s * 0.28)

    return draw


def offline(surf: pygame.Surface, c: Point, s: float) -> None:
    no_network(surf, WHITE, c, s)


def video(surf: pygame.Surface, c: Point, s: float) -> None:
    camera(surf, GREEN, c, s)
