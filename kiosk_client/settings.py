"""The kiosk's settings: one pydantic-settings class, from flags, ``YIJIAN_KIOSK_*``
variables and a TOML file, in that order of precedence.

Command-line flags win over the environment, which wins over the config file
(``--config`` or ``YIJIAN_KIOSK_CONFIG``), which wins over the defaults. So an
installer puts the devices in ``/etc/yijian/kiosk.toml`` and the token in the
service's environment file, and keeps it off ``ps``. A key in the file is a
setting's name as written here (``video_device = "/dev/video2"``); an unknown key is
an error, not a silent typo.
"""

from __future__ import annotations

import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_BUTTON = re.compile(r"^(stdin|key(:[\w ,]+)?|gpio:(\d{1,4}|[\w/.-]+:[\w.-]+))$")
_SIZE = r"^\d{2,5}x\d{2,5}$"

# The config file of the settings being built: set by ``load`` around one construction.
_config_file: ContextVar[Path | None] = ContextVar("kiosk_config_file", default=None)


S = TypeVar("S", bound="ScreenSettings")


class ConfigError(Exception):
    """The config file cannot be read or names a setting that does not exist."""


class ScreenSettings(BaseSettings):
    """What the villager sees and hears: all that rendering the screens needs."""

    model_config = SettingsConfigDict(env_prefix="YIJIAN_KIOSK_", extra="ignore")

    language: Literal["cmn", "yue"] = Field(
        default="cmn", description="Spoken prompts: cmn Mandarin, yue Cantonese."
    )
    voice_dir: Path | None = Field(
        default=None, description="A town's own prompt recordings, <state>.wav, over ours."
    )
    screen_size: str = Field(
        default="fullscreen", pattern=r"^(fullscreen|\d{3,5}x\d{3,5})$",
        description="fullscreen, or WIDTHxHEIGHT for a window.",
    )  # fmt: skip
    ended_dwell_s: float = Field(
        default=8.0, ge=0, description="How long an end-of-call screen stays before ready."
    )
    screenshot_dir: Path | None = Field(
        default=None, description="Save the screen as NNN-<state>.png at every change."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))


class KioskSettings(ScreenSettings):
    server: str = Field(default="http://127.0.0.1:8000", description="The hub's base URL.")
    kiosk_id: str = Field(min_length=1, description="This kiosk's id, as added by an admin.")
    token: SecretStr = Field(description="This kiosk's secret token.")
    config: Path | None = Field(default=None, description="A TOML file of these settings.")
    media: Literal["test", "default"] = Field(
        default="default", description="test: generated picture and tone; default: camera, mic."
    )
    button: str = Field(
        default="stdin", description="stdin, key[:NAMES], gpio:PIN or gpio:CHIP:LINE."
    )
    button_active_low: bool = Field(
        default=True, description="GPIO: pressed pulls the line to ground (internal pull-up)."
    )
    long_press_s: float = Field(
        default=2.0, gt=0, description="Held this long, a press is long: 不满意, or cancel."
    )
    stuck_s: float = Field(
        default=60.0, gt=0, description="Held this long, the button is stuck and ignored."
    )
    headless: bool = Field(default=False, description="No villager prompts, no speaker.")
    status_json: bool = Field(default=False, description="JSON status lines on stdout.")
    reconnect_min_s: float = Field(default=0.5, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Longest reconnect delay.")
    ping_interval_s: float = Field(
        default=4.0, gt=0, description="Keepalive ping to the hub this often."
    )
    ping_timeout_s: float = Field(
        default=4.0, gt=0, description="A ping unanswered this long means the link is dead."
    )
    offline_press_keep_s: float = Field(
        default=120.0, ge=0, description="A press while offline is kept this long, then dropped."
    )
    rating_window_s: float = Field(
        default=15.0, ge=0, description="After an answered call, how long a press rates it."
    )
    hangup_grace_s: float = Field(
        default=3.0, ge=0, description="How long stopping waits for the hub to end the call."
    )
    gather_timeout_s: float = Field(
        default=8.0, gt=0, description="Longest wait for ICE gathering before host-only."
    )
    prepare_offer: bool = Field(
        default=True, description="Gather the call's offer while queued; off: after the answer."
    )
    heartbeat_interval_s: float = Field(
        default=30.0, gt=0, description="How often the kiosk tells the hub how it is."
    )
    self_test_at: str = Field(
        default="03:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d)?$",
        description="The nightly self-test's local time, HH:MM; empty: at start only.",
    )  # fmt: skip
    revoked_retry_s: float = Field(
        default=600.0, gt=0, description="A revoked token is tried again this often."
    )
    video_device: str = Field(default="/dev/video0", description="V4L2 camera (media default).")
    audio_device: str = Field(default="default", description="ALSA microphone (media default).")
    speaker_device: str = Field(default="default", description="ALSA output for the operator.")
    video_size: str = Field(
        default="640x480", pattern=_SIZE, description="Largest picture sent, WIDTHxHEIGHT."
    )
    video_fps: int = Field(default=15, ge=1, le=60, description="Most frames a second sent.")
    video_max_kbps: int = Field(
        default=600, ge=100, le=5000, description="Cap of the video encoder's bitrate."
    )

    @field_validator("button")
    @classmethod
    def _check_button(cls, value: str) -> str:
        if not _BUTTON.match(value):
            raise ValueError(
                f"expected stdin, key, key:NAMES, gpio:PIN or gpio:CHIP:LINE, found {value!r}"
            )
        return value

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"expected an http(s):// or ws(s):// URL, found {value!r}")
        return value

    @model_validator(mode="after")
    def _check_backoff(self) -> KioskSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be at least reconnect_min_s")
        if self.stuck_s <= self.long_press_s:
            raise ValueError("stuck_s must be longer than long_press_s")
        return self

    @property
    def websocket_url(self) -> str:
        """``http://hub:8000/base`` becomes ``ws://hub:8000/base/ws/kiosk``."""
        parts = urlsplit(self.server)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/ws/kiosk"
        return urlunsplit((scheme, parts.netloc, path, "", ""))

    @property
    def video_dimensions(self) -> tuple[int, int]:
        width, _, height = self.video_size.partition("x")
        return int(width), int(height)


def load(cls: type[S], given: dict[str, Any], environ: dict[str, str]) -> S:
    """``cls`` from flags (``given``), the environment and the config file they name."""
    named = given.get("config") or environ.get("YIJIAN_KIOSK_CONFIG")
    path = Path(named) if named else None
    if path is not None:
        _check_file(cls, path)
    token = _config_file.set(path)
    try:
        return cls(**given)
    finally:
        _config_file.reset(token)


def _check_file(cls: type[ScreenSettings], path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    known = set(KioskSettings.model_fields) | set(cls.model_fields)
    if unknown := sorted(set(data) - known):
        raise ConfigError(
            f"{path}: unknown setting {', '.join(map(repr, unknown))}; "
            "the keys are the YIJIAN_KIOSK_* names in lower case without the prefix"
        )
