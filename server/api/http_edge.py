"""What the hub takes from, and adds to, every HTTP exchange: whether it came over
HTTPS, the client's address, and the security headers.

Behind a TLS proxy the hub sees plain HTTP from the proxy; it believes the proxy's
``X-Forwarded-Proto`` and ``X-Forwarded-For`` only when the connection comes from an
address in ``YIJIAN_TRUSTED_PROXIES`` (uvicorn's own proxy-header handling is off, so
nobody else can claim to be HTTPS or to come from another address).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from server.forwarded import client_address, is_https

__all__ = ["add_security_headers", "client_address", "is_https"]

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # the charts set style attributes
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))  # fmt: skip
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(conn: HTTPConnection, response: Response, trusted: list[str]) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if is_https(conn, trusted):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if conn.url.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
