"""The two WebSocket endpoints: handshake checks, then a loop of parse, validate, dispatch.

A bad message gets an ``error`` reply with a code and the connection stays open; a
client that keeps sending bad messages is disconnected. A message the hub could not
handle gets ``unavailable`` (Redis is down or restarting: send it again) or
``internal`` (a defect, logged), and the connection stays open as well. Nothing a client sends can
reach another client's connection except through the hub's own checks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import WebSocket
from pydantic import TypeAdapter, ValidationError
from starlette.responses import JSONResponse

from server.accounts.accounts import SESSION_COOKIE, session_hash
from server.edge.connections import (
    CLOSE_POLICY_VIOLATION,
    CLOSE_RATE_LIMITED,
    KioskConn,
    OperatorConn,
    TokenBucket,
)
from server.edge.one_socket import OneSocket
from server.errors import Forbidden, Unauthorized, YijianError, error_body, retry_after
from server.forwarded import client_address
from server.settings import HubSettings
from server.store.redis_conn import REDIS_UNAVAILABLE
from yijian import protocol as p

log = logging.getLogger(__name__)


def origin_allowed(websocket: WebSocket, extra: list[str | None]) -> bool:
    """A browser always sends Origin; it must be the hub itself or a configured one."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: kiosks and scripts authenticate by token or cookie
    if origin in extra:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def deny(websocket: WebSocket, exc: YijianError) -> None:
    """Refuse the handshake with an HTTP status the client can read."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        denial = JSONResponse(error_body(exc), exc.status, headers=retry_after(exc))
        await websocket.send_denial_response(denial)
    else:
        await websocket.close(CLOSE_POLICY_VIOLATION, reason=exc.code)


async def kiosk_socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings, accounts, kiosks = state.settings, state.accounts, state.kiosks
    if not origin_allowed(websocket, settings.allowed_origins):
        return await deny(websocket, Forbidden("origin not allowed", code="bad_origin"))
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    kiosk_id = token.partition(".")[0]
    try:
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send the kiosk token as 'Authorization: Bearer TOKEN'",
                               code="bad_token")  # fmt: skip
        kiosk = await accounts.authenticate_kiosk(kiosk_id, token)
        one = OneSocket(kiosks.sockets, state.redis, kiosks.bus)  # one token, one socket
        await one.admit(kiosk, client_address(websocket, settings.trusted_proxies))
    except YijianError as exc:
        return await deny(websocket, exc)
    await websocket.accept()
    conn = KioskConn(websocket, kiosk, settings.max_errors_per_10s)
    await serve(conn, settings, p.kiosk_message, kiosks.joined, kiosks.on_message, kiosks.left)


async def operator_socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings, accounts, consoles = state.settings, state.accounts, state.consoles
    if not origin_allowed(websocket, [*settings.allowed_origins, settings.public_origin]):
        return await deny(websocket, Forbidden("origin not allowed", code="bad_origin"))
    cookie = websocket.cookies.get(SESSION_COOKIE)
    try:
        operator = await accounts.session_operator(cookie)
    except YijianError as exc:
        return await deny(websocket, exc)
    await websocket.accept()
    conn = OperatorConn(websocket, operator, settings.max_errors_per_10s)
    conn.session = session_hash(cookie or "")
    conn.address = client_address(websocket, settings.trusted_proxies)
    await serve(conn, settings, p.operator_message, consoles.joined, consoles.on_message,
                consoles.left)  # fmt: skip


# The hub's two sockets by path (``server.app.Hub`` hands their handshakes straight here).
SOCKETS: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
    "/ws/kiosk": kiosk_socket,
    "/ws/operator": operator_socket,
}


async def serve(
    conn: Any,
    settings: HubSettings,
    adapter: TypeAdapter[Any],
    joined: Callable[[Any], Awaitable[None]],
    on_message: Callable[[Any, Any], Awaitable[None]],
    left: Callable[[Any], Awaitable[None]],
) -> None:
    conn.start()
    max_bytes = settings.max_message_bytes
    rate = TokenBucket(settings.ws_messages_per_s, settings.ws_message_burst)
    close_code = 1000
    try:
        await joined(conn)
        while not conn.closed:
            message = await conn.websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            conn.last_seen = time.monotonic()
            if not rate.take():
                limit = f"more than {settings.ws_messages_per_s:g} messages a second; disconnecting"
                conn.send(p.ErrorMsg(code="rate_limited", message=limit))
                close_code = CLOSE_RATE_LIMITED
                break
            ref = None
            try:
                msg = parse(message, adapter, max_bytes)
                ref = getattr(msg, "ref", None)
                await on_message(conn, msg)
            except YijianError as exc:
                ref = ref or getattr(exc, "ref", None)
                conn.send(p.ErrorMsg(code=exc.code, message=exc.message, ref=ref))
                if exc.status in (400, 403) and conn.count_error():
                    bye = "too many bad messages; disconnecting"
                    conn.send(p.ErrorMsg(code="too_many_errors", message=bye))
                    close_code = CLOSE_POLICY_VIOLATION
                    break
            except REDIS_UNAVAILABLE as exc:
                log.warning("connection %s: Redis unavailable: %s", conn.id, exc)
                again = "the hub cannot reach its store just now; send this again shortly"
                conn.send(p.ErrorMsg(code="unavailable", message=again, ref=ref))
            except Exception:  # a defect: say so and keep the connection
                log.exception("connection %s: handling a message failed", conn.id)
                failed = "the hub failed to handle this message"
                conn.send(p.ErrorMsg(code="internal", message=failed, ref=ref))
    except Exception:
        log.exception("connection %s failed", conn.id)
    finally:
        try:
            await left(conn)
        except Exception:
            log.exception("cleaning up after connection %s failed", conn.id)
        await conn.close(close_code)


class BadMessage(YijianError):
    status = 400

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message, code=code)
        self.ref = ref


def parse(message: dict[str, Any], adapter: TypeAdapter[Any], max_bytes: int) -> Any:
    text = message.get("text")
    if text is None:
        raise BadMessage("bad_json", "messages must be JSON text frames, not binary")
    if len(text.encode()) > max_bytes:
        raise BadMessage(
            "too_large", f"a message may have at most {max_bytes} bytes; got {len(text.encode())}"
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadMessage("bad_json", f"not valid JSON: {exc}") from None
    except RecursionError:  # ~960 levels of nesting in a 2 KB frame
        raise BadMessage("bad_json", "not valid JSON: nested too deep") from None
    if not isinstance(data, dict):
        raise BadMessage("bad_json", f"expected a JSON object; got {type(data).__name__}")
    ref = data.get("ref") if isinstance(data.get("ref"), str) else None
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e["type"] in ("union_tag_invalid", "union_tag_not_found") for e in errors):
            raise BadMessage(
                "unknown_type", f"unknown message type {data.get('type')!r}", ref
            ) from None
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        raise BadMessage(
            "invalid_message", f"invalid {data.get('type')!r} message: {detail}", ref
        ) from None
