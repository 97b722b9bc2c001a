"""The kiosk's WebSocket to the hub: connect, read ``welcome``, relay, and reconnect.

Everything the hub says reaches the kiosk as one of three events, in order:
``Online`` (a fresh ``welcome``), ``Inbound`` (any later message) and ``Offline``
(the socket is gone, or the hub can't be reached). Only the hub's own refusal of
the token (its JSON error body, or its close reason, says ``bad_token``) or a
protocol mismatch stops the loop, as ``HubRejected``: retrying would not help. A
401 or 403 from anything else (a proxy in front of the hub, a captive portal) is
retried with backoff like any other failure. A revoked token (``kiosk_revoked``)
does not stop it either: the kiosk says so (``Offline`` with ``revoked``) and tries
again every ``revoked_retry_s``, so a service manager does not restart it in a loop
and the screen tells the villager why it will not call.

Keepalive pings every ``ping_interval_s``; a ping unanswered for ``ping_timeout_s``
closes the socket, waiting ``CLOSE_TIMEOUT_S`` at most for a goodbye, so a dead link
is noticed within the three's sum: 9 s by default (websockets' own defaults take up
to 40 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from kiosk_client.backoff import Backoff
from kiosk_client.messages import BadMessage, HubMessage, UnknownMessage, dump, parse
from yijian.protocol import MAX_MESSAGE_BYTES, PROTOCOL_VERSION, KioskWelcome

logger = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008  # the hub's close code for a refused handshake
CLOSE_TIMEOUT_S = 1.0  # a dead link never answers the closing handshake
REFUSED_CODES = frozenset({"bad_token"})  # the hub's own word that the token is wrong
REVOKED_CODE = "kiosk_revoked"  # the hub's word that an admin revoked this token


@dataclass(frozen=True)
class Online:
    welcome: KioskWelcome


@dataclass(frozen=True)
class Inbound:
    message: HubMessage


@dataclass(frozen=True)
class Offline:
    reason: str
    revoked: bool = False  # the hub refused this kiosk's token as revoked


ConnectionEvent = Online | Inbound | Offline


class HubRejected(Exception):
    """The hub refused this kiosk (bad token, wrong protocol); retrying will not help."""


class _Revoked(Exception):
    """The hub refused this kiosk's token as revoked."""


__all__ = ["Backoff", "ConnectionEvent", "HubConnection", "HubRejected"]


class HubConnection:
    def __init__(
        self,
        url: str,
        token: str,
        backoff: Backoff,
        deliver: Callable[[ConnectionEvent], None],
        open_timeout_s: float = 10.0,
        ping_interval_s: float = 4.0,
        ping_timeout_s: float = 4.0,
        revoked_retry_s: float = 600.0,
    ) -> None:
        self.url = url
        self._revoked_retry_s = revoked_retry_s
        self._token = token
        self._backoff = backoff
        self._deliver = deliver
        self._open_timeout_s = open_timeout_s
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._ws: ClientConnection | None = None
        self._offline_told = False
        self._closing = False

    async def run(self) -> None:
        """Stay connected until closed; raise HubRejected when the hub refuses us."""
        while not self._closing:
            try:
                await self._session()
                if self._closing:
                    return
                reason = "the hub closed the connection normally"
            except HubRejected:
                raise
            except _Revoked:
                await self._revoked()
                continue
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403) and _error_code(exc) == REVOKED_CODE:
                    await self._revoked()
                    continue
                if status in (401, 403) and _error_code(exc) in REFUSED_CODES:
                    raise HubRejected(
                        f"the hub refused kiosk credentials at {self.url} "
                        f"(HTTP {status}): {_body(exc)}"
                    ) from None
                reason = f"HTTP {status} from {self.url}: {_body(exc)[:80]}"
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if self._closing:
                return
            delay = self._backoff.next()
            first_failure = not self._offline_told
            if first_failure:
                self._offline_told = True
                self._deliver(Offline(reason))
            logger.log(
                logging.WARNING if first_failure else logging.INFO,
                "no connection to the hub (%s); retrying in %.1f s",
                reason,
                delay,
            )
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self._token}"},
            compression=None,  # deflate doubles the hub's memory per idle kiosk
            open_timeout=self._open_timeout_s,
            close_timeout=CLOSE_TIMEOUT_S,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=self._ping_interval_s,
            ping_timeout=self._ping_timeout_s,
        ) as ws:
            welcome = await self._welcome(ws)
            self._ws = ws
            self._backoff.reset()
            self._offline_told = False
            logger.info("connected to %s as kiosk %s", self.url, welcome.kiosk.id)
            self._deliver(Online(welcome))
            try:
                async for text in ws:
                    self._relay(text)
            finally:
                self._ws = None

    async def _welcome(self, ws: ClientConnection) -> KioskWelcome:
        try:
            text = await asyncio.wait_for(ws.recv(), self._open_timeout_s)
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            if (
                rcvd is not None
                and rcvd.code == CLOSE_POLICY_VIOLATION
                and (rcvd.reason in REFUSED_CODES)
            ):
                raise HubRejected(f"the hub refused this kiosk: {rcvd.reason}") from None
            if rcvd is not None and rcvd.reason == REVOKED_CODE:
                raise _Revoked from None
            raise
        try:
            message = parse(text)
        except (UnknownMessage, BadMessage) as exc:
            raise ConnectionError(f"expected a welcome from the hub: {exc}") from None
        if not isinstance(message, KioskWelcome):
            raise ConnectionError(f"expected a welcome from the hub, found {message!r}")
        if message.protocol != PROTOCOL_VERSION:
            raise HubRejected(
                f"the hub speaks protocol {message.protocol}, "
                f"this kiosk speaks {PROTOCOL_VERSION}; upgrade one of them"
            )
        return message

    def _relay(self, text: str | bytes) -> None:
        try:
            message = parse(text)
        except UnknownMessage as exc:
            logger.warning("ignoring a message of unknown type %r from the hub", exc.type)
            return
        except BadMessage as exc:
            logger.warning("ignoring a bad message from the hub: %s", exc)
            return
        self._deliver(Inbound(message))

    async def _revoked(self) -> None:
        logger.error(
            "the hub says this kiosk's token was revoked: ask the town's admin for a new "
            "one (yijian admin kiosk rotate); trying again in %.0f s", self._revoked_retry_s,
        )  # fmt: skip
        self._offline_told = True
        self._deliver(Offline("the kiosk's token was revoked", revoked=True))
        self._backoff.reset()
        await asyncio.sleep(self._revoked_retry_s)

    async def close(self) -> None:
        """Say goodbye with a normal closure (a cancelled socket would say 1011)."""
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close(1000, "kiosk stopping")

    async def send(self, message: BaseModel) -> bool:
        """Send now if connected; False when offline (the caller retries after Online)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(dump(message))
        except ConnectionClosed:
            return False
        return True


def _body(exc: InvalidStatus) -> str:
    body = exc.response.body or b""
    return body.decode("utf-8", "replace").strip()[:200] or "no reason given"


def _error_code(exc: InvalidStatus) -> str | None:
    """The ``code`` of the hub's JSON error body, or None for anyone else's answer."""
    try:
        data = json.loads(exc.response.body or b"")
        code = data["error"]["code"]
    except (ValueError, TypeError, KeyError):
        return None
    return code if isinstance(code, str) else None
