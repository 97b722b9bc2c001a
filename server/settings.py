"""The hub's settings: one class, read from arguments and ``YIJIAN_*`` variables.

Every setting is documented once, in the README's configuration table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from yijian.protocol import IceServer


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIJIAN_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    # An external Redis; when unset the hub runs the embedded one under data_dir.
    redis_url: str | None = None
    # The address people open the console at (scheme://host[:port]), e.g.
    # https://yijian.example.gov.cn: its Origin is allowed on the sockets, and an
    # https one makes the session cookie Secure. `yijian serve` needs it.
    public_origin: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+$")
    # STUN/TURN servers handed to kiosks and consoles, as a JSON list of
    # {"urls": ..., "username": ..., "credential": ...}. Empty on a LAN.
    ice_servers: list[IceServer] = Field(default_factory=list)
    # A session ends this long after the login whatever its use (absolute), and this
    # long after its last use (idle: an HTTP request, or an open console).
    session_ttl_s: int = Field(default=12 * 3600, ge=1)
    session_idle_s: int = Field(default=30 * 60, ge=1)
    # The session cookie is Secure whenever the request came over HTTPS (directly, or
    # from a trusted proxy that says so); this forces it on for every response.
    cookie_secure: bool = False
    # Addresses of the reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are
    # believed (comma-separated). Empty: none.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Extra origins (scheme://host:port) allowed to open /ws/operator besides the hub's own.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a queued call keeps its place after its kiosk's connection drops.
    grace_s: float = 20.0
    # Interval of the sweep that ends calls whose grace ran out.
    sweep_interval_s: float = 1.0
    max_message_bytes: int = 64 * 1024
    # A client that sends this many bad messages within ten seconds is disconnected.
    max_errors_per_10s: int = 20
    # Messages a socket may send: a burst, then so many a second; past that it is
    # closed with code 4029.
    ws_message_burst: int = Field(default=60, ge=1)
    ws_messages_per_s: float = Field(default=20.0, gt=0)
    # Failed logins allowed per account and per address within login_window_s before
    # logins are answered 429 until the window ends.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=50, ge=1)
    login_window_s: int = Field(default=300, ge=1)
    # Calls and requests older than this are deleted (the counters are kept); 0 keeps all.
    retention_days: int = Field(default=365, ge=0)
    # How often the retention job looks for what has aged out.
    retention_interval_s: float = Field(default=3600.0, gt=0)
    # How often the fleet's alert job looks for kiosks silent past their town's
    # offline_alert_s (server.tracking.fleet).
    fleet_check_interval_s: float = Field(default=15.0, gt=0)

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value
