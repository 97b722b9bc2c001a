"""Where an HTTP request or a WebSocket handshake came from, and whether over HTTPS.

Behind a TLS proxy the hub sees plain HTTP from the proxy; it believes the proxy's
``X-Forwarded-Proto`` and ``X-Forwarded-For`` only when the connection comes from an
address in ``YIJIAN_TRUSTED_PROXIES`` (uvicorn's own proxy-header handling is off, so
nobody else can claim to be HTTPS or to come from another address). Used by both
edges: the REST routes (``server.api``) and the sockets (``server.edge``).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection


def _from_trusted_proxy(conn: HTTPConnection, trusted: list[str]) -> bool:
    return conn.client is not None and conn.client.host in trusted


def is_https(conn: HTTPConnection, trusted: list[str]) -> bool:
    if conn.url.scheme in ("https", "wss"):
        return True
    if _from_trusted_proxy(conn, trusted):
        forwarded = conn.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return forwarded == "https"
    return False


def client_address(conn: HTTPConnection, trusted: list[str]) -> str:
    """The client's address: the connection's own, or, from a trusted proxy, the last
    address the proxy added to ``X-Forwarded-For``."""
    own = conn.client.host if conn.client is not None else ""
    if _from_trusted_proxy(conn, trusted):
        hops = [h.strip() for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if hops:
            return hops[-1]
    return own
