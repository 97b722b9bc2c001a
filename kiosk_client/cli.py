"""``yijian kiosk``: the command line of the kiosk program.

Flags override ``YIJIAN_KIOSK_*`` environment variables, which override the config
file (see ``settings.py``). Exit status: 0 after a clean stop, 2 when the kiosk
cannot start or the hub refuses its credentials (with a one-line reason on standard
error).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kiosk_client.button import ButtonUnavailable, make_button, resolve_spec, stdin_is_null
from kiosk_client.prompts import prompt
from kiosk_client.screen import ScreenUnavailable
from kiosk_client.settings import ConfigError, KioskSettings, ScreenSettings, load
from kiosk_client.status import JsonLines, Status

if TYPE_CHECKING:
    from kiosk_client.screen.window import KioskScreen

logger = logging.getLogger("kiosk_client")

EXIT_OK = 0
EXIT_UNUSABLE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None so that an absent flag leaves the environment's value alone.
    parser.add_argument("--server", help="hub URL, e.g. http://hub:8000 [YIJIAN_KIOSK_SERVER]")
    parser.add_argument("--kiosk-id", help="this kiosk's id [YIJIAN_KIOSK_KIOSK_ID]")
    parser.add_argument("--token", help="this kiosk's secret token [YIJIAN_KIOSK_TOKEN]")
    parser.add_argument(
        "--media", choices=["test", "default"],
        help="test: generated moving picture and tone; default: camera and microphone",
    )  # fmt: skip
    parser.add_argument(
        "--config", metavar="FILE", type=Path,
        help="a TOML file of kiosk settings, e.g. /etc/yijian/kiosk.toml; flags and "
        "YIJIAN_KIOSK_* variables override it [YIJIAN_KIOSK_CONFIG]",
    )  # fmt: skip
    parser.add_argument(
        "--button", metavar="stdin|key|gpio:CHIP:LINE",
        help="stdin: one press per line (end of input stops the kiosk); key: Space or "
        "Enter under the window, or on the terminal (key:NAMES for others); "
        "gpio:CHIP:LINE: a button on a GPIO line, through libgpiod (gpio:PIN is chip 0)",
    )  # fmt: skip
    parser.add_argument(
        "--list-devices", action="store_true",
        help="list cameras, ALSA capture and playback devices and GPIO chips, then exit",
    )  # fmt: skip
    parser.add_argument(
        "--headless", action="store_true", default=None,
        help="no window, no spoken prompts and no speaker output",
    )  # fmt: skip
    parser.add_argument(
        "--status-json", action="store_true", default=None,
        help="print one JSON object per state change on standard output",
    )  # fmt: skip
    parser.add_argument(
        "--language", choices=["cmn", "yue"],
        help="spoken prompts: cmn Mandarin (default), yue Cantonese [YIJIAN_KIOSK_LANGUAGE]",
    )  # fmt: skip
    parser.add_argument(
        "--screen-size", metavar="fullscreen|WxH",
        help="the kiosk's window: fullscreen (default) or e.g. 1024x600",
    )  # fmt: skip
    parser.add_argument(
        "--render-states", metavar="DIR", type=Path,
        help="write every screen state as DIR/<state>.png with its prompt <state>.wav, "
        "then exit (needs no hub)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    _configure_logging()
    if getattr(args, "render_states", None) is not None:
        return _render(args)
    if getattr(args, "list_devices", False):
        from kiosk_client.devices import report

        sys.stdout.write(report())
        return EXIT_OK
    given = {
        name: getattr(args, name, None)
        for name in ("server", "kiosk_id", "token", "media", "button", "headless", "status_json",
                     "language", "screen_size", "config")
    }  # fmt: skip
    try:
        given = {k: v for k, v in given.items() if v is not None}
        settings = load(KioskSettings, given, dict(os.environ))
    except ConfigError as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        return _fail("; ".join(_describe(e) for e in exc.errors()))
    return asyncio.run(_main(settings))


async def _main(settings: KioskSettings) -> int:
    # aiortc and av load here, not at import: `yijian serve` parses these options too.
    from kiosk_client.client import Kiosk
    from kiosk_client.connection import HubRejected
    from kiosk_client.media import MediaUnavailable, media_source

    try:
        spec = resolve_spec(
            settings.button, windowed=not settings.headless, stdin_null=stdin_is_null()
        )
        media = media_source(settings.media, settings.video_device, settings.audio_device,
                             settings.video_size, settings.video_fps)  # fmt: skip
        await asyncio.to_thread(media.probe)
    except (MediaUnavailable, ButtonUnavailable) as exc:
        return _fail(str(exc))
    screen = None if settings.headless else _screen(settings)
    test_media = media  # the self-test's pictures are not the villager's own
    try:
        if screen is not None:
            from kiosk_client.screen.taps import ScreenMedia

            await screen.open()
            media = ScreenMedia(media, screen.own_frame, screen.operator_frame)
        button = make_button(
            spec, long_press_s=settings.long_press_s, stuck_s=settings.stuck_s,
            active_low=settings.button_active_low,
            listen_keys=None if screen is None else screen.listen_keys,
        )  # fmt: skip
        kiosk = Kiosk(settings, media, button, _publisher(settings, screen), test_media)
        await kiosk.run()
    except (HubRejected, ScreenUnavailable, ButtonUnavailable) as exc:
        return _fail(str(exc))
    finally:
        if screen is not None:
            await screen.close()
    return EXIT_OK


def _screen(settings: KioskSettings) -> KioskScreen:
    from kiosk_client.screen.voice import MixerVoice
    from kiosk_client.screen.window import KioskScreen, parse_size

    return KioskScreen(
        MixerVoice(settings.language, settings.voice_dir),
        size=parse_size(settings.screen_size),
        ended_dwell_s=settings.ended_dwell_s,
        rating_dwell_s=settings.rating_window_s,
        shots=settings.screenshot_dir,
    )


def _render(args: argparse.Namespace) -> int:
    """``--render-states DIR``: needs no hub, so no kiosk id or token either."""
    from kiosk_client.screen.render import DEFAULT_SIZE, PromptMissing, render_states
    from kiosk_client.screen.window import parse_size

    given: dict[str, Any] = {
        name: value
        for name in ("language", "screen_size", "config")
        if (value := getattr(args, name, None)) is not None
    }
    try:
        screen = load(ScreenSettings, given, dict(os.environ))
        size = parse_size(screen.screen_size) or DEFAULT_SIZE
        states = render_states(args.render_states, screen.language, screen.voice_dir, size)
    except ValidationError as exc:
        return _fail("; ".join(_describe(e) for e in exc.errors()))
    except (ConfigError, ScreenUnavailable, PromptMissing, OSError) as exc:
        return _fail(str(exc))
    logger.info(
        "wrote %d screen states (%s) to %s", len(states), screen.language, args.render_states
    )
    return EXIT_OK


def _publisher(settings: KioskSettings, screen: KioskScreen | None) -> Callable[[Status], None]:
    sinks: list[Callable[[Status], None]] = []
    if settings.status_json:
        sinks.append(JsonLines(sys.stdout))
    if screen is not None:
        sinks.append(prompt)
        sinks.append(screen.show)

    def publish(status: Status) -> None:
        view = f" ({status.view})" if status.view else ""
        logger.info("state %s%s call=%s %s", status.state, view, status.call_id, status.extra or "")
        for sink in sinks:
            sink(status)

    return publish


def _configure_logging() -> None:
    # Standard output may belong to --status-json: every log line goes to stderr.
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    if root.getEffectiveLevel() > logging.DEBUG:  # their INFO is per-packet chatter
        for noisy in ("aioice", "aiortc", "websockets"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    else:  # websockets' DEBUG prints the handshake's headers, the kiosk's token among them
        logging.getLogger("websockets.client").setLevel(logging.INFO)


def _describe(error: object) -> str:
    assert isinstance(error, dict)
    where = ".".join(str(part) for part in error.get("loc", ())) or "settings"
    hint = {"kiosk_id": " (--kiosk-id)", "token": " (--token)"}.get(where, "")
    return f"{where}{hint}: {error.get('msg')}"


def _fail(reason: str) -> int:
    print(f"yijian kiosk: error: {reason}", file=sys.stderr)
    return EXIT_UNUSABLE
