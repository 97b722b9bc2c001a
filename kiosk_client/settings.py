"""The kiosk's settings: one pydantic-settings class, read from ``YIJIAN_KIOSK_*``.

Command-line flags win over the environment, which wins over the defaults, so an
installer can put the token in the service's environment and keep it off ``ps``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_BUTTON = re.compile(r"^(stdin|key|gpio:\d{1,4})$")


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


class KioskSettings(ScreenSettings):
    server: str = Field(default="http://127.0.0.1:8000", description="The hub's base URL.")
    kiosk_id: str = Field(min_length=1, description="This kiosk's id, as added by an admin.")
    token: SecretStr = Field(description="This kiosk's secret token.")
    media: Literal["test", "default"] = Field(
        default="default", description="test: generated picture and tone; default: camera, mic."
    )
    button: str = Field(default="stdin", description="stdin, key or gpio:PIN.")
    headless: bool = Field(default=False, description="No villager prompts, no speaker.")
    status_json: bool = Field(default=False, description="JSON status lines on stdout.")
    reconnect_min_s: float = Field(default=0.5, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(default=10.0, gt=0, description="Longest reconnect delay.")
    rating_window_s: float = Field(
        default=15.0, ge=0, description="After an answered call, how long 满意/不满意 rates it."
    )
    hangup_grace_s: float = Field(
        default=3.0, ge=0, description="How long stopping waits for the hub to end the call."
    )
    video_device: str = Field(default="/dev/video0", description="V4L2 camera (media default).")
    audio_device: str = Field(default="default", description="ALSA microphone (media default).")
    speaker_device: str = Field(default="default", description="ALSA output for the operator.")

    @field_validator("button")
    @classmethod
    def _check_button(cls, value: str) -> str:
        if not _BUTTON.match(value):
            raise ValueError(f"expected stdin, key or gpio:PIN, found {value!r}")
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
        return self

    @property
    def websocket_url(self) -> str:
        """``http://hub:8000/base`` becomes ``ws://hub:8000/base/ws/kiosk``."""
        parts = urlsplit(self.server)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/ws/kiosk"
        return urlunsplit((scheme, parts.netloc, path, "", ""))

    @property
    def gpio_pin(self) -> int | None:
        return int(self.button.split(":", 1)[1]) if self.button.startswith("gpio:") else None
