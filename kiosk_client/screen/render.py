"""``yijian kiosk --render-states DIR``: every screen state as a PNG, with its prompt.

Each state is painted by the kiosk's own painter, on SDL's dummy video driver
unless a display is chosen, from an example status; ``<state>.png`` and, beside it,
``<state>.wav`` (the prompt the kiosk plays on entering that state) land in DIR.
No hub and no token are needed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiosk_client.prompts import WORDS, lines_for
from kiosk_client.screen.voice import prompt_file
from kiosk_client.status import Status

DEFAULT_SIZE = (1024, 600)
HOURS = "08:00-18:00"  # an example of the town's hours, which the hub's welcome carries

# An example status for each screen state, as the controller would say it.
EXAMPLES: dict[str, Status] = {
    "idle": Status("idle"),
    "calling": Status("idle", view="calling"),
    "queued": Status("queued", "c1", 3, extra={"estimated_wait_s": 240}),
    "connected": Status("connected", "c1"),
    "operator_lost": Status("connected", "c1", extra={"operator_lost": True}),
    "incoming": Status("idle", extra={"incoming_call": "c2"}),
    "ended": Status("ended", "c1", extra={"end_reason": "media_failed", "call_status": "failed"}),
    "rating": Status(
        "ended", "c1", extra={"end_reason": "operator_hangup", "call_status": "completed"}
    ),
    "thanks": Status("idle", extra={"rated": "satisfied", "rated_call_id": "c1"}),
    "cancelled": Status(
        "ended", "c1", extra={"end_reason": "kiosk_hangup", "call_status": "abandoned"}
    ),
    "unanswered": Status(
        "ended", "c1", extra={"end_reason": "no_operators", "call_status": "unanswered"}
    ),
    "out_of_hours": Status(
        "ended", "c1", extra={"end_reason": "closed", "call_status": "unanswered", "hours": HOURS}
    ),
    "declined": Status(
        "ended", "c2", extra={"end_reason": "kiosk_declined", "call_status": "unanswered"}
    ),
    "offline": Status("offline"),
    "offline_calling": Status("offline", view="calling"),
    "offline_in_call": Status("offline", "c1"),
    "offline_expired": Status("offline", view="expired"),
    "revoked": Status("offline", view="revoked", extra={"revoked": True}),
}
assert list(EXAMPLES) == list(WORDS), "every screen state needs an example"


class PromptMissing(Exception):
    """A screen state has no prompt file in the chosen language."""


def render_states(
    out_dir: Path,
    language: str = "cmn",
    town_dir: Path | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> list[str]:
    """Write ``<state>.png`` and ``<state>.wav`` for every state; returns the states."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from kiosk_client.screen.fonts import find_cjk_font
    from kiosk_client.screen.paint import Painter
    from kiosk_client.screen.pictures import operator_picture, to_surface, villager_picture

    font = find_cjk_font()  # before any file is written: FontMissing says what to install
    prompts = {state: prompt_file(state, language, town_dir) for state in EXAMPLES}
    if missing := [state for state, path in prompts.items() if path is None]:
        raise PromptMissing(f"no {language} prompt for {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    pygame.display.init()
    try:
        screen = pygame.display.set_mode(size)
        painter = Painter(size, font)
        operator = to_surface(operator_picture())
        own = to_surface(villager_picture())
        for state, status in EXAMPLES.items():
            shown, title, detail = lines_for(status)
            assert shown == state, f"example {state} shows {shown}"
            video = state in ("connected", "operator_lost")
            painter.paint(screen, state, title, detail, operator if video else None,
                          own if video else None)  # fmt: skip
            pygame.image.save(screen, str(out_dir / f"{state}.png"))
            source = prompts[state]
            assert source is not None
            shutil.copyfile(source, out_dir / f"{state}.wav")
    finally:
        pygame.display.quit()
    return list(EXAMPLES)
